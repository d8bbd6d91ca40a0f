"""`qshock verify` (quick table, JSON contract, the verifier can fail, SKIP rows and --strict, the
registry by topic) and `qshock shocks` (issue 5)."""

import json

import jax
import pytest

from qshock.experiments.cli.main import main
from qshock.experiments.verify import registry, run_checks
from qshock.experiments.verify.registry import FAIL, PASS, SKIP, Check, Skip


def test_verify_quick_json_every_row_passes(capsys):
    code = main(["verify", "--quick", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rows", "passed", "failed"}
    bad = [r for r in out["rows"] if not r["pass"]]
    assert code == 0 and out["failed"] == 0 and not bad, bad
    assert out["passed"] == len(out["rows"]) >= 20
    for r in out["rows"]:
        assert set(r) == {"check", "formula", "expected", "measured", "pass"}
    names = {r["check"] for r in out["rows"]}
    for must in ("Burgers shock time (flat)", "Curved shock time on S² (Jacobi/Riccati)", "Cole–Hopf (viscous Burgers)",
                 "Lax–Oleinik (after the shock)", "Hopf–Lax (HJ after the kink)", "Order: Burgers weno5",
                 "Order: HJ WENO5", "Conservation of mass", "Riemann problems", "Laplace–Beltrami spectrum on S²"):
        assert must in names


def test_verify_fails_when_first_order_flux_is_injected_for_weno5():
    honest = run_checks(quick=True, only=["Order: Burgers weno5"])
    swapped = run_checks(quick=True, overrides={"weno5": "godunov"}, only=["Order: Burgers weno5"])
    assert len(honest) == len(swapped) == 1
    assert honest[0].passed and float(honest[0].measured) >= 4.5
    assert not swapped[0].passed and abs(float(swapped[0].measured) - 1.0) < 0.3


@pytest.mark.slow
def test_full_run_only_rows_pass():
    """The two rows `--quick` leaves out (S² detection, 20 random data): about a minute."""
    names = ["Curved shock detected on S²", "Random periodic data: predicted vs detected"]
    rows = run_checks(quick=False, only=names)
    assert [r.check for r in rows] == names and all(r.status == PASS for r in rows), [r.measured for r in rows]


def test_shocks_cli_json_sin(capsys):
    code = main(["shocks", "--equation", "burgers", "--domain", "0:2*pi", "--n", "256", "--ic", "sin(x)",
                 "--t1", "1.5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and set(out) == {"predicted", "detected"}
    for k in ("predicted", "detected"):
        assert set(out[k]) == {"time", "location", "uncertainty"}
    assert abs(out["predicted"]["time"] - 1.0) < 1e-9 and abs(out["predicted"]["location"][0] - 3.14159265) < 1e-6
    # default schedule: 61 outputs on [0, 1.5]: |t_det - t*| within two output intervals + dx
    assert abs(out["detected"]["time"] - 1.0) < 2 * 0.025 + 2 * 3.1416 / 256
    assert abs(out["detected"]["location"][0] - 3.14159265) < 0.05


def test_shocks_cli_no_shock_and_shock_after_t1(capsys):
    code = main(["shocks", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "0.5*sin(x)",
                 "--t1", "1.0", "--save-every", "0.1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert abs(out["predicted"]["time"] - 2.0) < 1e-9  # predicted beyond t1 is still reported
    assert out["detected"] == {"time": None, "location": None, "uncertainty": None}


def test_shocks_cli_bad_input_exit_2(capsys):
    assert main(["shocks", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(",
                 "--t1", "1"]) == 2
    assert main(["shocks", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)",
                 "--t1", "1", "--nu", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--ic" in err and "nu" in err
    assert "Traceback" not in err


def test_figures_written_as_pdf_and_png(tmp_path):
    import numpy as np

    from qshock.experiments.verify import Context, write_figures
    from qshock.solver.shocks import ShockEstimate

    ctx = Context(quick=True)
    ctx.figdata["conv"] = {"Burgers godunov": ([40, 80], [0.1, 0.05])}
    x = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ts = np.linspace(0, 1.5, 4)
    ctx.figdata["xt"] = (x, ts, np.sin(x)[None].repeat(4, 0), ShockEstimate(1.0, (np.pi,), 0.0, "flat-burgers"))
    ctx.figdata["random"] = (np.array([0.5, 1.0]), np.array([0.51, 0.99]))
    paths = write_figures(ctx, str(tmp_path))
    names = sorted(p.rsplit("/", 1)[1] for p in paths)
    assert names == sorted(f"{s}.{e}" for s in ("convergence", "xt_burgers", "shock_times") for e in ("pdf", "png"))
    for p in paths:
        with open(p, "rb") as fh:
            head = fh.read(8)
        assert head.startswith(b"%PDF") if p.endswith(".pdf") else head.startswith(b"\x89PNG")


# ----------------------------------------------------------------------------- registry, SKIP, --strict
def _ok(ctx):
    return "1.0", True


def _skips(ctx):
    raise Skip("needs a thing this machine lacks")


def _crashes(ctx):
    raise RuntimeError("boom")


@pytest.fixture
def tiny_registry(monkeypatch):
    """Replace the registry by three cheap rows: PASS, SKIP (raises Skip), and a full-run-only PASS."""
    rows = [Check("tiny pass", "f", "e", _ok), Check("tiny skip", "f", "e", _skips),
            Check("tiny full only", "f", "e", _ok, quick=False)]
    monkeypatch.setattr(registry, "CHECKS", rows)
    return rows


def test_skip_row_is_shown_with_reason_and_strict_fails_on_it(tiny_registry, capsys):
    assert main(["verify", "--quick"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("tiny skip"))
    assert "SKIP" in line and "needs a thing this machine lacks" in line
    assert "1 passed, 0 failed, 1 skipped" in out
    assert "full run only (not in --quick): tiny full only" in out  # left out by --quick, but named
    assert main(["verify", "--quick", "--strict"]) == 1
    assert "--strict" in capsys.readouterr().out


def test_skip_row_json_and_full_run(tiny_registry, capsys):
    assert main(["verify", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["check"] for r in out["rows"]] == ["tiny pass", "tiny skip", "tiny full only"]
    assert [r["pass"] for r in out["rows"]] == [True, None, True]
    assert (out["passed"], out["failed"], out["skipped"]) == (2, 0, 1)
    assert main(["verify", "--json", "--strict"]) == 1


def test_strict_passes_when_nothing_is_skipped(monkeypatch, capsys):
    monkeypatch.setattr(registry, "CHECKS", [Check("tiny pass", "f", "e", _ok)])
    assert main(["verify", "--strict", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rows", "passed", "failed"} and out["passed"] == 1  # DESIGN.md keys when no row skips


def test_crashing_check_is_a_failing_row_not_a_dropped_one(monkeypatch):
    monkeypatch.setattr(registry, "CHECKS", [Check("tiny crash", "f", "e", _crashes), Check("tiny pass", "f", "e", _ok)])
    rows = run_checks(quick=False)
    assert [(r.check, r.status) for r in rows] == [("tiny crash", FAIL), ("tiny pass", PASS)]
    assert rows[0].measured == "error: RuntimeError: boom"
    assert registry.exit_code(rows) == 1


def test_rows_needing_float64_skip_when_x64_is_off_and_x64_stays_off():
    name = "HJ kink time (flat, Hessian)"
    with jax.enable_x64(False):
        rows = run_checks(quick=True, only=[name, "Quotient invariance: ScaleQuotient"])
        assert not jax.config.jax_enable_x64  # verify does not switch float64 on
    assert [r.status for r in rows] == [SKIP, SKIP]
    assert "float64" in rows[0].measured and rows[0].to_json()["pass"] is None
    assert registry.exit_code(rows) == 0 and registry.exit_code(rows, strict=True) == 1


def test_unknown_only_name_is_an_input_error():
    from qshock.errors import QShockInputError

    with pytest.raises(QShockInputError, match="no such row"):
        run_checks(only=["no such row"])


def test_registry_by_topic_every_row_once_in_topic_order():
    full, left_out = registry.selected(quick=False)
    quick, full_only = registry.selected(quick=True)
    assert not left_out and len(full) == len(registry.CHECKS) >= 28
    assert {c.name for c in quick} | {c.name for c in full_only} == {c.name for c in full}
    assert {c.name for c in full_only} == {"Curved shock detected on S²", "Random periodic data: predicted vs detected"}
    assert len({c.name for c in full}) == len(full)
    topics = [c.fn.__module__.rsplit(".", 1)[-1] for c in full]
    assert set(topics) == set(registry.TOPICS)
    ranks = [registry.TOPICS.index(t) for t in topics]
    assert ranks == sorted(ranks)  # shocks, burgers, hj, sphere, quotients, spectral
    with pytest.raises(ValueError, match="already registered"):
        registry.check(full[0].name, "f", "e")
