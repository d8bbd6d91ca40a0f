"""S²: Laplace–Beltrami eigenfunctions and the exact viscous HJ solution, in both charts."""

from __future__ import annotations

import math
from math import comb

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import legendre as npleg
from numpy.polynomial import polynomial as nppoly
from scipy.special import sph_harm_y

import qshock.manifolds as M

LMAX = 6


def _harmonic_tensor(l, m, kind):
    """Coefficients T[a, b, c] of x^a y^b z^c for Re/Im((x+iy)^m) · P_l^{(m)}(z) (a real Y_lm up to a constant)."""
    T = np.zeros((LMAX + 1,) * 3)
    pz = nppoly.polyder(npleg.leg2poly(np.eye(l + 1)[l]), m) if m <= l else np.zeros(1)
    for j in range(m + 1):  # (x + i y)^m = Σ_j C(m, j) x^{m-j} (i y)^j
        re, im = [(1, 0), (0, 1), (-1, 0), (0, -1)][j % 4]
        coef = comb(m, j) * (re if kind == "cos" else im)
        if coef == 0:
            continue
        for c, pc in enumerate(pz):
            T[m - j, j, c] += coef * pc
    return T


HARMONICS = [(l, m, kind) for l in range(LMAX + 1) for m in range(l + 1) for kind in (("cos",) if m == 0 else ("cos", "sin"))]
TENSORS = np.array([_harmonic_tensor(*h) for h in HARMONICS])
EIGEN = np.array([l * (l + 1) for l, _, _ in HARMONICS], dtype=float)
POW = np.arange(LMAX + 1)


def _poly(T, X):
    px, py, pz = (X[i] ** POW for i in range(3))
    return jnp.einsum("abc,a,b,c->", T, px, py, pz)


def _points(chart, k=12, seed=0):
    rng = np.random.default_rng(seed)
    th = rng.uniform(0.3, math.pi - 0.3, k)
    ph = rng.uniform(0, 2 * math.pi, k)
    x = np.stack([th, ph], 1)
    if chart == "stereographic":
        x = np.array([np.asarray(M.Sphere(3, "stereographic").from_embedding(M.Sphere(3).to_embedding(p))) for p in x])
    return jnp.asarray(x), th, ph


def test_harmonic_tensors_are_spherical_harmonics():
    """Our polynomials equal Re/Im of scipy's Y_lm up to one constant per (l, m)."""
    _, th, ph = _points("spherical")
    s2 = M.Sphere(3)
    X = np.array([np.asarray(s2.to_embedding(jnp.array([a, b]))) for a, b in zip(th, ph)])
    for T, (l, m, kind) in zip(TENSORS, HARMONICS):
        ours = np.array([float(_poly(jnp.asarray(T), jnp.asarray(x))) for x in X])
        y = sph_harm_y(l, m, th, ph)
        ref = y.real if kind == "cos" else y.imag
        ratio = ref / ours
        assert np.ptp(ratio) <= 1e-10 * np.abs(ratio).max()


@pytest.mark.parametrize("chart", ["spherical", "stereographic"])
def test_laplace_beltrami_spherical_harmonics(chart):
    """Δ_g Y_lm = −l(l+1) Y_lm pointwise for l ≤ 6 (autodiff), in the given chart, to 1e-9."""
    s2 = M.Sphere(3, chart)
    x, _, _ = _points(chart)

    @jax.jit
    def residual(T, p):
        f = lambda q: _poly(T, s2.to_embedding(q))  # noqa: E731
        return s2.laplace_beltrami(f, p), f(p)

    lap, val = jax.vmap(jax.vmap(residual, (None, 0)), (0, None))(jnp.asarray(TENSORS), x)
    lap, val = np.asarray(lap), np.asarray(val)
    scale = np.abs(val).max(axis=1, keepdims=True)  # normalise each harmonic to max |Y| = 1
    err = np.abs(lap + EIGEN[:, None] * val) / scale
    assert err.max() <= 1e-9, err.max()
    # multiplicities: 2l+1 eigenfunctions per l
    assert [sum(1 for h in HARMONICS if h[0] == l) for l in range(LMAX + 1)] == [2 * l + 1 for l in range(LMAX + 1)]


@pytest.mark.parametrize("chart", ["spherical", "stereographic"])
def test_exact_viscous_hj_residual(chart):
    """u = −2ν log(1 + ε e^{−2νt} x₁) solves u_t + ½|∇u|²_g = νΔ_g u pointwise (residual ≤ 1e-10)."""
    nu, eps = 0.1, 0.5
    s2 = M.Sphere(3, chart)
    x, _, _ = _points(chart, seed=1)

    @jax.jit
    @jax.vmap
    def residual(p):
        out = []
        for t in (0.0, 0.7, 2.0):
            u = lambda q, s: M.sphere_hj_exact(q, s, nu, eps, chart)  # noqa: E731
            ut = jax.grad(u, argnums=1)(p, t)
            H = s2.hamiltonian(p, jax.grad(u)(p, t))
            lap = s2.laplace_beltrami(lambda q: u(q, t), p)
            out.append(ut + H - nu * lap)
        return jnp.stack(out)

    res = np.asarray(residual(x))
    assert np.abs(res).max() <= 1e-10
    # and the exact solution is non-trivial at these points
    u0 = np.asarray(jax.vmap(lambda p: M.sphere_hj_exact(p, 0.0, nu, eps, chart))(x))
    assert np.abs(u0).max() > 0.05
