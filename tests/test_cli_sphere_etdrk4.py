"""Pseudo-spectral ETDRK4 on S² from the command line and from ``solve(scheme='spectral')``.

* ``qshock solve --manifold sphere --scheme spectral --method etdrk4 --n 48,96`` (default H, ETDRK4 at the
  default step): the exact viscous HJ solution u = −2ν log(1 + ε e^{−2νt} cos θ) to ≤ 1e-8 at the nodes
  written to the NetCDF file (Gauss–Legendre and Fejér latitudes);
* ``--hamiltonian 'sqrt(1 + ptheta**2 + pphi**2/sin(theta)**2) - 1'`` (non-quadratic, ETDRK4 chosen
  automatically) against the FV chart solve through the same command line (WENO5, IMEX) on the same
  cell centres (Fejér nodes): they agree to the FV error, and the difference falls at the FV order;
* the library path ``solve(HamiltonJacobi(H, manifold=sphere), grid, u0, t1, scheme='spectral')`` on a
  chart grid gives the same numbers as the CLI.
"""

import math

import numpy as np
import pytest
import xarray as xr

from qshock.experiments.cli.main import main

NU, EPS, T1 = 0.1, 0.5, 0.5
H_SQRT = "sqrt(1 + ptheta**2 + pphi**2/sin(theta)**2) - 1"
IC = f"-2*{NU}*log(1 + {EPS}*sin(theta)*cos(phi)) + 0.3*cos(theta)"


def _solve(tmp_path, args, name="out.nc"):
    out = tmp_path / name
    assert main(["solve", *args, "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        return ds.load()


@pytest.mark.parametrize("grid", ["gauss", "fejer"])
def test_cli_sphere_etdrk4_exact_zonal_48x96(tmp_path, grid):
    ds = _solve(tmp_path, ["--equation", "hj", "--manifold", "sphere", "--scheme", "spectral", "--method", "etdrk4",
                           "--grid", grid, "--n", "48,96", "--ic", f"-2*{NU}*log(1 + {EPS}*cos(theta))", "--nu",
                           str(NU), "--t1", str(T1)])
    assert ds.attrs["method"] == "spherical-harmonic-etdrk4" and int(ds.attrs["n_steps"]) > 1
    th = ds["theta"].values[:, None]
    exact = -2 * NU * np.log1p(EPS * math.exp(-2 * NU * T1) * np.cos(th))
    assert np.max(np.abs(ds["u"].values[-1] - exact)) <= 1e-8


def _fv_and_spectral(tmp_path, n):
    common = ["--equation", "hj", "--manifold", "sphere", "--n", f"{n},{2 * n}", "--ic", IC, "--hamiltonian", H_SQRT,
              "--nu", str(NU), "--t1", str(T1)]
    sp = _solve(tmp_path, [*common, "--scheme", "spectral", "--grid", "fejer"], "sp.nc")
    fv = _solve(tmp_path, [*common, "--scheme", "weno5", "--method", "imex", "--cfl", "0.4"], "fv.nc")
    assert sp.attrs["method"] == "spherical-harmonic-etdrk4"
    assert np.allclose(sp["theta"].values, fv["theta"].values, atol=1e-14)  # Fejér nodes = cell centres
    return float(np.max(np.abs(sp["u"].values[-1] - fv["u"].values[-1])))


def test_cli_sphere_etdrk4_non_quadratic_h_agrees_with_fv_chart(tmp_path):
    """Measured max differences 2.1e-7 at 32×64 (spectral L = 16) and 1.85e-8 at 64×128 (L = 32): they fall
    at the FV order (ratio 11, WENO5 with the 4th-order chart viscous term), so they are the FV error."""
    assert _fv_and_spectral(tmp_path, 32) < 5e-7


@pytest.mark.slow
def test_cli_sphere_etdrk4_non_quadratic_h_difference_falls_at_fv_order(tmp_path):
    d = [_fv_and_spectral(tmp_path, n) for n in (32, 64)]
    assert d[1] < 5e-8 and d[0] / d[1] > 6, d


def test_library_solve_spectral_on_sphere_chart_equals_cli(tmp_path):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi, solve
    from qshock.solver.charts import chart_setup

    m, names, dom, bcs, _, _ = chart_setup("sphere", "spherical")
    g = Grid(dom[0], dom[1], (24, 48), bcs, names)
    th, ph = (np.asarray(c) for c in g.mesh())
    u0 = -2 * NU * np.log1p(EPS * np.sin(th) * np.cos(ph)) + 0.3 * np.cos(th)

    def H(x, p):
        return jnp.sqrt(1 + p[0] ** 2 + p[1] ** 2 / jnp.sin(x[0]) ** 2) - 1

    lib = solve(HamiltonJacobi(H, nu=NU, manifold=m), g, u0, T1, scheme="spectral")
    cli = _solve(tmp_path, ["--equation", "hj", "--manifold", "sphere", "--n", "24,48", "--ic", IC, "--hamiltonian",
                            H_SQRT, "--nu", str(NU), "--t1", str(T1), "--scheme", "spectral"])
    assert np.max(np.abs(np.asarray(lib.u[-1]) - cli["u"].values[-1])) <= 1e-12
    assert lib.metadata["method"] == "spherical-harmonic-etdrk4"


def test_sphere_spectral_method_errors(tmp_path, capsys):
    base = ["solve", "--equation", "hj", "--manifold", "sphere", "--scheme", "spectral", "--n", "16,32", "--ic",
            "cos(theta)", "--nu", "0.1", "--t1", "0.1", "--out", str(tmp_path / "x.nc")]
    assert main([*base, "--method", "cole-hopf", "--hamiltonian", H_SQRT]) == 2
    assert "needs the default Hamiltonian" in capsys.readouterr().err
    assert main([*base, "--method", "rk45"]) == 2
    assert "cole-hopf" in capsys.readouterr().err
