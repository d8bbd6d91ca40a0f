"""Phase-diagram study (issue 12): random-matrix statistics against exact laws, the Dyson drift,
the η/B collapse on a small grid, and the real ``qshock experiment phase-diagram`` CLI."""

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab import dyson, svtrain


def test_marchenko_pastur_at_initialisation_ks():
    spec = svtrain.NetSpec(d_in=32, width=32, depth=3, d_out=8)
    ws = [svtrain.init_mlp(jax.random.PRNGKey(k), spec, 1.5) for k in range(150)]
    sq = np.concatenate([np.linalg.svd(np.asarray(w[1]), compute_uv=False) for w in ws])  # 32 x 32
    rect = np.concatenate([np.linalg.svd(np.asarray(w[2]), compute_uv=False) for w in ws])  # 8 x 32, q = 1/4
    ks_sq = dyson.ks_mp(sq, 32, 32, 1.5 / 32)
    ks_rect = dyson.ks_mp(rect, 8, 32, 1.5 / 32)
    # finite-size corrections are O(1/n); the sampling level is ~1/sqrt(#values) = 0.014 / 0.029
    assert ks_sq < 0.03 and ks_rect < 0.05, (ks_sq, ks_rect)
    assert dyson.ks_mp(sq, 32, 32, 2.0 / 32) > 3 * ks_sq  # a 33% wrong variance is detected
    x = np.linspace(0, 2 * math.sqrt(1.5), 20001)
    assert abs(np.trapezoid(dyson.mp_singular_pdf(x, 32, 32, 1.5 / 32), x) - 1) < 1e-3


def test_goe_surmise_fit_on_random_matrix_ensemble():
    sp = dyson.goe_spacings(jax.random.PRNGKey(1), 100, 40)
    fit = dyson.fit_surmise_beta(sp)
    assert abs(fit["beta"] - 1.0) < 0.15, fit
    assert fit["ks_goe"] < 0.04, fit
    poisson = np.random.default_rng(0).exponential(size=2000)  # uncorrelated levels
    fp = dyson.fit_surmise_beta(poisson)
    assert fp["beta"] < 0.15 and fp["ks_goe"] > 0.1, fp
    # unfolding with the exact MP CDF at initialisation gives GOE-class (β ≈ 1) spacings too
    w = np.random.default_rng(1).normal(size=(200, 32, 32)) / math.sqrt(32)
    s = np.linalg.svd(w, compute_uv=False)
    assert abs(dyson.fit_surmise_beta(dyson.unfold_mp(s, 32, 32, 1 / 32))["beta"] - 1.0) < 0.25


def test_surmise_family_normalised_unit_mean():
    x = np.linspace(0, 8, 40001)
    for beta in (0.5, 1.0, 2.0, 4.0):
        p = dyson.surmise_pdf(x, beta)
        assert abs(np.trapezoid(p, x) - 1) < 1e-6 and abs(np.trapezoid(x * p, x) - 1) < 1e-6
    assert np.allclose(dyson.surmise_pdf(x, 1.0), np.pi / 2 * x * np.exp(-np.pi * x * x / 4))


def test_dyson_drift_is_the_theory_formula():
    s = jnp.array([2.0, 1.2, 0.5])
    got = dyson.dyson_drift(s, jnp.zeros(3), 0.2, 1.5, 5, 3)
    c = 0.5 * 0.2 * 1.5
    want = [c * (2 / si + sum(1 / (si - sj) + 1 / (si + sj) for sj in s if sj != si)) for si in s]
    assert np.allclose(got, want, rtol=1e-12)


def test_single_value_langevin_stationary_width():
    # M = N = 1: ds = -kappa (s - mu) dt + sqrt(T) varsigma dB -> stationary std sqrt(T varsigma^2 / (2 kappa))
    keys = jax.random.split(jax.random.PRNGKey(0), 400)
    s = np.asarray(dyson.linear_dyson_paths(keys, jnp.array([3.0]), jnp.array([2.0]), jnp.array([3.0]), 0.1, 0.8,
                                            m_rows=1, n_cols=1, t1=10.0, dt=0.005, n_save=10))[:, 2:, 0]
    want = math.sqrt(0.1 * 0.8 / 4.0)
    assert abs(s.std() / want - 1) < 0.06 and abs(s.mean() - 3.0) < 0.02


