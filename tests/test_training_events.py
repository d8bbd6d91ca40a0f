"""Event detectors on series with known events."""

import numpy as np

from qshock.experiments.lab.events import detect_events, loss_spikes, observable_jumps, oscillation_onset


def test_loss_spike_found_at_its_step():
    rng = np.random.default_rng(0)
    loss = 1.0 + 0.01 * rng.standard_normal(400)
    loss[237:240] += [0.5, 0.8, 0.3]
    ev = loss_spikes(loss)
    assert len(ev) == 1
    assert ev[0]["step"] == 237
    assert ev[0]["ratio"] > 1.7 and ev[0]["size"] > 40


def test_no_spike_in_smooth_decay():
    loss = np.exp(-np.arange(500) / 100.0)
    assert loss_spikes(loss) == []


def test_oscillation_onset_step():
    rng = np.random.default_rng(1)
    proj = rng.standard_normal(200) * 1e-3
    proj[:120] = np.abs(proj[:120])  # monotone drift: no alternation
    proj[120:] = 0.1 * (-1.0) ** np.arange(80) * (1 + 0.1 * rng.random(80))
    ev = oscillation_onset(proj)
    assert ev["step"] == 120
    assert abs(ev["size"] - 0.105) < 0.01


def test_observable_jump():
    steps = np.arange(0, 1000, 10)
    v = np.cumsum(np.full(100, 0.01))[:, None] * np.ones((1, 3))
    v[60:] += 5.0
    ev = observable_jumps(v, steps, "q_x")
    assert [e["step"] for e in ev] == [600]
    assert abs(ev[0]["size"] - 5.01 * np.sqrt(3)) < 1e-9  # jump plus one trend increment


def test_detect_events_tags_seed():
    loss = np.ones((2, 300))
    loss[1, 200] = 10.0
    loss += 1e-3 * np.random.default_rng(2).standard_normal((2, 300))
    ev = detect_events({"loss": loss}, {}, np.arange(1), [3, 7])
    assert [(e["seed"], e["step"], e["kind"]) for e in ev] == [(7, 200, "loss_spike")]


def test_early_spike_inside_the_first_window_is_found():
    from qshock.experiments.lab.events import loss_spikes

    loss = 2.0 * np.exp(-0.05 * np.arange(200))
    loss[8] *= 40.0  # a catapult-like spike before a 50-step window could fill
    spikes = loss_spikes(loss)
    assert [s["step"] for s in spikes] == [8]
    assert spikes[0]["ratio"] > 30
