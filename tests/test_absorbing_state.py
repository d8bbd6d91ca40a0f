"""The absorbing-state study: φ_c bracketing, the step → 0 extrapolation and power fits on exact data,
and the CLI end to end on a tiny configuration (dilute absorbed, dense active, resume)."""

import json
import os

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.cli.main import main
from qshock.experiments.studies import absorbing_state as A
from qshock.experiments.studies import driver


def test_phi_c_bracket_exact():
    phis = [0.5, 0.55, 0.6, 0.65]
    act = [[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 0, 1]]
    m, e, per = A.phi_c_estimate(phis, act)
    assert per == pytest.approx([0.575, 0.525, 0.625])
    assert m == pytest.approx(0.575)
    # seed scatter std/sqrt(S) (ddof 1: 0.05/sqrt(3)) and grid resolution 0.05/sqrt(12)
    assert e == pytest.approx(np.hypot(0.05 / np.sqrt(3), 0.05 / np.sqrt(12)))
    assert A.phi_c_estimate(phis, [[1, 1, 1, 1]])[0] is None  # no absorbed phi: no bracket
    assert A.phi_c_estimate(phis, [[0, 0, 0, 0]])[0] is None


def test_extrapolation_and_power_fit_exact():
    k = np.array([0.1, 0.05, 0.02, 0.01])
    ext = A.extrapolate_phi_c(k, 0.64 - 0.9 * k, np.full(4, 0.005))
    assert ext["phi0"] == pytest.approx(0.64, abs=1e-12) and ext["slope"] == pytest.approx(-0.9)
    assert ext["chi2_dof"] == pytest.approx(0, abs=1e-20)
    # standard error of the intercept of a weighted straight line (no chi2 rescaling below 1)
    A_ = np.stack([np.ones(4), k], 1) / 0.005
    assert ext["phi0_err"] == pytest.approx(np.sqrt(np.linalg.inv(A_.T @ A_)[0, 0]))
    x = np.array([0.01, 0.02, 0.05, 0.1])
    b, se, n = A.power_fit(x, 3 * x ** 0.84)
    assert b == pytest.approx(0.84, abs=1e-12) and se < 1e-10 and n == 4


def test_config_validation():
    with pytest.raises(QShockInputError, match="kicks"):
        A.Config(kicks=(0.0,)).validate()
    with pytest.raises(QShockInputError, match="phis"):
        A.Config(phis=(0.6, 0.5, 0.7)).validate()
    with pytest.raises(QShockInputError, match="n must"):
        A.Config(n=50).validate()
    A.Config().validate()
    A.Config.quick().validate()
    full = A.Config()
    assert len(full.kicks) >= 4 and min(full.kicks) <= 0.01 and full.seeds >= 3
    assert full.steps_for(0.01) == 10000 and full.steps_for(0.03) % full.records == 0


def _tiny(tmp_path, dynamics):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"n = 120\nkicks = [0.2]\nphis = [0.3, 0.5, 0.7]\nsteps_scale = 20.0\nrecords = 5\n"
                   f"dynamics = {dynamics!r}\nstages = [\"grid\"]\n".replace("'", '"'))
    return cfg


def test_cli_tiny_run(tmp_path):
    """BRO only (one compilation): dilute absorbed, dense active, figures, --resume reuses every item."""
    cfg = _tiny(tmp_path, ["bro"])
    out = str(tmp_path / "run")
    assert driver.resolve_name("absorbing-state") == "absorbing-state"
    rc = main(["experiment", "absorbing-state", "--config", str(cfg), "--out", out, "--seeds", "2"])
    assert rc == 0
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    rows = {r["dynamics"]: r for r in doc["rows"]}
    for dyn in ("bro",):
        r = rows[dyn]
        assert r["steps"] == 100 and r["f_inf"][0] == 0.0 and r["f_inf"][-1] > 0.9
        # phi = 0.3 absorbed, phi = 0.7 active in both seeds: phi_c in (0.3, 0.7)
        assert 0.3 < r["phi_c"] < 0.7 and r["phi_c_err"] > 0
    its = [d for d in doc["items"] if d["phi"] == 0.3]
    assert all(t >= 0 for d in its for t in d["t_absorb"])
    for name in ("absorbing_fa_phi", "absorbing_fa_t", "absorbing_phic", "absorbing_scaling"):
        assert os.path.exists(os.path.join(out, "figures", name + ".png"))
    rc = main(["experiment", "absorbing-state", "--config", str(cfg), "--out", out, "--seeds", "2", "--resume"])
    assert rc == 0
    with open(os.path.join(out, "results.json")) as f:
        doc2 = json.load(f)
    assert doc2["reused"] == 3 and doc2["computed"] == 0
    assert [r["phi_c"] for r in doc2["rows"]] == [r["phi_c"] for r in doc["rows"]]