@pytest.mark.slow
def test_eta_over_b_collapse_small_grid():
    """Same T = η/B with (η, B) and (2η, 2B) at equal SGD time: the time-averaged spectra agree far
    better than spectra at a temperature 4x higher (the scaling variable is η/B)."""
    spec = svtrain.NetSpec(d_in=16, width=16, depth=3, d_out=4, n_train=256, label_noise=0.3)
    temps, seeds = (0.01, 0.04), (0, 1)
    runs = [(t, sd) for t in temps for sd in seeds]
    out = {}
    for b, steps in ((4, 3000), (8, 1500)):
        out[b] = svtrain.train_runs([r[1] for r in runs], 1.0, [r[0] * b for r in runs], b, steps, steps // 30, spec)
    win = slice(-12, None)
    spec_of = lambda o, i: np.concatenate([o["sv"][lay][i][win].mean(0) for lay in range(3)])  # noqa: E731
    pair = [np.linalg.norm(spec_of(out[4], i) - spec_of(out[8], i)) / np.linalg.norm(spec_of(out[4], i))
            for i in range(len(runs))]
    temp = [np.linalg.norm(spec_of(out[4], i) - spec_of(out[4], i + 2)) / np.linalg.norm(spec_of(out[4], i))
            for i in range(2)]
    assert max(pair) < 0.5 * min(temp), (pair, temp)
    assert max(pair) < 0.05, pair


def _tiny_config(path):
    path.write_text("[phase-diagram]\nsigma2s = [0.5, 2.0]\ntemps = [0.005, 0.04]\nbatches = [4, 8]\n"
                    "steps = 400\nn_log = 10\nd_in = 12\nwidth = 12\nd_out = 3\nn_train = 128\n"
                    "langevin_paths = 0\nfp_cells = 12\nfp_paths = 0\n")
    return str(path)


def test_cli_phase_diagram_tiny(tmp_path):
    from qshock.experiments.cli.main import main

    out = str(tmp_path / "pd")
    cfg = _tiny_config(tmp_path / "pd.toml")
    assert main(["experiment", "phase-diagram", "--config", cfg, "--seeds", "2", "--out", out]) == 0
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    assert len(doc["rows"]) == 4  # one row per (sigma2, T)
    for r in doc["rows"]:
        assert r["phase"] in ("learning", "glassy", "noise", "unstable") and 0.5 <= r["confidence"] <= 1.0
        assert sum(r["counts"].values()) == 4  # 2 seeds x 2 (eta, B) pairs
    sm = doc["summary"]
    assert sm["n_runs"] == 16 and sm["fp"]["mass_err"] < 1e-12
    assert sm["collapse"]["n_pairs"] == 8
    # eta/B collapse on the tiny grid (the slow test above checks it on a longer run): the two (eta, B)
    # pairs of one T are much closer than two temperatures a factor 8 apart
    assert sm["collapse"]["pair"] < 0.3 * sm["collapse"]["temp"], sm["collapse"]
    for name in ("phase_diagram", "phase_scaling", "phase_langevin", "phase_trajectories"):
        assert os.path.exists(os.path.join(out, "figures", name + ".png")), name
    # --resume reuses every item
    assert main(["experiment", "phase-diagram", "--config", cfg, "--seeds", "2", "--out", out, "--resume"]) == 0
    with open(os.path.join(out, "results.json")) as f:
        assert json.load(f)["reused"] == 4


def test_bad_config_rejected(tmp_path):
    from qshock.experiments.studies.phase_diagram import Config

    with pytest.raises(QShockInputError, match="batches"):
        Config(batches=(4, 6)).validate()
    with pytest.raises(QShockInputError, match="temps"):
        Config(temps=(0.01,)).validate()
    with pytest.raises(QShockInputError, match="must divide steps"):
        Config(steps=1100).validate()
    Config().validate()
    Config.quick().validate()
