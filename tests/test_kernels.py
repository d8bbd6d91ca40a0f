"""Finite-volume kernels: measured orders, TVD/monotonicity properties, fluxes, dtypes, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from qshock.solver._reconstruct import _default_eps, _weno5_edge_reference  # internals checked directly
from qshock.solver.kernels import (BURGERS_FLUXES as FLUXES, DIFFUSION_GHOST, GHOST_CELLS, HJ_DERIVATIVES,
                                   HJ_GHOST_CELLS, NUMERICAL_HAMILTONIANS, RECONSTRUCTIONS, VISCOUS_STABILITY,
                                   burgers_flux, face_difference, godunov_separable, gradient_form_flux,
                                   lax_friedrichs, lf_alpha_global, lf_alpha_local, materialize,
                                   max_wave_speed_burgers, metric_diffusion_1axis, one_sided_derivatives,
                                   reconstruct, second_derivative, weno5_edge_pair)
from qshock.solver.errors import QShockInputError

NS = (40, 80, 160)

# one compilation per (method, shape) instead of one per primitive in eager mode
_reconstruct = jax.jit(reconstruct, static_argnames=("method", "axis", "ng"))
_derivs = jax.jit(one_sided_derivatives, static_argnames=("method", "axis", "ng"))
_d2 = jax.jit(second_derivative, static_argnames=("axis", "order", "ng"))
_metric = jax.jit(metric_diffusion_1axis, static_argnames=("axis", "ng"))
TWO_PI = 2.0 * np.pi


def _orders(errs):
    e = np.asarray(errs)
    return np.log2(e[:-1] / e[1:])


def _sin_averages(n, ng):
    """Exact cell averages of sin on [0, 2pi) with ng ghost cells, and the face values."""
    h = TWO_PI / n
    left = np.arange(-ng, n + ng) * h
    avg = (np.cos(left) - np.cos(left + h)) / h
    return jnp.asarray(avg), np.sin(np.arange(n + 1) * h)


# ------------------------------------------------------------------ reconstruction
@pytest.mark.parametrize(
    "method,lo,hi,norm",
    [("first", 0.95, 1.1, "max"),
     ("muscl-minmod", 1.8, 2.3, "l1"),
     ("muscl-mc", 1.8, 2.3, "l1"),
     ("muscl-vanleer", 1.8, 2.3, "l1"),
     ("weno5", 4.8, 5.3, "max"),
     ("wenoz", 4.8, 5.3, "max")],
)
def test_reconstruction_order(method, lo, hi, norm):
    errs = []
    for n in NS:
        q, exact = _sin_averages(n, 3)
        qL, qR = _reconstruct(q, method, ng=3)
        assert qL.shape == qR.shape == (n + 1,)
        err = np.concatenate([np.abs(qL - exact), np.abs(qR - exact)])
        errs.append(err.max() if norm == "max" else err.mean())
    p = _orders(errs)
    assert np.all(p >= lo) and np.all(p <= hi), (method, p)


def test_muscl_max_norm_second_order_away_from_extrema():
    errs = []
    for n in NS:
        q, exact = _sin_averages(n, 2)
        qL, _ = _reconstruct(q, "muscl-minmod", ng=2)
        xf = np.arange(n + 1) * TWO_PI / n
        away = np.abs(np.cos(xf)) > 0.3
        errs.append(np.abs(np.asarray(qL) - exact)[away].max())
    assert np.all(_orders(errs) >= 1.9)


@pytest.mark.parametrize("method", RECONSTRUCTIONS)
def test_reconstruction_exact_on_constants_and_extra_ghosts_ignored(method):
    q = jnp.full(20, 2.5)
    qL, qR = _reconstruct(q, method, ng=4)
    assert qL.shape == (13,)
    np.testing.assert_allclose(qL, 2.5, rtol=1e-14)
    np.testing.assert_allclose(qR, 2.5, rtol=1e-14)
    # extra ghost cells are ignored: same faces as trimming them off
    rng = np.random.default_rng(0)
    v = jnp.asarray(rng.normal(size=30))
    a = _reconstruct(v, method, ng=5)
    b = _reconstruct(v[5 - GHOST_CELLS[method]: 30 - 5 + GHOST_CELLS[method]], method)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("method", ["muscl-mc", "weno5", "wenoz"])
def test_reconstruction_axis_and_vmap_and_jit(method):
    rng = np.random.default_rng(1)
    q = jnp.asarray(rng.normal(size=(16, 5)))
    qL0, qR0 = _reconstruct(q, method, axis=0)
    cols = [_reconstruct(q[:, j], method) for j in range(5)]
    np.testing.assert_allclose(qL0, np.stack([c[0] for c in cols], 1), rtol=1e-13, atol=1e-14)
    vm = jax.vmap(lambda c: _reconstruct(c, method), in_axes=1, out_axes=1)(q)
    np.testing.assert_allclose(vm[1], qR0, rtol=1e-13, atol=1e-14)
    jt = jax.jit(lambda c: _reconstruct(c, method, axis=0))(q)
    np.testing.assert_allclose(jt[0], qL0, rtol=1e-13, atol=1e-14)


@jax.jit
def _grads_and_row_sums(q):
    grads, rows = [], []
    for m in RECONSTRUCTIONS:
        f = lambda q, m=m: jnp.sum(jnp.square(reconstruct(q, m)[0])) + jnp.sum(reconstruct(q, m)[1])
        grads.append(jax.grad(f)(q))
        # directional derivative along (1, ..., 1) = row sums of the Jacobian of qR
        rows.append(jax.jvp(lambda q, m=m: reconstruct(q, m)[1], (q,), (jnp.ones_like(q),))[1])
    return jnp.stack(grads), jnp.concatenate(rows)


def test_reconstruction_gradient_finite_on_flat_and_step_data():
    for q in (jnp.zeros(12), jnp.where(jnp.arange(12) < 6, 0.0, 1.0)):
        assert bool(jnp.all(jnp.isfinite(_grads_and_row_sums(q)[0])))
    # consistency of every stencil: the face value's derivatives w.r.t. the cells sum to 1
    rows = _grads_and_row_sums(jnp.sin(jnp.linspace(0.0, 1.0, 12)))[1]
    np.testing.assert_allclose(rows, 1.0, atol=1e-10)


_MUSCL = ("muscl-minmod", "muscl-mc", "muscl-vanleer")


@jax.jit
def _muscl_faces(v):
    return jnp.stack([jnp.stack(_reconstruct(v, m, ng=2)) for m in _MUSCL])


@given(hnp.arrays(np.float64, 24, elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)))
def test_muscl_tvd_face_states_within_neighbour_range(v):
    faces = np.asarray(_muscl_faces(jnp.asarray(v)))   # (limiter, L/R, face)
    left, right = v[1:-2], v[2:-1]                      # cells i-1 and i around face i-1/2
    scale = 1e-12 * (1.0 + np.abs(v).max())
    assert np.all(faces >= np.minimum(left, right) - scale)
    assert np.all(faces <= np.maximum(left, right) + scale)


@pytest.mark.parametrize("method", ["weno5", "wenoz"])
def test_weno_essentially_non_oscillatory_at_step(method):
    q = jnp.where(jnp.arange(40) < 20, 0.0, 1.0)
    qL, qR = _reconstruct(q, method)
    assert float(jnp.min(jnp.minimum(qL, qR))) > -2e-3
    assert float(jnp.max(jnp.maximum(qL, qR))) < 1.0 + 2e-3
    # away from the jump, exact
    np.testing.assert_allclose(qL[:12], 0.0, atol=1e-12)
    np.testing.assert_allclose(qR[-12:], 1.0, atol=1e-12)


@given(hnp.arrays(np.float64, 30, elements=st.floats(-100, 100)), st.sampled_from(["weno5", "wenoz"]))
def test_optimised_weno_pair_matches_textbook_formula(v, kind):
    s = [jnp.asarray(v[k:k + 25]) for k in range(6)]
    left, right = _pair_jit(s, kind)
    eps = _default_eps(kind, jnp.float64)
    ref_l = _weno5_edge_reference(*s[:5], kind, eps)
    ref_r = _weno5_edge_reference(s[5], s[4], s[3], s[2], s[1], kind, eps)
    scale = 1e-13 * (1.0 + np.abs(v).max())
    np.testing.assert_allclose(left, ref_l, atol=scale)
    np.testing.assert_allclose(right, ref_r, atol=scale)


_pair_jit = jax.jit(weno5_edge_pair, static_argnames=("kind",))


def test_float32_weno_extreme_data_stays_finite():
    q = jnp.where(jnp.arange(30) < 15, 0.0, 1e12).astype(jnp.float32)
    for method in ("weno5", "wenoz"):
        qL, qR = _reconstruct(q, method)
        assert qL.dtype == jnp.float32
        assert bool(jnp.all(jnp.isfinite(qL)) and jnp.all(jnp.isfinite(qR)))
        assert float(jnp.max(qL)) <= 1e12 * (1 + 1e-6)


def test_face_difference_matches_slicing_and_grad():
    rng = np.random.default_rng(2)
    F = jnp.asarray(rng.normal(size=(4, 7, 9)))
    for axis in range(3):
        m = F.shape[axis]
        ref = jax.lax.slice_in_dim(F, 1, m, axis=axis) - jax.lax.slice_in_dim(F, 0, m - 1, axis=axis)
        np.testing.assert_array_equal(face_difference(F, axis), ref)
    g = jax.grad(lambda F: jnp.sum(face_difference(F, 1) ** 2))(F)
    g_ref = jax.grad(lambda F: jnp.sum((F[:, 1:] - F[:, :-1]) ** 2))(F)
    np.testing.assert_allclose(g, g_ref, rtol=1e-14)
    assert face_difference(F.astype(jnp.float32)).dtype == jnp.float32


def test_materialize_is_exact_identity():
    rng = np.random.default_rng(8)
    for x in (jnp.asarray(rng.normal(size=(3, 5, 7)) * 1e300), jnp.asarray(rng.normal(size=11), jnp.float32)):
        y = jax.jit(materialize)(x)
        assert y.dtype == x.dtype and y.shape == x.shape
        np.testing.assert_array_equal(y, x)
    x = jnp.asarray(rng.normal(size=(2, 6)))
    np.testing.assert_array_equal(jax.grad(lambda x: jnp.sum(materialize(x) ** 3))(x), 3 * x**2)
    np.testing.assert_array_equal(jax.vmap(materialize)(x), x)


# ------------------------------------------------------------------ HJ derivatives
@pytest.mark.parametrize("method,lo,hi", [("upwind1", 0.95, 1.1), ("eno2", 1.9, 2.2), ("weno5", 4.8, 5.3),
                                          ("weno5z", 4.8, 5.3)])
def test_hj_derivative_order(method, lo, hi):
    errs = []
    for n in NS:
        ng = 3
        h = TWO_PI / n
        x = (np.arange(-ng, n + ng) + 0.5) * h
        pm, pp = _derivs(jnp.asarray(np.sin(x)), h, method, ng=ng)
        exact = np.cos(x[ng:-ng])
        assert pm.shape == pp.shape == (n,)
        errs.append(max(np.abs(pm - exact).max(), np.abs(pp - exact).max()))
    p = _orders(errs)
    assert np.all(p >= lo) and np.all(p <= hi), (method, p)


@pytest.mark.parametrize("method", HJ_DERIVATIVES)
def test_hj_derivatives_exact_on_lines_and_biased_at_kinks(method):
    x = (np.arange(-3, 23) + 0.5) * 0.1
    pm, pp = _derivs(jnp.asarray(3.0 * x - 1.0), 0.1, method, ng=3)
    np.testing.assert_allclose(pm, 3.0, rtol=1e-12)
    np.testing.assert_allclose(pp, 3.0, rtol=1e-12)
    # |x - 1| with the kink between cells 9 (x = 0.95) and 10 (x = 1.05): the stencils biased
    # away from the kink see one linear piece only
    u = jnp.asarray(np.abs(x - 1.0))
    pm, pp = _derivs(u, 0.1, method, ng=3)
    assert abs(float(pm[9]) + 1.0) < 1e-9
    assert abs(float(pp[10]) - 1.0) < 1e-9


# ------------------------------------------------------------------ diffusion
@pytest.mark.parametrize("order", [2, 4])
def test_second_derivative_order(order):
    errs = []
    for n in NS:
        ng = DIFFUSION_GHOST[order]
        h = TWO_PI / n
        x = (np.arange(-ng, n + ng) + 0.5) * h
        d2 = _d2(jnp.asarray(np.sin(x)), h, order=order, ng=ng)
        errs.append(np.abs(d2 + np.sin(x[ng:-ng])).max())
    p = _orders(errs)
    assert np.all(p >= order - 0.1) and np.all(p <= order + 0.2), p


def test_metric_diffusion_flat_equals_second_derivative_and_radial_exact():
    rng = np.random.default_rng(3)
    u = jnp.asarray(rng.normal(size=(12, 7)))
    a = _metric(u, 0.3, jnp.ones(11), jnp.ones(10), axis=0)
    np.testing.assert_allclose(a, _d2(u, 0.3, axis=0), rtol=1e-12, atol=1e-12)
    # polar radial part (1/r)(r u_r)_r with sqrt(G) = r: exact (= 4) on u = r^2, zero flux at r = 0
    n, h = 20, 0.05
    r = (np.arange(-1, n + 1) + 0.5) * h
    term = _metric(jnp.asarray(r**2), h, jnp.arange(n + 1) * h, 1.0 / r[1:-1])
    np.testing.assert_allclose(term[1:-1], 4.0, rtol=1e-12)
    # the pole face carries no flux: the first cell sees only its outer face
    u = jnp.asarray(rng.normal(size=n + 2))
    t0 = _metric(u, h, jnp.arange(n + 1) * h, 1.0 / r[1:-1])
    u2 = u.at[0].set(1e6)  # ghost value behind the pole must not matter
    t1 = _metric(u2, h, jnp.arange(n + 1) * h, 1.0 / r[1:-1])
    np.testing.assert_array_equal(t0, t1)


def test_metric_diffusion_sphere_second_order_with_poles():
    # on S^2, theta part of Laplace-Beltrami: (1/sin)(sin u_theta)_theta; u = cos theta -> -2 cos theta
    errs = []
    for n in NS:
        h = np.pi / n
        th = (np.arange(-1, n + 1) + 0.5) * h
        w = np.sin(np.arange(n + 1) * h)
        w[0] = w[-1] = 0.0
        term = _metric(jnp.asarray(np.cos(th)), h, jnp.asarray(w), 1.0 / np.sin(th[1:-1]))
        errs.append(np.abs(term + 2.0 * np.cos(th[1:-1])).max())
    assert np.all(_orders(errs) >= 1.9)
    # conservation: sum of sqrt(G) * term * h = 0 for any data (zero pole fluxes)
    rng = np.random.default_rng(4)
    u = jnp.asarray(rng.normal(size=42))
    h = np.pi / 40
    th = (np.arange(40) + 0.5) * h
    w = np.sin(np.arange(41) * h)
    w[0] = w[-1] = 0.0
    term = _metric(u, h, jnp.asarray(w), 1.0 / np.sin(th))
    assert abs(float(jnp.sum(np.sin(th) * term))) < 1e-10


@pytest.mark.parametrize("order", [2, 4])
@pytest.mark.parametrize("d", [1, 2])
def test_viscous_stability_factor_is_sharp(order, d):
    # forward Euler amplification of the periodic stencil at the Nyquist mode (all axes)
    n, h, nu = 16, 0.1, 0.7
    ng = DIFFUSION_GHOST[order]
    u = np.cos(np.pi * np.arange(-ng, n + ng))  # (-1)^i
    lam = float(_d2(jnp.asarray(u), h, order=order)[0] / u[ng]) * nu * d
    dt = VISCOUS_STABILITY[order] * h * h / (nu * d)
    assert abs(1.0 + dt * lam) <= 1.0 + 1e-12
    assert abs(1.0 + 1.02 * dt * lam) > 1.0  # the bound is sharp
    # and no other mode is less stable
    k = np.arange(n // 2 + 1)
    for kk in k:
        v = np.cos(TWO_PI * kk * np.arange(-ng, n + ng) / n)
        if abs(v[ng]) < 1e-9:
            continue
        lk = float(_d2(jnp.asarray(v), h, order=order)[0] / v[ng]) * nu * d
        assert abs(1.0 + dt * lk) <= 1.0 + 1e-12


# ------------------------------------------------------------------ Burgers fluxes
_all_fluxes = jax.jit(lambda uL, uR, c: jnp.stack([burgers_flux(uL, uR, k, c) for k in FLUXES]))


@given(st.floats(-50, 50), st.floats(0.1, 10))
def test_burgers_flux_consistency(u, coef):
    for F in np.asarray(_all_fluxes(u, u, coef)):
        assert math.isclose(F, 0.5 * coef * u * u, rel_tol=1e-13, abs_tol=1e-13)


def test_transonic_rarefaction_entropy():
    uL, uR = jnp.asarray(-1.0), jnp.asarray(1.0)
    assert float(burgers_flux(uL, uR, "godunov")) == 0.0
    assert float(burgers_flux(uL, uR, "eo")) == 0.0
    assert float(burgers_flux(uL, uR, "roe")) == 0.5          # expansion shock: wrong
    # stationary shock uL = 1, uR = -1 carries f = 1/2 for Godunov; EO adds both branches
    assert float(burgers_flux(-uL, -uR, "godunov")) == 0.5
    assert float(burgers_flux(-uL, -uR, "eo")) == 1.0
    # metric coefficient scales the flux
    assert float(burgers_flux(jnp.asarray(2.0), jnp.asarray(3.0), "godunov", coef=0.25)) == 0.5


@jax.jit
def _flux_grads(uL, uR, coef):
    g = [jax.grad(lambda a, b, k=k: burgers_flux(a, b, k, coef), argnums=(0, 1))(uL, uR)
         for k in ("godunov", "eo", "llf")]
    return jnp.asarray(g)


@given(st.floats(-20, 20), st.floats(-20, 20), st.floats(0.1, 5))
def test_burgers_flux_monotone(uL, uR, coef):
    g = np.asarray(_flux_grads(uL, uR, coef))
    assert np.all(g[:, 0] >= -1e-12) and np.all(g[:, 1] <= 1e-12)


def test_gradient_form_flux_reduces_to_burgers_and_is_consistent():
    rng = np.random.default_rng(5)
    uL, uR = jnp.asarray(rng.normal(size=(1, 9))), jnp.asarray(rng.normal(size=(1, 9)))
    for kind in FLUXES:
        np.testing.assert_array_equal(gradient_form_flux(uL, uR, 0, kind)[0], burgers_flux(uL[0], uR[0], kind))
    v = jnp.asarray(rng.normal(size=(3, 4, 5)))
    for axis in range(3):
        F = gradient_form_flux(v, v, axis, "godunov")
        assert F.shape == v.shape
        np.testing.assert_allclose(F[axis], 0.5 * jnp.sum(v * v, axis=0), rtol=1e-14)
        others = [j for j in range(3) if j != axis]
        assert float(jnp.max(jnp.abs(F[jnp.asarray(others)]))) == 0.0
    assert float(max_wave_speed_burgers(jnp.asarray([0.5, -3.0]), coef=0.5)) == 1.5


# ------------------------------------------------------------------ Hamiltonians
_p = st.floats(-10, 10)


@jax.jit
def _godunov_checks(pm, pp, a):
    gm, gp = jax.grad(lambda x, y: godunov_separable(x, y, a).sum(), argnums=(0, 1))(pm, pp)
    return gm, gp, godunov_separable(pm, pp, a), godunov_separable(pm, pm, a)


@given(hnp.arrays(np.float64, (3, 4), elements=_p), hnp.arrays(np.float64, (3, 4), elements=_p),
       hnp.arrays(np.float64, 3, elements=st.floats(0.0, 4.0)))
def test_godunov_separable_monotone_and_consistent(pm, pp, a):
    gm, gp, Hg, Hc = (np.asarray(t) for t in _godunov_checks(pm, pp, a))
    assert gm.min() >= 0.0 and gp.max() <= 0.0
    np.testing.assert_allclose(Hc, 0.5 * np.sum(a[:, None] * pm**2, axis=0), rtol=1e-14)
    # per component: min of H over [p-, p+] when ordered, max over [p+, p-] when reversed
    H = lambda p: 0.5 * a[:, None] * p**2
    lo, hi = np.minimum(pm, pp), np.maximum(pm, pp)
    box_min = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(H(lo), H(hi)))
    box_max = np.maximum(H(lo), H(hi))
    ref = np.where(pm <= pp, box_min, box_max).sum(axis=0)
    np.testing.assert_allclose(Hg, ref, rtol=1e-13, atol=1e-13)


def _dHdp_aniso(x, p):
    # H = 1/2 p^T A(x) p with A = [[1 + x0^2, 0.5], [0.5, 2]]
    A = jnp.asarray([[1.0 + x[0] ** 2, 0.5], [0.5, 2.0]])
    return A @ p


_X_LF = jnp.stack(jnp.meshgrid(jnp.linspace(-1, 1, 2), jnp.linspace(0, 1, 3), indexing="ij"), -1)


@jax.jit
def _lf_checks(pm, pp):
    H = lambda xx, p: 0.5 * p @ _dHdp_aniso(xx, p)
    alpha = lf_alpha_local(_dHdp_aniso, _X_LF, pm, pp)

    def hhat(pm_, pp_):
        pbar = jnp.moveaxis(0.5 * (pm_ + pp_), 0, -1)
        Hm = jax.vmap(jax.vmap(H))(_X_LF, pbar)
        return lax_friedrichs(Hm, pm_, pp_, jax.lax.stop_gradient(alpha)).sum()

    gm, gp = jax.grad(hhat, argnums=(0, 1))(pm, pp)
    return alpha, lf_alpha_global(_dHdp_aniso, _X_LF, pm, pp), gm, gp


@given(hnp.arrays(np.float64, (2, 2, 3), elements=st.floats(-5, 5)),
       hnp.arrays(np.float64, (2, 2, 3), elements=st.floats(-5, 5)))
def test_lax_friedrichs_monotone_with_local_alpha(pm, pp):
    alpha, glob, gm, gp = (np.asarray(t) for t in _lf_checks(pm, pp))
    assert alpha.shape == (2, 2, 3)
    assert gm.min() >= -1e-12 and gp.max() <= 1e-12
    np.testing.assert_allclose(glob, alpha.reshape(2, -1).max(axis=1))


def test_lf_alpha_exact_for_separable_and_consistency():
    a = jnp.asarray([1.0, 3.0])
    pm = jnp.asarray([[1.0, -2.0], [0.5, 4.0]])
    pp = jnp.asarray([[-3.0, 1.0], [0.25, -1.0]])
    x = jnp.zeros((2, 2))
    dH = lambda x, p: a * p
    alpha = lf_alpha_local(dH, x, pm, pp)
    np.testing.assert_allclose(alpha, a[:, None] * jnp.maximum(jnp.abs(pm), jnp.abs(pp)))
    np.testing.assert_allclose(lf_alpha_global(dH, x, pm, pp), [3.0, 12.0])
    Hm = 0.5 * jnp.sum(a[:, None] * pm**2, axis=0)
    np.testing.assert_allclose(lax_friedrichs(Hm, pm, pm, alpha), Hm)
    # 4-D uses the reduced sample set: still exact for a diagonal quadratic
    a4 = jnp.arange(1.0, 5.0)
    pm4 = jnp.asarray(np.random.default_rng(6).normal(size=(4, 3)))
    pp4 = jnp.asarray(np.random.default_rng(7).normal(size=(4, 3)))
    al4 = lf_alpha_local(lambda x, p: a4 * p, jnp.zeros((3, 4)), pm4, pp4)
    np.testing.assert_allclose(al4, a4[:, None] * jnp.maximum(jnp.abs(pm4), jnp.abs(pp4)))


# ------------------------------------------------------------------ dtypes and errors
def test_float32_in_float32_out():
    f32 = lambda shape: jax.ShapeDtypeStruct(shape, jnp.float32)
    f64 = lambda shape: jax.ShapeDtypeStruct(shape, jnp.float64)
    dt = lambda fn, *args: jax.eval_shape(fn, *args).dtype if not isinstance(
        jax.eval_shape(fn, *args), tuple) else {o.dtype for o in jax.eval_shape(fn, *args)}
    q, v = f32((40,)), f32((2, 20))
    for m in RECONSTRUCTIONS:
        assert dt(lambda q: reconstruct(q, m), q) == {np.dtype(np.float32)}
    for m in HJ_DERIVATIVES:
        assert dt(lambda q, h: one_sided_derivatives(q, h, m), q, f64(())) == {np.dtype(np.float32)}
        assert dt(lambda q: one_sided_derivatives(q, np.float64(0.1), m), q) == {np.dtype(np.float32)}
    for order in (2, 4):
        assert dt(lambda q: second_derivative(q, np.float64(0.1), order=order), q) == jnp.float32
    assert dt(lambda q, w, g: metric_diffusion_1axis(q, 0.1, w, g), q, f64((39,)), f64((38,))) == jnp.float32
    for kind in FLUXES:
        assert dt(lambda q, c: burgers_flux(q, q, kind, coef=c), q, f64((40,))) == jnp.float32
    assert dt(lambda v: gradient_form_flux(v, v, 1, "llf", coef=np.float64(2.0)), v) == jnp.float32
    assert dt(lambda v, a: godunov_separable(v, v, a), v, f64((2,))) == jnp.float32
    assert dt(lambda v, a: lax_friedrichs(v[0], v, v, a), v, f64((2,))) == jnp.float32
    assert dt(lambda q: reconstruct(q, "weno5", eps=np.float64(1e-6)), q) == {np.dtype(np.float32)}
    assert dt(lambda F: face_difference(F, 0), q) == jnp.float32
    # and the float32 numbers are right to float32 accuracy
    x = jnp.sin(jnp.linspace(0, 6, 40))
    for m in ("muscl-mc", "weno5", "wenoz"):
        a32 = _reconstruct(x.astype(jnp.float32), m)
        a64 = _reconstruct(x, m)
        np.testing.assert_allclose(np.asarray(a32[0], np.float64), a64[0], atol=2e-5)


def test_unknown_names_and_too_few_ghosts_raise():
    q = jnp.zeros(20)
    with pytest.raises(QShockInputError, match="weno7.*weno5"):
        reconstruct(q, "weno7")
    with pytest.raises(QShockInputError, match="ghost"):
        reconstruct(q, "weno5", ng=2)
    with pytest.raises(QShockInputError, match="eno3.*upwind1"):
        one_sided_derivatives(q, 0.1, "eno3")
    with pytest.raises(QShockInputError, match="ghost"):
        one_sided_derivatives(q, 0.1, "weno5", ng=HJ_GHOST_CELLS["weno5"] - 1)
    with pytest.raises(QShockInputError, match="lax.*godunov"):
        burgers_flux(q, q, "lax")
    with pytest.raises(QShockInputError, match="hllc"):
        gradient_form_flux(q[None], q[None], 0, "hllc")
    with pytest.raises(QShockInputError, match="order"):
        second_derivative(q, 0.1, order=6)
    with pytest.raises(QShockInputError, match="interior"):
        reconstruct(jnp.zeros(6), "weno5")


def test_numerical_hamiltonian_registry_matches_scheme_names():
    """Every registered numerical Hamiltonian is a valid ``Scheme(flux=...)`` string and vice versa;
    the separable-only ones are refused for a general H."""
    from qshock.solver import Scheme
    from qshock.solver.schemes import HJ_FLUXES

    assert tuple(NUMERICAL_HAMILTONIANS) == HJ_FLUXES == ("godunov", "lf", "llf")
    for name, h in NUMERICAL_HAMILTONIANS.items():
        assert h.name == name
        assert Scheme("weno5", name).hj_flux(separable=True) == name
        if h.separable_only:
            with pytest.raises(QShockInputError, match="separable"):
                Scheme("weno5", name).hj_flux(separable=False)
        else:
            assert Scheme("weno5", name).hj_flux(separable=False) == name


SPLIT_HS = [
    lambda x, p: jnp.sqrt(jnp.sum(p * p) + 1e-30),
    lambda x, p: jnp.linalg.norm(p) + jnp.dot(p, p) * x[0] - p[1] * jnp.cos(x[1]),
    lambda x, p: jnp.where(p[0] > 0, 0.5 * (p[0] + 1.0) ** 2, jnp.exp(p[1]) - 1.0) + jnp.max(jnp.abs(p)),
    lambda x, p: 0.5 * p @ jnp.array([[2.0, 0.3], [0.3, 1.0]]) @ p + jax.nn.sigmoid(x).sum(),
]


@pytest.mark.parametrize("k", range(len(SPLIT_HS)))
def test_split_evaluation_equals_vmap(k):
    """A user H evaluated on component-split grid arrays (reductions written out) equals jax.vmap,
    value and gradient with respect to the fields."""
    from qshock.solver._split import split_map

    H = SPLIT_HS[k]
    shape = (5, 4)
    F = split_map(H, 2, 2, shape, jnp.float64)
    assert F is not None
    rng = np.random.default_rng(k)
    x, p = (jnp.asarray(rng.normal(size=(2,) + shape)) for _ in range(2))

    def ref(x, p):
        flat = [jnp.moveaxis(a, 0, -1).reshape(-1, 2) for a in (x, p)]
        return jax.vmap(H)(*flat).reshape(shape)

    assert np.allclose(F(x, p), ref(x, p), rtol=1e-13, atol=1e-13)
    g1 = jax.grad(lambda q: jnp.sum(jnp.sin(F(x, q))))(p)
    g2 = jax.grad(lambda q: jnp.sum(jnp.sin(ref(x, q))))(p)
    assert np.allclose(g1, g2, rtol=1e-12, atol=1e-12)


def test_split_evaluation_falls_back_for_unsupported_primitives():
    from qshock.solver._split import split_map

    assert split_map(lambda x, p: jnp.sort(p)[0] + x[0], 2, 2, (3,), jnp.float64) is None


def test_user_hamiltonian_split_path_matches_vmap_path_in_a_solve():
    """The eikonal H written as users write it: the split path and the vmap path give the same solution."""
    from qshock.solver import Grid, HamiltonJacobi, solve
    import qshock.solver._rhs as rhs_mod

    g = Grid((-2.0, -2.0), (2.0, 2.0), (24, 24), "outflow")
    X, Y = g.mesh()
    u0 = jnp.hypot(X, Y) - 0.5
    eq = HamiltonJacobi(lambda x, p: jnp.sqrt(jnp.sum(p * p) + 1e-30))
    fast = solve(eq, g, u0, 0.3, flux="llf")
    orig = rhs_mod.split_map
    rhs_mod.split_map = lambda *a, **k: None
    try:
        slow = solve(eq, g, u0, 0.3, flux="llf")
    finally:
        rhs_mod.split_map = orig
    assert fast.n_steps == slow.n_steps
    assert np.max(np.abs(np.asarray(fast.u) - np.asarray(slow.u))) < 1e-12


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_box_max_on_split_fields_equals_lf_alpha_local(d):
    """The LLF coefficients of the solver (component-first, split evaluation) equal lf_alpha_local."""
    from qshock.solver._rhs import _box_max
    from qshock.solver._split import split_map

    def H(x, p):
        return jnp.sqrt(1.0 + jnp.sum(p * p)) + 0.3 * jnp.sum(x * p) ** 2

    shape = (6,) * min(d, 2) + (1,) * max(d - 2, 0)
    rng = np.random.default_rng(d)
    x = jnp.asarray(rng.normal(size=shape + (d,)))
    pm, pp = (jnp.asarray(rng.normal(size=(d,) + shape)) for _ in range(2))
    dH = split_map(jax.grad(H, argnums=1), 2, d, shape, jnp.float64)
    xs = jnp.moveaxis(x, -1, 0)
    got = _box_max(lambda q: dH(xs, q), pm, pp)
    want = lf_alpha_local(jax.grad(H, argnums=1), x, pm, pp)
    assert np.allclose(got, want, rtol=1e-13, atol=1e-13)
