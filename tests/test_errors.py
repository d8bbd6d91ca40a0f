"""Bad input in the Python API raises QShockInputError naming the problem; blow-ups are reported
with time and place (issue 2)."""

import jax.numpy as jnp
import numpy as np
import pytest

from qshock.solver import BlowUpError, Boundary, Burgers, Grid, HamiltonJacobi, QShockInputError
from qshock.solver.stepping import solve


def g64():
    return Grid(0, 2 * np.pi, 64)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_initial_data(bad):
    u0 = np.sin(np.asarray(g64().centres()))
    u0[10] = bad
    with pytest.raises(QShockInputError, match=r"NaN/inf.*x=1\.03"):
        solve(Burgers(), g64(), u0, 0.1)


def test_negative_viscosity_and_bad_cfl():
    with pytest.raises(QShockInputError, match="nu"):
        Burgers(nu=-1e-3)
    with pytest.raises(QShockInputError, match="nu"):
        HamiltonJacobi(nu=float("nan"))
    for cfl in (0.0, -0.1, 1.01):
        with pytest.raises(QShockInputError, match="CFL"):
            solve(Burgers(), g64(), jnp.sin(g64().centres()), 0.1, cfl=cfl)


def test_wrong_shape_and_small_grid():
    with pytest.raises(QShockInputError, match="shape"):
        solve(Burgers(), g64(), jnp.zeros(63), 0.1)
    g = Grid(0, 1, 4)
    with pytest.raises(QShockInputError, match="too few"):
        solve(Burgers(), g, jnp.zeros(4), 0.1, scheme="weno5")


def test_unknown_names():
    with pytest.raises(QShockInputError, match="unknown scheme"):
        solve(Burgers(), g64(), jnp.zeros(64), 0.1, scheme="weno9")
    with pytest.raises(QShockInputError, match="unknown Burgers flux"):
        solve(Burgers(), g64(), jnp.zeros(64), 0.1, flux="hll")
    with pytest.raises(QShockInputError, match="unknown boundary"):
        Grid(0, 1, 8, "sticky")
    with pytest.raises(QShockInputError, match="time integrator"):
        solve(Burgers(), g64(), jnp.zeros(64), 0.1, method="euler")
    with pytest.raises(QShockInputError, match="separable"):
        solve(HamiltonJacobi(lambda x, p: jnp.cos(p[0])), g64(), jnp.zeros(64), 0.1, flux="godunov")


def test_bad_times():
    with pytest.raises(QShockInputError, match="t1"):
        solve(Burgers(), g64(), jnp.zeros(64), 0.0)
    with pytest.raises(QShockInputError, match="increasing"):
        solve(Burgers(), g64(), jnp.zeros(64), 1.0, save_at=[0.5, 0.2])


def test_blow_up_reports_time_and_place():
    # a fixed step far above the CFL limit: explicit Euler-like growth of a localised bump
    g = Grid(-1, 1, 64, "outflow")
    x = g.centres()
    u0 = jnp.exp(-100 * (x - 0.3) ** 2)
    with pytest.raises(BlowUpError) as info:
        solve(HamiltonJacobi(nu=1.0), g, u0, 5.0, scheme="godunov", method="ssprk3-fixed", dt=0.05,
              save_at=np.linspace(0, 5, 51))
    err = info.value
    assert 0.0 <= err.time < 5.0 and len(err.location) == 1 and -1 <= err.location[0] <= 1
    assert "blew up" in str(err) and "t=" in str(err)


def test_pole_boundary_needs_even_periodic_partner():
    with pytest.raises(QShockInputError, match="even"):
        Grid((0, 0), (np.pi, 2 * np.pi), (8, 9), (Boundary("pole", partner=1), Boundary("periodic")))
