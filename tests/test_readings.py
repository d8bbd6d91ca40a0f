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
                       (lambda: step_map_fold(c, nu=-1.0), "nu"), (lambda: coarse_grain_shock(c, nu=0.0, t_max=0.0), "t_max")]:
        with pytest.raises(QShockInputError, match=word):
            call()
