"""Runtime (traced) viscosity: ``build_stepper(..., nu=ν)`` inside a jitted function that takes ν as an
argument compiles once and gives, for every ν, the solve with the static ``equation.nu = ν`` (to
1e-14: XLA folds a static ν into the stencil constants, a traced one it cannot), and ν = 0 gives the
inviscid solve (the viscous term is ν × its operator: exactly zero)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.solver import Burgers, Grid, HamiltonJacobi, QShockInputError, build_stepper, solve
from qshock.solver.charts import chart_setup


def _traced(eq_viscous, grid, ts, **kw):
    """One jitted ``run(u0, nu)`` and a counter of its traces."""
    traces = []

    @jax.jit
    def run(u0, nu):
        traces.append(1)
        step, _, _ = build_stepper(eq_viscous, grid, ts, nu=nu, **kw)
        us, n, status, _, _ = step(u0)
        return us, n, status
    return run, traces


def _check(make_eq, grid, u0, ts, nus, **kw):
    run, traces = _traced(make_eq(1.0), grid, ts, **kw)
    worst = 0.0
    for nu in nus:
        ref = solve(make_eq(nu), grid, u0, ts[-1], save_at=ts, **kw)
        us, n, status = run(jnp.asarray(u0), jnp.asarray(nu))
        assert int(status) == 0 and int(n) == ref.n_steps
        worst = max(worst, float(np.max(np.abs(np.asarray(us) - np.asarray(ref.u)))))
    assert len(traces) == 1, "one compiled stepper for every nu"
    return worst


def test_burgers_1d_flat_every_nu_one_compile():
    g = Grid(0.0, 2 * np.pi, 96, "outflow")
    u0 = np.sin(np.asarray(g.centres())) + 0.2
    ts = np.linspace(0.0, 1.2, 4)
    err = _check(lambda nu: Burgers(nu=nu), g, u0, ts, [0.0, 0.003, 0.05], scheme="weno5", cfl=0.4)
    assert err <= 1e-14


def test_burgers_2d_gradient_form_and_hj_2d():
    g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (24, 20), ("outflow", "periodic"))
    X, Y = (np.asarray(c) for c in g.mesh())
    ts = np.linspace(0.0, 0.6, 3)
    v0 = np.stack([np.sin(X) * np.cos(Y), 0.5 * np.cos(X) * np.cos(Y)])
    assert _check(lambda nu: Burgers(nu=nu), g, v0, ts, [0.0, 0.02], scheme="weno5") <= 1e-14
    u0 = np.sin(X) * np.cos(Y)
    assert _check(lambda nu: HamiltonJacobi(nu=nu), g, u0, ts, [0.0, 0.01, 0.1], scheme="muscl") <= 1e-14


def test_hj_on_sphere_chart_4th_order_viscous_term():
    man, names, dom, bcs, _, _ = chart_setup("sphere", "spherical")
    g = Grid(dom[0], dom[1], (12, 24), bcs, names)
    th, ph = (np.asarray(c) for c in g.mesh())
    u0 = np.cos(th) + 0.3 * np.sin(th) * np.cos(ph)
    ts = np.array([0.0, 0.3])
    err = _check(lambda nu: HamiltonJacobi(nu=nu, manifold=man), g, u0, ts, [0.0, 0.05], scheme="weno5",
                 diffusion_order=4)
    assert err <= 1e-14


def test_nu_zero_is_the_inviscid_solve_past_the_shock():
    """Past the shock time any viscous term would move the shock profile by far more than 1e-14."""
    g = Grid(0.0, 2 * np.pi, 64, "periodic")
    u0 = np.sin(np.asarray(g.centres()))
    ts = np.array([0.0, 1.5])  # shock at t = 1
    run, _ = _traced(Burgers(nu=1.0), g, ts, scheme="weno5")
    inviscid = solve(Burgers(), g, u0, 1.5, scheme="weno5").u
    tiny = solve(Burgers(nu=1e-6), g, u0, 1.5, scheme="weno5").u
    us, _, _ = run(jnp.asarray(u0), jnp.asarray(0.0))
    assert float(np.max(np.abs(np.asarray(us) - np.asarray(inviscid)))) <= 1e-14
    assert float(np.max(np.abs(np.asarray(tiny) - np.asarray(inviscid)))) > 1e-9  # the check can fail


def test_runtime_nu_refused_where_unsupported():
    g = Grid(0.0, 1.0, 32, "periodic")
    with pytest.raises(QShockInputError, match="runtime viscosity"):
        build_stepper(Burgers(), g, [0.0, 1.0], nu=-0.1)
    with pytest.raises(QShockInputError, match="scalar"):
        build_stepper(Burgers(), g, [0.0, 1.0], nu=jnp.ones(2))
    with pytest.raises(QShockInputError, match="imex"):
        build_stepper(HamiltonJacobi(nu=0.1), g, [0.0, 1.0], nu=0.1, method="imex")
