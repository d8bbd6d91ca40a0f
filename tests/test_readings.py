"""The two readings of PDE time (experiments/lab/readings.py), solved with qshock's FV solver,
against closed forms and the directly iterated gradient-descent map."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.lab.readings import (Reading, coarse_grain_shock, sgd_nu, step_map_fold, step_of_coarse_time,
                                             step_of_fold)
from qshock.experiments.lab.slices import LossChart, loss_chart


def _chart(L, extent, n, grad_var=0.0):
    """A 1-D LossChart with loss values L(x) at the cell centres of [-extent, extent]."""
    x = (np.arange(n) + 0.5) * (2 * extent / n) - extent
    return LossChart(jnp.zeros(1), jnp.eye(1), jnp.ones(1), jnp.eye(1), jnp.array([extent]), n,
                     jnp.asarray(L(x)), jnp.zeros(n), jnp.full(1, grad_var), True)


def _iterated_map_fold(dL, lo, hi, n_points=2001):
    """Smallest t at which x -> x - t L'(x) stops being monotone on a sorted cloud (bisection)."""
    x = np.linspace(lo, hi, n_points)
    g = dL(x)
    folded = lambda t: np.any(np.diff(x - t * g) <= 0)  # noqa: E731
    a, b = 0.0, 1.0
    while not folded(b):
        b *= 2
    for _ in range(60):
        c = 0.5 * (a + b)
        a, b = (a, c) if folded(c) else (c, b)
    return b


def test_step_map_fold_on_a_quadratic_chart_is_one_over_lambda():
    # a real chart through a quadratic loss: the solver's fold equals 1/lambda to 1 %
    A = jnp.diag(jnp.array([3.0, 2.0, 1.0]))
    c = loss_chart(lambda t: 0.5 * t @ A @ t, jnp.array([0.1, 0.2, 0.3]), m=1, n=65, key=jax.random.PRNGKey(0))
    r = step_map_fold(c)
    assert isinstance(r, Reading) and r.method == "burgers-fv-weno5"
    assert abs(r.time * 3.0 - 1.0) < 0.01
    assert abs(r.detail["closed_form"] * 3.0 - 1.0) < 1e-9
    assert r.uncertainty < 0.05 * r.time
    # off-centre valley: still 1/lambda (the fold is everywhere at once), another lambda
    r4 = step_map_fold(_chart(lambda x: 2 * x ** 2 + x, 1.0, 129))
    assert abs(r4.time * 4.0 - 1.0) < 0.01


def test_step_map_fold_on_a_cubic_chart_matches_the_iterated_map():
    # L'' = 1 + x: the map x -> x - t L'(x) folds first at the upper face, t = 1/max L''
    L = lambda x: x ** 2 / 2 + x ** 3 / 6  # noqa: E731
    n = 129
    c = _chart(L, 1.0, n)
    r = step_map_fold(c)
    h = 2.0 / n
    # the cloud spans the cells the solver is given (centres -1 + h/2 ... 1 - h/2)
    t_map = _iterated_map_fold(lambda x: x + x ** 2 / 2, -1 + h / 2, 1 - h / 2)
    assert abs(t_map - 1 / (2 - h / 2)) < 1e-3  # the cloud spacing
    assert abs(r.time / t_map - 1) < 0.01
    assert r.location[0] > 0  # folds on the side of the larger curvature


def test_step_map_fold_2d_quadratic():
    # 2-D gradient-form Burgers: the fold comes from the larger eigenvalue
    A = jnp.diag(jnp.array([4.0, 1.5, 1.0]))
    c = loss_chart(lambda t: 0.5 * t @ A @ t, jnp.array([0.2, -0.1, 0.3]), m=2, n=33, key=jax.random.PRNGKey(0))
    r = step_map_fold(c, n_out=61)
    assert abs(r.time * 4.0 - 1.0) < 0.02


def test_coarse_grain_double_well_inviscid_and_viscous():
    # L = (x^2 - 1)^2 / 4: p0 = x^3 - x, inviscid t* = 1 at x = 0 (THEORY §2)
    L = lambda x: (x ** 2 - 1) ** 2 / 4  # noqa: E731
    c = _chart(L, 2.0, 129)
    r0 = coarse_grain_shock(c, nu=0.0, t_max=2.5)
    assert r0.method == "hj-fv-weno5"
    assert abs(r0.time - 1.0) < 0.01 and abs(r0.location[0]) < 0.05
    times = {}
    for nu in (1e-3, 1e-2):
        r = coarse_grain_shock(c, nu=nu, t_max=2.5)
        times[nu] = r.time
        # viscosity only delays the steepening, by O(sqrt(nu))
        assert 1.0 - 0.01 < r.time < 1.0 + 1.5 * math.sqrt(nu)
        assert "max_steepening_time" in r.detail["detect"]
    assert times[1e-3] < times[1e-2]


