"""Event detectors on synthetic series with known event steps (``qshock.experiments.lab.events``)."""

import numpy as np
import pytest

from qshock.experiments.lab.events import (first_event, loss_spikes, oscillation_onset, plateau_drops,
                                           quotient_jumps)


def _plateau_then_drop(n=300, k_drop=150, width=4.0, noise=1e-3, seed=0):
    """L_t = 1 on a plateau, falling as a logistic of width ``width`` centred at k_drop to 0.1."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 0.1 + 0.9 / (1 + np.exp((t - k_drop) / width)) + noise * rng.standard_normal(n)


@pytest.mark.parametrize("k_drop", [60, 150, 240])
def test_plateau_drop_found_at_known_step(k_drop):
    loss = _plateau_then_drop(k_drop=k_drop)
    ev = plateau_drops(loss, window=20, plateau_tol=0.05, drop_frac=0.3, smooth=5)
    assert len(ev) == 1
    e = ev[0]
    # the 5-step running mean falls 30 % below 1 where the logistic reaches 0.7 (k_drop + w ln(2/7)... ):
    # 0.1 + 0.9/(1+e^x) = 0.7 -> x = ln(0.5) -> t = k_drop - 2.77; the running mean lags by 2 steps
    assert abs(e["step"] - (k_drop - 2.77 + 2)) <= 2
    assert 0.3 <= e["size"] <= 0.5
    assert e["plateau_level"] == pytest.approx(1.0, abs=0.01)


def test_plateau_drop_none_on_steady_decay_and_flat():
    t = np.arange(300)
    assert plateau_drops(np.exp(-t / 50.0), window=20, plateau_tol=0.05, drop_frac=0.3) == []  # no plateau
    assert plateau_drops(np.ones(300), window=20) == []  # plateau, no drop


def test_plateau_drop_causal_and_threshold_monotone():
    loss = _plateau_then_drop(k_drop=150)
    full = plateau_drops(loss)
    assert plateau_drops(loss[:full[0]["step"] + 1]) == full  # decided with data up to the step itself
    assert plateau_drops(loss[:full[0]["step"]]) == []
    steps = [plateau_drops(loss, drop_frac=f)[0]["step"] for f in (0.2, 0.4, 0.6)]
    assert steps == sorted(steps)  # a larger required fall is met later


def test_quotient_jump_known_step_and_size():
    rng = np.random.default_rng(1)
    v = 5.0 + 0.01 * rng.standard_normal((40, 3))
    v[25:] += np.array([3.0, 0.0, 4.0])  # a jump of norm 5 between observations 24 and 25
    steps = 10 * np.arange(40)
    ev = quotient_jumps(v, steps, z_thresh=6.0, rel_min=0.1)
    assert [e["step"] for e in ev] == [250]
    assert ev[0]["size"] == pytest.approx(5.0, abs=0.05)
    assert quotient_jumps(v[:25], steps[:25]) == []  # causal: nothing before it


def test_loss_spike_and_oscillation_known_steps():
    rng = np.random.default_rng(2)
    loss = 1.0 + 0.01 * rng.standard_normal(200)
    loss[120] = 3.0
    assert [e["step"] for e in loss_spikes(loss, z_thresh=6.0)] == [120]
    proj = np.abs(rng.standard_normal(200)) * rng.choice([-1, 1], 200)
    proj[90:] = np.abs(proj[90:]) * (-1.0) ** np.arange(110)
    onset = oscillation_onset(proj, min_run=16)
    assert onset is not None and 80 <= onset["step"] <= 90  # a random sign run may start a few steps early
    assert first_event([{"step": 5}, {"step": 2}]) == {"step": 2} and first_event([]) is None
