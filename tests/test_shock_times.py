"""The shock-times study (issue 9): causality, gauge maps, statistics, the CLI and --resume."""

import json
import os

import numpy as np
import pytest

from qshock.experiments.cli.main import main

TINY = """
archs = ["tanh-teacher"]
seeds = 2
tune_seeds = 1
steps = 20
every = 10
warmup = 20
batches = [32]
n_lrs = 1
chart_n = 17
n_out = 21
ensemble = 0
"""


def test_predictions_are_causal_extending_the_run_keeps_them_bit_identical():
    """Predictions made at checkpoints <= k use only data <= k: train 20 and 40 steps of the same
    run; the checkpoints, every per-checkpoint reading and every prediction made by step 20 agree
    bit for bit."""
    from qshock.experiments.studies.shock_times.predict import ReadingEngine, combo_predictions
    from qshock.experiments.studies.shock_times.runs import group_trainer, train_group

    tr = group_trainer("tanh-teacher", 32, 10, lanczos_iters=8)
    combos = [(1.0, 1.0, 0)]
    # with a linear warm-up over 30 steps (a function of the step, not of the run length)
    short = train_group(tr, combos, 20, 10, 0.1, 8, warmup=30)
    long = train_group(tr, combos, 40, 10, 0.1, 8, warmup=30)
    np.testing.assert_array_equal(short["thetas"], long["thetas"][:3])
    np.testing.assert_array_equal(short["loss"], long["loss"][:, :20])
    eng = ReadingEngine(tr, 32, n_chart=17, n_out=21, lanczos_iters=8)
    a = combo_predictions(eng, short["thetas"][:, 0], short["ck_steps"], 1.0, 0, short["sharpness"][0], warmup=30)
    b = combo_predictions(eng, long["thetas"][:, 0], long["ck_steps"], 1.0, 0, long["sharpness"][0], warmup=30)
    assert [r["lr"] for r in b["track"]] == [1 / 3, 2 / 3, 1.0, 1.0, 1.0]
    assert a["track"] == b["track"][:3]
    assert a["reading_i"] == b["reading_i"]
    for name, k in a["predicted"].items():
        if name.startswith("ii_") and k is not None:  # a crossing seen by step 20 stays where it was
            assert b["predicted"][name] == k
    assert all(np.isfinite(r["eta_eff"]) and r["eta_eff"] > 0 for r in b["track"])


def test_gauge_maps_keep_the_function():
    """W0, b0 -> alpha (W0, b0), W1 -> W1/alpha (ReLU) and W_Q -> alpha W_Q, W_K -> W_K/alpha leave
    the loss unchanged while the parameters move."""
    from qshock.experiments.studies.shock_times.runs import gauge, group_trainer

    for arch in ("mlp-digits", "transformer-modadd"):
        tr = group_trainer(arch, 32, 10, lanczos_iters=4)
        import jax.numpy as jnp

        th = tr.init(jnp.asarray([0], jnp.int32), 0.1, 0.0, 0.0)[0][0]
        X, Y = tr.arrays["Xs"], tr.arrays["Ys"]
        l0 = float(tr.loss_acc(th, X, Y)[0])
        for alpha in (0.25, 4.0):
            g = gauge(tr, th, alpha)
            assert float(jnp.linalg.norm(g - th)) > 0.1 * float(jnp.linalg.norm(th)) / 10
            assert abs(float(tr.loss_acc(g, X, Y)[0]) - l0) < 1e-5 * max(1.0, abs(l0))