def test_coarse_grain_convex_chart_has_no_shock():
    r = coarse_grain_shock(_chart(lambda x: x ** 2 + 0.1 * x ** 4, 1.0, 33), nu=0.0)
    assert math.isinf(r.time) and not r.found


def test_conversions():
    c = _chart(lambda x: x ** 2, 1.0, 9, grad_var=2.0)
    assert abs(sgd_nu(c, 0.1, 8) - 0.1 * 2.0 / 32) < 1e-15
    s = step_of_fold(0.5, 0.6)
    assert s["oscillating"] and not s["diverging"] and abs(s["ratio"] - 1.2) < 1e-12
    assert step_of_fold(0.5, 1.0)["diverging"]
    assert not step_of_fold(math.inf, 1.0)["oscillating"]
    k = step_of_coarse_time(1.0, 0.05)
    assert abs(k["k_star"] - 10.0) < 1e-12 and abs(k["k_star_eta"] - 20.0) < 1e-12
    for call, word in [(lambda: sgd_nu(c, -1.0, 8), "lr"), (lambda: sgd_nu(c, 0.1, 0), "batch"),
                       (lambda: step_of_fold(0.5, 0.0), "eta_eff"), (lambda: step_of_fold(-1.0, 0.1), "tau_star"),
                       (lambda: step_of_coarse_time(1.0, 0.0), "lr"),
                       (lambda: step_map_fold(c, scheme="spectral"), "scheme"),
                       (lambda: step_map_fold(c, nu=-1.0), "nu"), (lambda: coarse_grain_shock(c, nu=0.0, t_max=0.0), "t_max"),
                       (lambda: step_map_fold(c, refine=0), "refine"), (lambda: step_map_fold(c, pad=-1.0), "pad"),
                       (lambda: step_map_fold(c, kappa=1.0), "kappa")]:
        with pytest.raises(QShockInputError, match=word):
            call()


def test_refined_chart_interpolates_cubic_data_exactly_and_keeps_the_fold():
    from qshock.experiments.lab.readings import refined

    L = lambda x: x ** 2 / 2 + x ** 3 / 6  # noqa: E731
    c = _chart(L, 1.0, 33)
    f = refined(c, 3)
    x = np.asarray(f.grid().centres())
    assert f.n == 99 and f.grid().lower == c.grid().lower
    np.testing.assert_allclose(np.asarray(f.loss), L(x), atol=1e-12)
    r = step_map_fold(c, refine=3)
    assert r.detail["refine"] == 3
    assert abs(r.time * (2 - 1 / 99) - 1) < 0.01


def test_step_map_fold_on_a_network_chart_matches_the_iterated_map():
    # a small tanh network: the chart loss is neither quadratic nor cubic; the solver's fold is
    # compared with the fold of the GD map iterated on 1,001 points of the chart (autodiff L')
    k0, k1, k2, k3 = jax.random.split(jax.random.PRNGKey(4), 4)
    X = jax.random.normal(k0, (32, 3))
    Y = jnp.sin(X @ jnp.array([1.0, -2.0, 0.5]))[:, None]

    def unpack(t):
        W1, b1, W2 = t[:18].reshape(6, 3), t[18:24], t[24:30].reshape(1, 6)
        return W1, b1, W2

    def loss(t):
        W1, b1, W2 = unpack(t)
        return 0.5 * jnp.mean((jnp.tanh(X @ W1.T + b1) @ W2.T - Y) ** 2)

    theta = jax.random.normal(k1, (30,)) * 0.8
    c = loss_chart(loss, theta, m=1, n=129, key=k2, extent=1.5)
    r = step_map_fold(c)
    d = c.directions[0]
    dL = jax.jit(jax.vmap(lambda x: jax.grad(loss)(c.origin + x * d) @ d))
    h = 3.0 / 129
    x = np.linspace(-1.5 + h / 2, 1.5 - h / 2, 1001)
    g = np.asarray(dL(jnp.asarray(x)))
    t_map = _iterated_map_fold(lambda xx: np.interp(xx, x, g), x[0], x[-1], n_points=1001)
    assert abs(r.time / t_map - 1) < 0.02, (r.time, t_map, r.uncertainty)
    assert abs(r.detail["closed_form"] / t_map - 1) < 0.01


