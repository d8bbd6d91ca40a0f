"""Finite-volume Burgers: convergence orders, entropy solution after the shock, conservation,
TVD, Riemann problems (DESIGN.md §5, issue 2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.solver import Burgers, Grid
from qshock.solver.exact import cell_average, lax_oleinik_burgers, riemann_burgers
from qshock.solver.stepping import solve

TWO_PI = 2 * np.pi


def order_fit(ns, errs):
    """Least-squares slope of log(err) against log(1/N)."""
    return -np.polyfit(np.log(ns), np.log(errs), 1)[0]


def exact_avgs(grid, t, u0=jnp.sin):
    return np.asarray(cell_average(lambda x: lax_oleinik_burgers(u0, x, t), grid, n_gauss=6))


def sin_averages(grid, offset=0.0):
    x, h = grid.centres(), grid.dx[0]
    return offset + (jnp.cos(x - h / 2) - jnp.cos(x + h / 2)) / h


def l1(grid, a, b):
    return float(np.sum(np.abs(np.asarray(a) - np.asarray(b))) * grid.dx[0])


@pytest.mark.parametrize("scheme,expected,kw", [
    ("godunov", 1.0, {}),
    ("muscl", 2.0, {}),
])
def test_smooth_order_low(scheme, expected, kw):
    ns = [40, 80, 160, 320]
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        s = solve(Burgers(), g, sin_averages(g), 0.5, scheme=scheme, cfl=0.5)
        errs.append(l1(g, s.u[-1], exact_avgs(g, 0.5)))
    assert abs(order_fit(ns, errs) - expected) < 0.2, errs


@pytest.mark.parametrize("scheme", ["weno5", "wenoz"])
def test_smooth_order_weno(scheme):
    ns = [40, 80, 160, 320]
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        dt = 0.5 * g.dx[0] ** (5 / 3)  # time error below the spatial one
        s = solve(Burgers(), g, sin_averages(g), 0.5, scheme=scheme, method="ssprk3-fixed", dt=dt)
        errs.append(l1(g, s.u[-1], exact_avgs(g, 0.5)))
    assert order_fit(ns, errs) >= 4.5, errs


@pytest.mark.parametrize("scheme", ["godunov", "muscl", "weno5"])
def test_after_shock_l1_first_order_and_mass(scheme):
    ns = [100, 200, 400]
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        u0 = sin_averages(g, offset=0.5)
        s = solve(Burgers(), g, u0, 2.0, scheme=scheme, cfl=0.5)
        ref = np.asarray(cell_average(lambda x: lax_oleinik_burgers(lambda y: 0.5 + jnp.sin(y), x, 2.0), g, n_gauss=6))
        errs.append(l1(g, s.u[-1], ref))
        m0, m1 = float(jnp.sum(u0)), float(jnp.sum(s.u[-1]))
        assert abs(m1 - m0) <= 1e-13 * abs(m0) * 10, (m0, m1)  # 10 ulp-scale margin on a sum of n terms
    p = order_fit(ns, errs)
    assert 0.75 <= p <= 1.4, (errs, p)
    assert errs[-1] < 0.02


@pytest.mark.parametrize("scheme,flux", [("godunov", "godunov"), ("godunov", "eo"), ("godunov", "llf"),
                                         ("muscl", "godunov")])
def test_tvd_no_new_extrema(scheme, flux):
    g = Grid(0, TWO_PI, 200)
    u0 = sin_averages(g) + 0.3 * jnp.sign(jnp.cos(3 * g.centres()))
    s = solve(Burgers(), g, u0, 1.5, scheme=scheme, flux=flux, cfl=0.5, save_at=np.linspace(0, 1.5, 16))
    u = np.asarray(s.u)
    assert u.max() <= float(u0.max()) + 1e-14 and u.min() >= float(u0.min()) - 1e-14
    tv = np.sum(np.abs(np.diff(np.concatenate([u, u[:, :1]], axis=1), axis=1)), axis=1)
    assert np.all(np.diff(tv) <= 1e-12), np.diff(tv).max()


def _riemann(uL, uR, flux, n=400, t=0.5):
    g = Grid(-1, 1, n, "outflow")
    x = g.centres()
    u0 = jnp.where(x < 0, uL, uR)
    s = solve(Burgers(), g, u0, t, scheme="godunov", flux=flux, cfl=0.5)
    return g, np.asarray(s.u[-1]), np.asarray(riemann_burgers(uL, uR, x, t))


@pytest.mark.parametrize("flux", ["godunov", "eo"])
def test_riemann_shock_speed(flux):
    g, u, ex = _riemann(2.0, 0.0, flux)
    # shock at x = (uL+uR)/2 t = 0.5: the jump location from the discrete mass
    x_shock = float(np.sum(u) * g.dx[0] / 2.0 - 1.0)
    assert abs(x_shock - 0.5) < 1e-12
    assert l1(g, u, ex) < 4 * g.dx[0]


@pytest.mark.parametrize("flux", ["godunov", "eo"])
def test_rarefaction_and_transonic_fan(flux):
    for uL, uR in [(0.5, 1.5), (-1.0, 1.0)]:
        g, u, ex = _riemann(uL, uR, flux)
        assert l1(g, u, ex) < 0.05, (uL, uR)
        inner = np.abs(g.centres()) < 0.4
        assert np.max(np.abs(u[inner] - ex[inner])) < 0.1


def test_roe_without_entropy_fix_is_wrong_on_transonic_fan():
    g, u, ex = _riemann(-1.0, 1.0, "roe")
    assert l1(g, u, ex) > 0.2  # keeps the entropy-violating stationary expansion shock


def test_float32_mass_over_ten_thousand_steps():
    g = Grid(0, TWO_PI, 256)
    u0 = (0.7 + jnp.sin(g.centres()) + 0.2 * jnp.cos(3 * g.centres())).astype(jnp.float32)
    s = solve(Burgers(nu=0.0), g, u0, 1e4 * 2e-3, scheme="weno5", method="ssprk3-fixed", dt=2e-3,
              dtype=jnp.float32)
    assert s.u.dtype == jnp.float32 and s.n_steps == 10_000
    m0 = np.sum(np.asarray(u0, np.float64))
    m1 = np.sum(np.asarray(s.u[-1], np.float64))
    assert abs(m1 - m0) / abs(m0) < 1e-6


def test_vmap_batch_equals_loop():
    from qshock.solver.stepping import build_stepper

    g = Grid(0, TWO_PI, 64)
    ts = np.array([0.0, 0.4])
    run, _, _ = build_stepper(Burgers(nu=0.02), g, ts, scheme="weno5", cfl=0.4)
    run = jax.jit(run)
    key = jax.random.PRNGKey(0)
    a = jax.random.normal(key, (64, 3))
    x = g.centres()
    batch = a[:, :1] * jnp.sin(x) + a[:, 1:2] * jnp.cos(2 * x) + 0.3 * a[:, 2:]
    us_b = jax.vmap(run)(batch)[0]
    for i in [0, 17, 63]:
        assert np.allclose(us_b[i], run(batch[i])[0], atol=1e-13, rtol=0)


def test_reverse_mode_gradient_matches_finite_differences():
    from qshock.solver.stepping import build_stepper

    g = Grid(0, TWO_PI, 48)
    run, _, _ = build_stepper(Burgers(nu=0.05), g, np.array([0.0, 0.3]), scheme="weno5", method="ssprk3-fixed",
                              dt=0.01)

    def functional(u0):
        return jnp.sum(run(u0)[0][-1] ** 2) * g.dx[0]

    u0 = jnp.sin(g.centres()) + 0.1
    grad = jax.grad(functional)(u0)
    v = jnp.cos(3 * g.centres())
    eps = 1e-6
    fd = (functional(u0 + eps * v) - functional(u0 - eps * v)) / (2 * eps)
    assert abs(float(jnp.vdot(grad, v)) - float(fd)) < 1e-7 * max(1.0, abs(float(fd)))