def test_warmup_schedule_and_pde_time_to_steps():
    """η_k ramps by chunks and is then constant; the step count of a PDE time is t*/(2η) at a
    constant η and solves 2Σ_j η_j = t* under the warm-up (THEORY §7 with t = 2Σ η_j)."""
    from qshock.experiments.studies.shock_times.predict import _steps_until
    from qshock.experiments.studies.shock_times.runs import lr_at

    np.testing.assert_allclose(lr_at(0.6, np.arange(0, 50, 10), 10, 30), [0.2, 0.4, 0.6, 0.6, 0.6])
    assert lr_at(0.6, 7, 10, 0) == 0.6
    assert _steps_until(3.0, lambda j: 2 * 0.5, 0, 0) == pytest.approx(3.0)
    lr_of = lambda j: lr_at(1.0, j, 10, 30)  # noqa: E731
    n = _steps_until(10.0, lambda j: 2 * lr_of(j), 0, 30)
    # 10 steps at 1/3 and 10 at 2/3 give PDE time 20; t* = 10 is reached inside the second chunk
    assert n == pytest.approx(10 + (10.0 - 20 / 3) / (4 / 3))
    assert _steps_until(50.0, lambda j: 2 * lr_of(j), 0, 30) == pytest.approx(30 + (50 - 40) / 2)


def test_statistics_numbers():
    """Exact predictions: rho = 1, error 0, hit rate 1 and predictive; the constant is not."""
    from qshock.experiments.studies.shock_times.evaluate import predictor_stats

    obs = [10, 40, 70, None, 100]
    s = predictor_stats([10, 40, 70, None, 100], obs, w=5, every=10)
    assert s["spearman"] == pytest.approx(1.0) and s["median_rel_error"] == 0.0 and s["hit_rate"] == 1.0
    assert (s["n"], s["false"], s["missed"]) == (4, 0, 0)
    c = predictor_stats([55] * 5, obs, w=5, every=10)
    assert c["spearman"] is None and c["hit_rate"] == 0.0 and c["false"] == 1
    assert c["median_rel_error"] == pytest.approx(np.median([45 / 10, 15 / 40, 15 / 70, 45 / 100]))
    m = predictor_stats([20, None, 60, 5, 90], obs, w=10, every=10)
    assert (m["n"], m["false"], m["missed"], m["hit_rate"]) == (3, 1, 1, 0.75)


def _check_summary(doc, archs):
    assert set(doc["per_architecture"]) == set(archs)
    assert "ii_onset_quotient" in doc["predictors"] and "constant_oscillation" in doc["predictors"]
    for arch in archs:
        for p in doc["predictors"]:
            s = doc["per_architecture"][arch][p]
            assert {"spearman", "median_rel_error", "hit_rate", "n"} <= set(s)
            assert s["n"] >= 0 and (s["hit_rate"] is None or 0 <= s["hit_rate"] <= 1)