def test_constant_metric_chart_is_read_in_orthonormal_coordinates():
    # metric g = 4: physical distance 2|dx|; L = 2 lam x^2 is lam y^2/2 in y = 2x, so tau* = 1/lam
    n, lam = 65, 3.0
    x = (np.arange(n) + 0.5) * (2.0 / n) - 1.0
    c = LossChart(jnp.zeros(1), jnp.eye(1), jnp.ones(1), jnp.array([[4.0]]), jnp.array([1.0]), n,
                  jnp.asarray(2 * lam * x ** 2 + 0.3 * x), jnp.zeros(n), jnp.zeros(1), True)
    r = step_map_fold(c)
    assert abs(r.time * lam - 1) < 0.01
    assert abs(r.location[0] + 0.3 / (4 * lam)) < 0.05  # the valley, in the chart's x coordinate
    bad = LossChart(jnp.zeros(2), jnp.eye(2), jnp.ones(2), jnp.array([[1.0, 0.5], [0.5, 1.0]]), jnp.ones(2), 9,
                    jnp.zeros((9, 9)), jnp.zeros((9, 9)), jnp.zeros(2), True)
    with pytest.raises(QShockInputError, match="diagonal"):
        step_map_fold(bad)


def test_cached_unit_grid_solve_equals_the_direct_solve():
    # the non-dimensionalised, cached stepper (x = hX, t = hs, nu' = nu/h) gives the direct solve's
    # fields and readings to 1e-10 relative, on a network-like chart and on two box sizes
    from qshock.experiments.lab.readings import _padded, stepper_cache_info, unit_solve
    from qshock.solver import Burgers, HamiltonJacobi, solve
    from qshock.solver.shocks import detect

    L = lambda x: (x ** 2 - 1) ** 2 / 4 + 0.3 * np.sin(3 * x)  # noqa: E731
    for ext in (1.7, 0.9):
        c = _chart(L, ext, 65)
        Lp, big, crop = _padded(c, 2.0)
        v0 = -np.gradient(Lp, big.dx[0], edge_order=2)
        ts = np.linspace(0.0, 0.8, 31)
        for kind, eq, u0, nu in (("burgers", Burgers(nu=0.0), v0, 0.0), ("hj", HamiltonJacobi(nu=2e-3), Lp, 2e-3)):
            ref = solve(eq, big, u0, ts[-1], scheme="weno5", save_at=ts, cfl=0.4)
            got = unit_solve(kind, big, u0, ts, nu=nu, scheme="weno5", cfl=0.4)
            scale = float(np.max(np.abs(np.asarray(ref.u))))
            np.testing.assert_allclose(np.asarray(got.u), np.asarray(ref.u), rtol=0, atol=1e-10 * scale)
            np.testing.assert_allclose(np.asarray(got.t), np.asarray(ref.t), rtol=1e-14)
            assert got.n_steps == ref.n_steps
            if kind == "hj":
                ps = float(np.max(np.abs(np.asarray(ref.p))))
                np.testing.assert_allclose(np.asarray(got.p), np.asarray(ref.p), rtol=0, atol=1e-10 * ps)
            e_ref, e_got = detect(ref, nu=nu), detect(got, nu=nu)
            assert abs(e_got.time - e_ref.time) <= 1e-10 * abs(e_ref.time)
    before = stepper_cache_info().hits
    step_map_fold(_chart(L, 1.3, 65))
    step_map_fold(_chart(lambda x: 2 * x ** 2, 0.5, 65))
    assert stepper_cache_info().hits > before  # the second chart reuses the compiled stepper
    # the viscosity is traced: viscous solves at other ν (ν' = ν/h) reuse one compiled stepper
    misses = stepper_cache_info().misses
    for nu in (1e-3, 3.7e-3):
        got = unit_solve("hj", big, Lp, ts, nu=nu, scheme="weno5", cfl=0.4)
        ref = solve(HamiltonJacobi(nu=nu), big, Lp, ts[-1], scheme="weno5", save_at=ts, cfl=0.4)
        np.testing.assert_allclose(np.asarray(got.u), np.asarray(ref.u), rtol=0,
                                   atol=1e-10 * float(np.max(np.abs(np.asarray(ref.u)))))
    assert stepper_cache_info().misses == misses
