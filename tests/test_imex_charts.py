"""Implicit viscosity on charts (issue 15, target 7): Strang splitting of SSP-RK3 advection with the
exact diffusion propagator e^{τνL} (solver.imex_charts).

* the modal propagator equals expm(τL) of the dense discrete operator (sphere: pole coupling included);
* S² (spherical chart) against u = −2ν log(1 + ε e^{−2νt} X₁): the same error as the explicit
  solve and order 2, with the time step set by the advective CFL alone (far fewer steps).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from qshock.manifolds import sphere_hj_exact
from qshock.solver.charts import chart_setup
from qshock.solver.equations import HamiltonJacobi
from qshock.solver.errors import QShockInputError
from qshock.solver.grid import Grid
from qshock.solver.imex_charts import apply_propagator, imex_parts
from qshock.solver.schemes import Scheme
from qshock.solver.stepping import estimate_steps, solve

NU, EPS = 0.1, 0.5


def _sphere(n):
    m, names, dom, bcs, _, _ = chart_setup("sphere", "spherical")
    return m, Grid(dom[0], dom[1], (n, 2 * n), bcs, names)


def _exact(g, t):
    f = jax.jit(jax.vmap(lambda x: sphere_hj_exact(x, t, NU, EPS, "spherical")))
    return f(g.points().reshape(-1, 2)).reshape(g.shape)


@pytest.mark.parametrize("chart", ["sphere", pytest.param("flat", marks=pytest.mark.slow)])
def test_modal_propagator_is_the_matrix_exponential(chart):
    """e^{τL}u by Fourier blocks (sphere: one N_θ block per azimuthal mode, the pole ghost cells
    included) equals scipy's expm of the dense discrete operator to 1e-11."""
    if chart == "sphere":
        m, g = _sphere(8)
    else:
        m, g = None, Grid((0, 0), (2 * np.pi, 2 * np.pi), (8, 12))
    eq = HamiltonJacobi(nu=0.3, manifold=m)
    sch = Scheme("weno5", diffusion_order=2)
    _, P, nu = imex_parts(eq, g, sch, jnp.float64)
    from qshock.solver._geometry import chart_factors
    from qshock.solver._rhs import _laplacian

    fac = chart_factors(m, g) if m is not None else None
    lap = _laplacian(g, fac, 2, 3)
    L = np.asarray(jax.jit(jax.vmap(lambda e: lap(e.reshape(g.shape), 0.0).ravel()))(jnp.eye(g.size))).T
    u = np.random.default_rng(0).normal(size=g.shape)
    for tau in (1e-3, 0.05):
        want = scipy.linalg.expm(nu * tau * L) @ u.ravel()
        got = np.asarray(apply_propagator(P, jnp.asarray(u), nu * tau)).ravel()
        assert np.max(np.abs(got - want)) < 1e-11 * np.max(np.abs(want)), tau
    assert float(jnp.max(P.lam)) < 1e-9 * float(jnp.max(jnp.abs(P.lam)))  # dissipative


@pytest.mark.slow
def test_imex_sphere_same_error_as_explicit_with_advective_steps():
    """Spherical chart, N_θ = 16, 32 (N_φ = 2N_θ), WENO5 with the 4th-order chart viscous term, t = 0.1:
    errors 1.93e-6 and 1.45e-7 (explicit SSP-RK3: 1.98e-6, 1.50e-7), order 3.7, with at most 1/50 of
    the explicit step count (measured 2 and 6 steps against 184 and 2887)."""
    m, _ = _sphere(16)
    eq = HamiltonJacobi(nu=NU, manifold=m)
    errs, steps, explicit = [], [], []
    for n in (16, 32):
        _, g = _sphere(n)
        u0 = _exact(g, 0.0)
        s = solve(eq, g, u0, 0.1, scheme="weno5", cfl=0.4, method="imex")
        errs.append(float(jnp.max(jnp.abs(s.u[-1] - _exact(g, 0.1)))))
        steps.append(s.n_steps)
        explicit.append(estimate_steps(eq, g, u0, 0.1, scheme="weno5", cfl=0.4))
    assert errs[-1] < 2e-7 and math.log2(errs[0] / errs[1]) > 3.3, errs
    assert all(50 * a < b for a, b in zip(steps, explicit)), (steps, explicit)


def test_imex_refuses_inhomogeneous_boundaries_and_burgers():
    from qshock.solver.equations import Burgers

    g = Grid((0.0,), (1.0,), (16,), "dirichlet")
    with pytest.raises(QShockInputError, match="homogeneous"):
        solve(HamiltonJacobi(nu=0.1), g, jnp.zeros(16), 0.1, method="imex")
    with pytest.raises(QShockInputError, match="Hamilton-Jacobi"):
        solve(Burgers(nu=0.1), Grid((0.0,), (1.0,), (16,)), jnp.zeros(16), 0.1, method="imex")