def test_cli_tiny_json_split_and_resume(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "st"
    assert main(["experiment", "shock-times", "--config", str(cfg), "--out", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    _check_summary(doc, ["tanh-teacher"])
    split = json.load(open(out / "split.json"))
    assert split["tuning_seeds"] == [0] and split["held_out_seeds"] == [1]
    assert (out / "headline.md").read_text().startswith("On held-out seeds")
    res = json.load(open(out / "results.json"))
    assert len(res["rows"]) == 2 and res["computed"] == 1  # one (architecture, B) group item
    assert os.path.exists(out / "figures" / "shock_times_scatter.png")
    timing = (out / "timing.md").read_text().splitlines()
    assert len(timing) == 3 and timing[2].startswith("| tanh-teacher | 32 | 2 | ")
    assert main(["experiment", "shock-times", "--config", str(cfg), "--out", str(out), "--json", "--resume"]) == 0
    assert json.loads(capsys.readouterr().out) == doc
    res = json.load(open(out / "results.json"))
    assert (res["computed"], res["reused"]) == (0, 1)


@pytest.mark.slow
def test_cli_quick_has_five_architectures(tmp_path, capsys):
    out = tmp_path / "quick"
    assert main(["experiment", "shock-times", "--quick", "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["per_architecture"]) >= 5
    _check_summary(doc, list(doc["per_architecture"]))


def test_gauge_table_medians_and_reports():
    """The gauge table: medians over seeds per (arch, η, α) of observed and predicted steps, the
    factor η_eff/η at step 0, and the same numbers in statistics.md and the headline."""
    from qshock.experiments.studies.shock_times import Config, _gauge, gauge_markdown, headline

    p = Config(archs=("mlp-digits",), gauge_arch=("mlp-digits",), batches=(32,))
    runs = []
    for alpha in (0.25, 1.0, 4.0):
        for seed, (obs, q) in enumerate([(40, 30), (60, None), (80, 50)]):
            runs.append(dict(arch="mlp-digits", batch=32, lr=0.5, alpha=alpha, seed=seed,
                             observed={"oscillation": None, "spike": obs + int(alpha)},
                             predicted={"ii_onset_quotient": q, "ii_onset_quotient_noc": 10, "ii_onset_raw": None,
                                        "ii_spike_quotient": q, "ii_spike_quotient_noc": 20,
                                        "ii_spike_raw": int(10 * alpha), "sharpness_2/eta": None},
                             track=[{"lam_raw": 2.0 / alpha ** 2, "lam_q": 3.0, "eta_eff": 0.5 * alpha}]))
    g = _gauge(p, runs)
    assert [r["alpha"] for r in g] == [0.25, 1.0, 4.0] and all(r["n"] == 3 for r in g)
    assert g[2]["observed_spike"] == 64 and g[0]["ii_spike_quotient"] == 40 and g[1]["ii_spike_raw"] == 10
    assert g[0]["eta_eff_over_eta_0"] == pytest.approx(0.25) and g[0]["lambda_raw_0"] == pytest.approx(32.0)
    assert g[0]["sharpness_2/eta"] is None and g[1]["ii_onset_quotient_noc"] == 10
    md = gauge_markdown({"gauge": g})
    assert md.count("\n") == 5 and "| mlp-digits | 0.5 | 4 | 0.125 | 3 | 4 | – | – | 40 | 10 | 64 |" in md
    summ = {"per_architecture": {}, "events": {}, "split": {"held_out_seeds": [1], "tuning_seeds": [0]},
            "n_runs": 9, "hit_window": 20, "gauge": g}
    assert "observed spike 60/61/64" in headline(summ) and "quotient without c 20/20/20" in headline(summ)


def test_network_ensemble_follows_the_exact_linear_map_on_a_quadratic():
    """On L(θ) = ½ mean((Xθ − y)²) with XᵀX/N = diag(a, b, c), θ₀ = θ* + x₀e₀ and full
    batches, network SGD stays on the chart line and x_k = (1 − ηa)^k x₀ exactly, as does the
    chart-SGD ensemble without noise; η = 2.4/a (past 2τ*, τ* = 1/a) grows, η = 0.6/a contracts."""
    import jax
    import jax.numpy as jnp

    from qshock.experiments.studies.shock_times.ensemble import _trajectories, network_ensemble

    rng = np.random.default_rng(0)
    N, diag = 64, np.array([3.0, 1.0, 0.5])
    Q, _ = np.linalg.qr(rng.standard_normal((N, 3)))
    X = jnp.asarray(np.sqrt(N) * Q * np.sqrt(diag))
    theta_star = jnp.asarray([0.3, -0.2, 0.1])
    Y = X @ theta_star
    loss = lambda th, b: 0.5 * jnp.mean((b["x"] @ th - b["y"]) ** 2)  # noqa: E731
    x0 = np.linspace(-0.1, 0.1, 9)
    d = jnp.asarray([1.0, 0.0, 0.0])
    grid = np.linspace(-1.0, 1.0, 41)
    for ratio in (0.6, 2.4):
        eta = ratio / diag[0]
        xn = network_ensemble(loss, lambda t: t, X, Y, N, theta_star, d, eta, x0, 6, jax.random.PRNGKey(0))
        exact = x0[None, :] * (1.0 - eta * diag[0]) ** np.arange(7)[:, None]
        np.testing.assert_allclose(xn, exact, rtol=0, atol=1e-12)
        xc = _trajectories(grid, -diag[0] * grid, eta, 0.0, x0, 6, rng)
        np.testing.assert_allclose(xc, exact, rtol=0, atol=1e-12)
    assert abs(xn[-1]).max() > abs(x0).max()  # 2.4/a: |1 − ηa| = 1.4 > 1


def test_predictive_compares_with_the_constant_on_the_same_runs_and_counts_misses():
    """A predictor exact on one easy run but silent on the others does not beat the constant:
    its hit rate (1 of 4 observed) is below the constant's; an exact predictor on every run does."""
    from qshock.experiments.studies.shock_times.evaluate import statistics

    obs = [40, 50, 60, 200]
    rows = [{"observed": {"oscillation": o, "spike": None, "drop": None, "jump": None},
             "predicted": {"ii_onset_quotient": o if i == 1 else None, "ii_onset_raw": o}} for i, o in enumerate(obs)]
    stats, const = statistics(rows, rows, 5, 10)
    assert const["oscillation"] == 55
    q, raw = stats["ii_onset_quotient"], stats["ii_onset_raw"]
    assert q["median_rel_error"] == 0.0 and q["constant_same_runs"] == pytest.approx(5 / 50)
    assert q["hit_rate"] == 0.25 and stats["constant_oscillation"]["hit_rate"] == 0.5
    assert q["predictive"] is False and raw["predictive"] is True
    # paired sign test against the constant: exact on 4 runs where the constant is off -> p = 1/16
    assert (raw["wins"], raw["losses"]) == (4, 0) and raw["sign_p"] == pytest.approx(0.0625)
    assert (q["wins"], q["losses"]) == (1, 0) and q["sign_p"] == pytest.approx(0.5)


def test_cli_refuses_one_seed_before_any_work(tmp_path, capsys):
    """One seed cannot be split into tuning and held-out seeds: exit 2, one line, no run directory."""
    out = tmp_path / "st"
    assert main(["experiment", "shock-times", "--quick", "--seeds", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seeds >= 2" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("line, names", [("chart_n = 2", "chart_n"), ("n_out = 1", "n_out"),
                                         ("lanczos_iters = 0", "lanczos_iters"), ("screen = nan", "screen"),
                                         ("ensemble_steps = 0", "ensemble_steps"), ("batches = [100000]", "512")])
def test_cli_bad_config_values_are_refused_before_any_work(tmp_path, capsys, line, names):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('archs = ["tanh-teacher"]\nseeds = 2\nsteps = 20\nevery = 10\nensemble = 0\n' + line + "\n")
    out = tmp_path / "st"
    assert main(["experiment", "shock-times", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and names in err[0] and not out.exists()


def test_calibrated_reading_i_uses_the_tuning_runs_only():
    """c = median of observed/predicted over the tuning runs; held-out predictions are round(c·k̂),
    whatever the held-out observations are."""
    from qshock.experiments.studies.shock_times.evaluate import calibrate

    def row(pred, obs):
        return {"observed": {"oscillation": None, "spike": None, "drop": obs, "jump": None},
                "predicted": {"i_drop_quotient": pred, "i_drop_raw": None, "i_jump_quotient": pred, "i_jump_raw": 0}}

    tune = [row(10, 30), row(20, 80), row(5, 10)]  # ratios 3, 4, 2 -> c = 3
    held = [row(7, 1000), row(None, 50)]
    c = calibrate(tune, tune + held)
    assert c["i_drop_quotient_cal"] == 3.0 and c["i_drop_raw_cal"] is None and c["i_jump_quotient_cal"] is None
    assert [r["predicted"]["i_drop_quotient_cal"] for r in held] == [21, None]
    assert held[0]["predicted"]["i_drop_raw_cal"] is None


@pytest.mark.slow
def test_ray_executor_gives_the_local_summary(tmp_path, capsys):
    """Two (architecture, B) items as Ray tasks: the same --json summary as a local run."""
    pytest.importorskip("ray")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.replace('archs = ["tanh-teacher"]', 'archs = ["tanh-teacher", "mlp-mnist1d"]'))
    docs = []
    for extra in ([], ["--executor", "ray"]):
        assert main(["experiment", "shock-times", "--config", str(cfg), "--out", str(tmp_path / f"st{len(extra)}"),
                     "--json", *extra]) == 0
        docs.append(json.loads(capsys.readouterr().out))
    assert docs[0] == docs[1]
