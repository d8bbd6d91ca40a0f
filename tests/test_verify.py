"""`qshock verify` (quick table, JSON contract, the verifier can fail) and `qshock shocks` (issue 5)."""

import json

from qshock.experiments.cli.main import main
from qshock.experiments.verify.checks import run_checks


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

    from qshock.experiments.verify.checks import Context, write_figures
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