def test_cli_bad_config(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("alpha = 3\n")
    assert main(["experiment", "absorbing-state", "--config", str(cfg), "--out", str(tmp_path / "r")]) == 2
    assert "alpha" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_tiny_sgd_bro_equivalence(tmp_path):
    """SGD (b = 3/4, η = ε/(2b)) and BRO on the same tiny grid: the same φ_c bracket."""
    out = str(tmp_path / "run")
    assert main(["experiment", "absorbing-state", "--config", str(_tiny(tmp_path, ["sgd", "bro"])), "--out", out,
                 "--seeds", "2"]) == 0
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    eq = doc["summary"]["equivalence"][0]
    assert eq["kick"] == 0.2 and eq["phi_c_sgd"] == eq["phi_c_bro"] == 0.4
    assert eq["max_abs_df_inf"] < 0.2


def test_critical_exponents_exact():
    """Per-seed φ_c with width ∝ N^{-1/(3 ν⊥)}, f∞ ∝ (φ − φ_c)^β and τ ∝ (φ_c − φ)^{−ν∥}, exactly."""
    nu, beta, nupar, pc = 0.59, 0.84, 1.08, 0.6
    base = np.array([-1.5, -0.5, 0.5, 1.5]) / np.std([-1.5, -0.5, 0.5, 1.5], ddof=1)
    fss = {n: pc + 0.01 * (n / 500) ** (-1 / (3 * nu)) * base for n in (500, 1000, 2000)}
    offs = np.array([0.005, 0.01, 0.02, 0.04])
    scans = [(pc + o, [0.3 * o ** beta] * 4, [-1] * 4) for o in offs]
    scans += [(pc - o, [0.0] * 4, [50 * o ** -nupar] * 4) for o in offs]
    c = A.critical_exponents(fss, scans, resolution=0.0025)
    assert c["nu_perp"]["value"] == pytest.approx(nu, rel=1e-10)
    # var(log std) = 1/(2(S-1)) per size, S = 4; 3 sizes at log 2 spacing
    x = np.log([500, 1000, 2000])
    se = np.sqrt(1 / (6 * np.sum((x - x.mean()) ** 2)))
    assert c["nu_perp"]["slope_err"] == pytest.approx(se)
    assert c["phi_c"] == pytest.approx(pc) and c["phi_c_err"] == pytest.approx(fss[2000].std(ddof=1) / 2)
    assert c["beta"]["fit_err"] < 1e-10 and c["nu_par"]["fit_err"] < 1e-10
    assert c["beta"]["value"] == pytest.approx(beta, abs=1e-10)
    assert c["nu_par"]["value"] == pytest.approx(nupar, abs=1e-10)


def test_config_validation_of_stages():
    with pytest.raises(QShockInputError, match="stages"):
        A.Config(stages=("grid", "fft")).validate()
    with pytest.raises(QShockInputError, match="crit_sizes"):
        A.Config(crit_sizes=(500,)).validate()
    with pytest.raises(QShockInputError, match="crit_bracket"):
        A.Config(crit_bracket=(0.6, 0.5)).validate()
    with pytest.raises(QShockInputError, match="hess_n"):
        A.Config(hess_n=10).validate()


@pytest.mark.slow
def test_cli_critical_and_hessian_stages(tmp_path):
    """Tiny critical and Hessian stages end to end: per-seed phi_c inside the bracket at the
    bisection resolution, the exponents recomputed from the items, minima at the force tolerance."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('stages = ["critical", "hessian"]\ncrit_sizes = [120, 200]\ncrit_seeds = 4\ncrit_kick = 0.2\n'
                   'crit_bracket = [0.3, 0.6]\ncrit_rounds = 2\ncrit_steps = 200\ncrit_offsets = [0.05]\n'
                   'crit_scan_steps = 200\nhess_n = 100\nhess_phis = [0.7]\nhess_kick = 0.2\nhess_tol = 1e-6\n')
    out = str(tmp_path / "run")
    assert main(["experiment", "absorbing-state", "--config", str(cfg), "--out", out, "--seeds", "2"]) == 0
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    c = doc["summary"]["critical"]
    assert [r["n"] for r in c["fss"]] == [120, 200] and c["resolution"] == pytest.approx(0.075)
    bis = [d for d in doc["items"] if d.get("kind") == "bisect"]
    for d in bis:
        assert all(0.3 < v < 0.6 for v in d["phi_c"])
        assert np.allclose(np.subtract(d["hi"], d["lo"]), 0.075)
    assert len([d for d in doc["items"] if d.get("kind") == "scan"]) == 2
    rows = doc["summary"]["hessian"]["rows"]
    assert [r["start"] for r in rows] == ["sgd", "bro", "poisson"]
    assert all(r["max_force"] <= 1e-6 and r["zero_fraction"] >= 0.01 - 1e-12 for r in rows)
    assert os.path.exists(os.path.join(out, "figures", "absorbing_critical.png"))
