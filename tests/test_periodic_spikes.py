"""``qshock experiment periodic-spikes`` and the extended ``conservation`` study: trainer group logs
(identity to round-off, sphere sharpness), study numbers through the CLI, causality of the
tracked forecasts, conservation laws (discrete to round-off, continuous to O(eta lambda))."""

import json
import os

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.cli.main import main


def _toml(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def _train(opt="sgd", steps=40, wd=0.05, lr=0.1):
    from qshock.experiments.lab import training

    cfg = training.TrainConfig(model="mlp", data="digits", lr=lr, weight_decay=wd, optimizer=opt, momentum=0.9,
                               steps=steps, batch=32, norm=True, width=8, depth=2, seeds=(0, 1), dtype="float64",
                               sharpness_every=steps // 2, quotient_sharpness=False, n_eigs=1, lanczos_iters=40,
                               sharpness_batch=64, log_groups=True)
    return training.train(cfg)


def test_trainer_group_logs_identity_and_sphere_sharpness():
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import training
    from qshock.experiments.lab.sharpness import hvp, top_eigs

    eta, lam = 0.1, 0.05
    r = _train()
    x, G = r.step_metrics["grp_sq"], r.step_metrics["grp_gsq"]
    assert x.shape == (2, 40, 2)  # two seeds, 40 steps, two scale groups (hidden layers)
    # the exact discrete identity, from the trainer's own logs, to round-off
    pred = (1 - eta * lam) ** 2 * x[:, :-1] + eta ** 2 * G[:, :-1]
    assert np.max(np.abs(pred - x[:, 1:]) / x[:, 1:]) < 1e-13
    assert np.max(np.abs(r.step_metrics["grp_dot"]) / np.sqrt(x * G)) < 1e-12  # <g_A, theta_A> = 0
    # the sphere sharpness at unit norm equals |w_A|^2 times the raw group sharpness at theta
    tr = training.get_trainer(r.config)
    assert list(tr.groups["scale"]) == [True, True]
    init = tr.init(jnp.asarray([0], jnp.int32), eta, lam, 0.0)[0][0]
    f = lambda th: tr.loss_acc(th, tr.arrays["Xs"], tr.arrays["Ys"])[0]  # noqa: E731
    ls = np.asarray(tr.group_sharpness(f, init, jax.random.PRNGKey(3)))
    for a in range(2):
        m = tr.groups["Q"][a]
        u = m * init / jnp.linalg.norm(m * init)
        proj = lambda v: m * v - jnp.dot(u, v) * u  # noqa: E731
        raw = top_eigs(lambda v: proj(hvp(f, init, proj(v))), init.shape[0], jax.random.PRNGKey(4), 40, 1)[0][0]
        xa = float(jnp.sum(m * init * init))
        assert abs(ls[a] - xa * float(raw)) <= 1e-6 * abs(ls[a])


def test_trainer_momentum_logs_obey_the_xp_recurrence():
    eta, lam, beta = 0.02, 0.05, 0.9
    r = _train("momentum", lr=eta)
    x, U = r.step_metrics["grp_sq"], r.step_metrics["grp_usq"]
    p = 0.5 * (x[:, 1] - x[:, 0] - U[:, 0])
    for k in range(1, 39):
        p = beta * (p + U[:, k - 1]) - eta * lam * x[:, k]
        assert np.max(np.abs(x[:, k] + 2 * p + U[:, k] - x[:, k + 1]) / x[:, k + 1]) < 1e-12


def _ps_config(tmp_path, steps=504):
    return _toml(tmp_path, "ps.toml", f"models = ['mlp']\noptimizers = ['sgd']\nlrs = [0.2]\nweight_decays = [0.01]\n"
                                      f"seeds = 2\ntune_seeds = 1\nsteps = {steps}\nwidth = 32\n")


def test_periodic_spikes_study_cli(tmp_path, capsys):
    from qshock.experiments.studies import periodic_spikes as P

    out = str(tmp_path / "ps")
    assert main(["experiment", "periodic-spikes", "--config", _ps_config(tmp_path), "--out", out]) == 0
    text = capsys.readouterr().out
    assert "iterate" in text and "constant" in text and "beats constant" in text
    doc = json.load(open(os.path.join(out, "results.json")))
    it = doc["items"][0]
    ev = it["evaluation"]
    assert set(ev["methods"]) == set(P.METHODS)
    # several spike periods on the evaluation seed, and a period set by the weight-norm cycle
    assert ev["spikes_per_seed"] >= 3
    assert 20 <= ev["tuned"]["period"] <= 200
    # the observed ratio eta_eff lambda_s crosses the edge 2 in every cycle, and after a spike it is below
    ratio = np.asarray(it["runs"][1]["ratio"], float)
    assert ratio.max() > 2.0 and np.quantile(ratio, 0.1) < 2.0
    for m, a in ev["methods"].items():
        assert a["predictive"] == (a["med_rel_err"] < ev["methods"]["constant"]["med_rel_err"])
        assert 0.0 <= a["hit_rate"] <= 1.0
    # forecast intervals: the tuned (q_lo, q_hi) of each method hold >= the level's share of its
    # residuals on the tuning run; the held-out rows report that interval's width and coverage
    from qshock.experiments.lab.forecast import interval_coverage

    t0, r0 = ev["tuned"], it["runs"][0]
    sp0 = P._spikes(r0["loss"], t0["z"])
    k0, fcs = P._forecasts(it, r0, sp0, t0, doc["params"]["horizon"])
    nxt = P._next_spike(k0, sp0)
    for m, a in ev["methods"].items():
        lo, hi = t0["intervals"][m]
        n = int(np.sum(np.isfinite(nxt - fcs[m])))
        assert interval_coverage(nxt, fcs[m], (lo, hi)) >= 0.8 - 2.0 / n, m
        assert a["width"] == pytest.approx(hi - lo) and 0.0 <= a["coverage"] <= 1.0
    assert os.path.exists(os.path.join(out, "figures", "periodic_spikes_run.png"))
    assert os.path.exists(os.path.join(out, "figures", "periodic_spikes_scatter.png"))
    # causality of the tracked spike forecasts: a run cut at k0 gives the same forecasts up to k0
    r, t = it["runs"][1], ev["tuned"]
    spikes = P._spikes(r["loss"], t["z"])
    full = P._tracked(r, "iterate", spikes, it["edge"], t["lags"]["iterate"])
    n = len(r["k0"]) // 2
    cut = {k: r[k][:n] for k in ("k0", "iterate", "ratio", "raw_ratio")}
    cut_spikes = P._spikes(r["loss"][:r["k0"][n - 1] + 1], t["z"])
    assert np.array_equal(full[:n], P._tracked(cut, "iterate", cut_spikes, it["edge"], t["lags"]["iterate"]),
                          equal_nan=True)


def test_periodic_spikes_bad_config(tmp_path, capsys):
    bad = _toml(tmp_path, "b.toml", "models = ['meanfield']\n")
    assert main(["experiment", "periodic-spikes", "--config", bad, "--out", str(tmp_path / "b")]) != 0
    assert "scale-invariant" in capsys.readouterr().err
    bad = _toml(tmp_path, "c.toml", "lrs = [0.1, 0.2]\nweight_decays = [0.01]\n")
    assert main(["experiment", "periodic-spikes", "--config", bad, "--out", str(tmp_path / "c")]) != 0
    assert "pairs" in capsys.readouterr().err
    with pytest.raises(QShockInputError, match="tune_seeds"):
        from qshock.experiments.studies import periodic_spikes as P
        P.Config(seeds=2, tune_seeds=2).validate()


def test_conservation_extended_laws(tmp_path):
    from qshock.experiments import studies

    cfg = _toml(tmp_path, "c.toml", "nets = ['rescale']\nlrs = [0.1]\nweight_decays = [0.0, 0.05]\n"
                                    "momenta = [0.0, 0.9]\nsteps = 120\nwidth = 8\nbatch = 32\n")
    doc = studies.run_study("conservation", cfg, seeds=1, out=str(tmp_path / "c"), quiet=True, formats=("png",))
    items = doc["items"]
    assert len(items) == 4 and len(doc["rows"]) == 8
    for it in items:
        # the discrete laws (SGD identity, heavy-ball (x, p) recurrence, translation) hold to round-off
        assert it["discrete_max_rel"] < 1e-12 and it["translation_discrete_max_rel"] < 1e-12, it["key"]
        assert it["max_abs_cos_g_theta"] < 1e-11  # <g_in, w_in> = <g_out, w_out>
        eta_lam, b = it["eta_lambda"], it["momentum"]
        # continuous laws: modified flow / damped oscillator within O(eta lambda / (1 - beta)^2) (+ start-up)
        tol = 5 * eta_lam / (1 - b) ** 2 + (5e-3 if b > 0 else 1e-3)
        assert it["continuous_max_rel"] < tol, (it["key"], it["continuous_max_rel"], tol)
        assert it["translation_continuous_max_rel"] < tol, it["key"]
    # with lambda = 0 and SGD the rescale quantity changes only by eta^2 sum (|g_in|^2 - |g_out|^2)
    sgd0 = [it for it in items if it["weight_decay"] == 0 and it["momentum"] == 0][0]
    assert sgd0["translation_continuous_max_rel"] < 1e-12  # 1^T b exactly conserved
    assert os.path.exists(tmp_path / "c" / "figures" / "conservation_laws.png")


@pytest.mark.slow
def test_periodic_spikes_quick_cli(tmp_path):
    out = str(tmp_path / "q")
    assert main(["experiment", "periodic-spikes", "--quick", "--out", out, "--json"]) == 0
    doc = json.load(open(os.path.join(out, "results.json")))
    ev = doc["items"][0]["evaluation"]
    assert ev["spikes_per_seed"] >= 3  # >= 2 periods in the quick run
    assert ev["methods"]["iterate"]["n"] > 50


def test_transformer_mlp_norm_group_is_scale_invariant_and_obeys_the_identity():
    """Transformer(mlp_norm=True): f(c W1, c b1) = f(W1, b1) exactly, <g, w> = 0, the trainer declares
    the group (mask of (W1, b1)), and SGD with weight decay on it obeys the identity to round-off."""
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import training

    eta, lam = 0.1, 0.05
    cfg = training.TrainConfig(model="transformer", data="sequence", lr=eta, weight_decay=lam, steps=1, norm=True,
                               width=8, depth=2, seeds=(0,), dtype="float64", log_groups=True)
    tr = training.Trainer(cfg.validate())  # no training: only the loss is compiled
    assert tr.groups["names"][-1] == "scale:mlp0" and tr.groups["scale"][-1]
    m = tr.groups["Q"][-1]
    blk = tr.model_of(jnp.arange(tr.n_params, dtype=jnp.float64)).blocks[0]
    assert int(m.sum()) == blk.W1.size + blk.b1.size
    th = tr.init(jnp.asarray([0], jnp.int32), eta, lam, 0.0)[0][0]
    X, Y = tr.arrays["Xs"][:64], tr.arrays["Ys"][:64]
    f = jax.jit(lambda t: tr.loss_acc(t, X, Y)[0])
    grad = jax.jit(jax.grad(f))
    assert abs(float(f(th + 2.5 * m * th)) - float(f(th))) < 1e-13 * abs(float(f(th)))
    for _ in range(5):
        g = grad(th)
        x, gg = float(jnp.sum(m * th * th)), float(jnp.sum(m * g * g))
        assert abs(float(jnp.sum(m * th * g))) < 1e-12 * np.sqrt(x * gg)
        th = th - eta * (g + lam * th)
        x1 = float(jnp.sum(m * th * th))
        assert abs((1 - eta * lam) ** 2 * x + eta ** 2 * gg - x1) < 1e-13 * x1
