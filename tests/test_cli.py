"""The `qshock solve` command-line contract (DESIGN.md §4): NetCDF output, attributes, atomic
writes, config files, and one-line errors with exit code 2 for bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from qshock.experiments.cli.main import main

BASE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "0.5"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_writes_netcdf_with_contract(tmp_path, capsys):
    out = tmp_path / "b.nc"
    code, stdout, err = run(BASE + ["--save-every", "0.25", "--out", str(out)], capsys)
    assert code == 0, err
    ds = xr.open_dataset(out)
    assert list(ds["u"].dims) == ["t", "x"] and "p" in ds
    assert np.allclose(ds["t"].values, [0.0, 0.25, 0.5])
    for key in ("equation", "scheme", "flux", "nu", "cfl", "n_steps", "qshock_version", "command_line"):
        assert key in ds.attrs, key
    assert ds.attrs["equation"] == "burgers" and ds.attrs["scheme"] == "weno5"
    assert ds.attrs["command_line"].startswith("qshock solve --equation burgers")
    # before the shock (t* = 1) the solution is the characteristic solution, to discretisation error
    x = ds["x"].values
    y = x.copy()
    for _ in range(60):
        y = y - (y + 0.5 * np.sin(y) - x) / (1 + 0.5 * np.cos(y))
    assert np.max(np.abs(ds["u"].values[-1] - np.sin(y))) < 2e-3
    # mass is conserved
    assert abs(ds["u"].values[-1].sum() - ds["u"].values[0].sum()) < 1e-12
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


def test_hj_2d_with_times_and_config(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text('equation = "hj"\ndomain = "0:2*pi,0:2*pi"\nn = "24,20"\nic = "sin(x)*cos(y)"\nnu = 0.05\n'
                   't1 = 0.2\nscheme = "muscl"\n')
    out = tmp_path / "h.nc"
    code, _, err = run(["solve", "--config", str(cfg), "--times", "0.1", "--out", str(out)], capsys)
    assert code == 0, err
    ds = xr.open_dataset(out)
    assert ds["u"].shape == (3, 24, 20) and list(ds["u"].dims) == ["t", "x", "y"]
    assert ds["p"].shape == (3, 2, 24, 20)
    assert ds.attrs["scheme"] == "muscl" and float(ds.attrs["nu"]) == 0.05


@pytest.mark.parametrize("extra,needle", [
    (["--ic", "sin(y)"], "unknown name 'y'"),
    (["--ic", "__import__('os').system('true')"], "--ic"),
    (["--ic", "x.__class__"], "--ic"),
    (["--nu", "-0.1"], "--nu"),
    (["--cfl", "1.5"], "CFL"),
    (["--cfl", "0"], "CFL"),
    (["--n", "3"], "too few"),
    (["--scheme", "weno7"], "unknown scheme"),
    (["--flux", "hllc"], "unknown Burgers flux"),
    (["--bc", "sticky"], "unknown --bc"),
    (["--ic", "log(x - 1)"], "NaN or infinite"),
    (["--ic", "1/(x - x)"], "NaN or infinite"),
    (["--domain", "1:0"], "LO < HI"),
    (["--domain", "0:2*pi", "--n", "8,8"], "--n gives 2"),
    (["--t1", "-1"], "--t1"),
    (["--dtype", "float16"], "--dtype"),
    (["--equation", "navier"], "unknown --equation"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, extra, needle):
    argv = list(BASE) + ["--out", str(tmp_path / "x.nc")]
    for i in range(0, len(extra), 2):  # override flags
        if extra[i] in argv:
            argv[argv.index(extra[i]) + 1] = extra[i + 1]
        else:
            argv += extra[i:i + 2]
    code, out, err = run(argv, capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and needle in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "x.nc").exists()


def test_hj_flux_eo_rejected(tmp_path, capsys):
    code, _, err = run(["solve", "--equation", "hj", "--domain", "0:1", "--n", "32", "--ic", "x", "--t1", "0.1",
                        "--flux", "eo", "--out", str(tmp_path / "a.nc")], capsys)
    assert code == 2 and "eo" in err


def test_console_script_version_and_help():
    exe = os.path.join(os.path.dirname(sys.executable), "qshock")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("qshock ")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "examples:" in r.stdout and "qshock solve" in r.stdout
    r = subprocess.run([exe, "solve", "--equation", "burgers", "--bogus"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_negative_values_are_not_options(tmp_path, capsys):
    out = tmp_path / "n.nc"
    code, _, err = run(["solve", "--equation", "hj", "--domain", "-1:1", "--n", "40", "--ic", "-cos(pi*x)",
                        "--t1", "0.05", "--scheme", "wenoz", "--out", str(out)], capsys)
    assert code == 0, err
    ds = xr.open_dataset(out)
    assert abs(float(ds["x"].min()) - (-1 + 1 / 40)) < 1e-12  # first centre at -1 + dx/2


def test_solver_progress_hook_and_step_estimate():
    """solver.stepping: ``progress(t, n)`` reports the simulated time and step count without changing
    the result; ``estimate_steps`` from the initial data bounds the steps of a Burgers solve (the
    maximum principle keeps max|u| from growing) and is within 10% before the shock."""
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average
    from qshock.solver.stepping import estimate_steps, solve

    g = Grid(0.0, 2 * np.pi, 128)
    u0 = cell_average(jnp.sin, g, n_gauss=3)
    calls = []
    a = solve(Burgers(nu=0.01), g, u0, 0.6, save_at=[0.0, 0.3, 0.6])
    b = solve(Burgers(nu=0.01), g, u0, 0.6, save_at=[0.0, 0.3, 0.6],
              progress=lambda t, n: calls.append((float(t), int(n))))
    assert np.array_equal(np.asarray(a.u), np.asarray(b.u)) and a.n_steps == b.n_steps
    ts = [c[0] for c in sorted(calls, key=lambda c: c[1])]
    assert ts == sorted(ts) and max(calls, key=lambda c: c[1]) == (0.6, b.n_steps)
    assert len(calls) == b.n_steps // 50 + 2  # every 50 steps, and at the two output times
    est = estimate_steps(Burgers(nu=0.01), g, u0, 0.6)
    assert b.n_steps - 2 <= est <= 1.1 * b.n_steps
