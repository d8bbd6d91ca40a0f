r"""Exact viscous solutions by the Cole–Hopf transform on periodic domains.

Viscous HJ :math:`u_t + \tfrac12|\nabla u|^2 = \nu\Delta u` becomes the heat equation
:math:`\varphi_t = \nu\Delta\varphi` for :math:`\varphi = e^{-u/(2\nu)}`, so
:math:`u = -2\nu\log\varphi`. Viscous Burgers :math:`v_t + v v_x = \nu v_{xx}` is the
gradient :math:`v = u_x` of the HJ solution with :math:`u_0 = U_0`, :math:`U_0' = v_0`,
hence :math:`v = -2\nu\,\varphi_x/\varphi`.

Two independent evaluations:

* ``fft``: :math:`\hat\varphi_k(t) = \hat\varphi_k(0)\,e^{-\nu|k|^2 t}` on a periodic grid,
  with the exponent shifted by its minimum before exponentiating. Accurate while
  :math:`\operatorname{osc}(U_0)/(2\nu)` is moderate (≲ 12), since relative precision of
  small :math:`\varphi` is lost.
* ``quadrature``: the heat kernel on the line applied to the periodic data, in log space,
  :math:`\log\varphi(x,t) = \log\frac{h}{\sqrt{4\pi\nu t}}\sum_j
  \exp\!\big(-[U_0(y_j) + |x - y_j|^2/(2t)]/(2\nu)\big)` over the unwrapped periodic images
  (trapezoid rule, spectrally accurate when ``h`` resolves the Gaussian width; logsumexp
  keeps it stable down to ν ~ 1e-3). For Burgers,
  :math:`v = (x - \langle y\rangle)/t = \langle w(y)\rangle` with the same weights.

A non-zero mean ``m`` of the Burgers data is removed by the Galilean shift
``v(x,t) = m + v_w(x - m t, t)``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from ..errors import QShockInputError
from ._common import bucket, map_blocks, pad_to_bucket, periodic_primitive

__all__ = ["cole_hopf_burgers_1d", "cole_hopf_hj_torus", "burgers_sin_bessel", "hj_cos_bessel"]

_FFT_OSC_LIMIT = 12.0  # fft loses ~1e-16 * exp(osc/(2 nu)) relative precision in phi


def _check(t, nu):
    t, nu = float(t), float(nu)
    if not math.isfinite(t) or t < 0:
        raise QShockInputError(f"time t must be finite and >= 0, got {t}")
    if not math.isfinite(nu) or nu <= 0:
        raise QShockInputError(f"viscosity nu must be finite and > 0 for Cole–Hopf, got {nu}")
    return t, nu


def _pow2(n: float) -> int:
    return 1 << max(4, int(math.ceil(math.log2(max(n, 16)))))


# ---------------------------------------------------------------------------------------- 1-D
@jax.jit
def _fft_burgers_1d(W, x, t, nu, period):
    return map_blocks(lambda xb: _fft_burgers_block(W, xb, t, nu, period), x)


def _fft_burgers_block(W, x, t, nu, period):
    n = W.shape[0]
    k = 2 * jnp.pi * jnp.fft.fftfreq(n, d=period / n)
    phi0 = jnp.exp(-(W - jnp.min(W)) / (2 * nu))
    coef = jnp.fft.fft(phi0) * jnp.exp(-nu * k**2 * t) / n
    if n % 2 == 0:  # symmetric treatment of the Nyquist mode keeps the interpolant real
        coef = coef.at[n // 2].multiply(0.5)
        k = jnp.concatenate([k, -k[n // 2: n // 2 + 1]])
        coef = jnp.concatenate([coef, coef[n // 2: n // 2 + 1]])
    e = jnp.exp(1j * x[:, None] * k[None, :])
    phi = jnp.real(e @ coef)
    phix = jnp.real(e @ (1j * k * coef))
    return -2 * nu * phix / phi, -2 * nu * jnp.log(phi) + jnp.min(W)


@partial(jax.jit, static_argnames=("n_window",))
def _quad_1d(W, w, h, x, t, nu, reach, n_window):
    """Log-space heat-kernel quadrature: returns (<w>, -2 nu log phi)."""
    return map_blocks(lambda xb: _quad_1d_block(W, w, h, xb, t, nu, reach, n_window), x)


def _quad_1d_block(W, w, h, x, t, nu, reach, n_window):
    n = W.shape[0]
    j0 = jnp.floor((x - reach) / h).astype(jnp.int32)
    idx = j0[:, None] + jnp.arange(n_window, dtype=jnp.int32)[None, :]
    y = idx.astype(x.dtype) * h
    jj = jnp.mod(idx, n)
    expo = -(W[jj] + (x[:, None] - y) ** 2 / (2 * t)) / (2 * nu)
    lse = logsumexp(expo, axis=1)
    weights = jnp.exp(expo - lse[:, None])
    mean_w = jnp.sum(weights * w[jj], axis=1)
    logphi = lse + jnp.log(h / jnp.sqrt(4 * jnp.pi * nu * t))
    return mean_w, -2 * nu * logphi


def _quadrature_grid_size(prim_dw_max, t, nu, period, n_min):
    curv = 1.0 / t + max(prim_dw_max, 0.0)
    sigma = math.sqrt(2 * nu / curv)
    return max(n_min, _pow2(period / (sigma / 5.0)))


def cole_hopf_burgers_1d(
    u0: Callable,
    x,
    t: float,
    nu: float,
    period: float = 2 * np.pi,
    *,
    potential: bool = False,
    method: str = "auto",
    n_grid: int = 1024,
):
    r"""Viscous Burgers :math:`u_t + u u_x = \nu u_{xx}` on a ``period``-torus, exact by Cole–Hopf.

    :math:`u = m - 2\nu\,\partial_x\log\varphi(x - m t, t)`, :math:`\varphi_t = \nu\varphi_{xx}`,
    :math:`\varphi(\cdot,0) = e^{-W/(2\nu)}` with ``W`` the periodic primitive of ``u0 - m``.

    Args:
        u0: elementwise jax-traceable callable; the velocity, or with ``potential=True``
            the periodic potential ``U0`` (velocity ``U0'``, mean 0).
        x: evaluation points (any shape; arbitrary positions).
        t, nu: time ``>= 0`` and viscosity ``> 0`` (Python floats).
        method: ``"fft"`` (heat equation by FFT, Fourier-interpolated at ``x``),
            ``"quadrature"`` (log-space heat-kernel quadrature; stable for small ν) or
            ``"auto"`` (fft if ``osc(W)/(2ν) <= 12``).
        n_grid: grid points per period (quadrature raises it to resolve the kernel width).
    """
    t, nu = _check(t, nu)
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if t == 0.0:
        return jax.grad(lambda s: jnp.sum(u0(s)))(x) if potential else u0(x)
    period = float(period)
    prim = periodic_primitive(u0, period, int(n_grid), potential=potential)
    osc = float(jnp.max(prim.W) - jnp.min(prim.W))
    if method == "auto":
        method = "fft" if osc / (2 * nu) <= _FFT_OSC_LIMIT else "quadrature"
    xs = (x - prim.mean * t).reshape(-1)
    npts = xs.shape[0]
    xs = pad_to_bucket(xs, minimum=512)
    if method == "fft":
        u, _ = _fft_burgers_1d(prim.W, xs, t, nu, period)
    elif method == "quadrature":
        n = _quadrature_grid_size(float(jnp.max(prim.dw)), t, nu, period, int(n_grid))
        if n != prim.W.shape[0]:
            prim = periodic_primitive(u0, period, n, potential=potential)
        reach = math.sqrt(2 * t * (osc + 80 * nu)) + 2 * prim.h
        n_window = bucket(int(2 * math.ceil(reach / prim.h) + 4), 1024)
        u, _ = _quad_1d(prim.W, prim.w, prim.h, xs, t, nu, reach, n_window)
    else:
        raise QShockInputError(f"unknown Cole–Hopf method {method!r}; expected auto, fft or quadrature")
    return (prim.mean + u[:npts]).reshape(x.shape)


# ---------------------------------------------------------------------------------------- N-D HJ
def _centres(shape, lengths, lower, refine=1):
    return [lo + (jnp.arange(n * refine) + 0.5) * (L / (n * refine)) for n, L, lo in zip(shape, lengths, lower)]


def _heat_coefficients(V, t, nu, lengths):
    """Fourier coefficients of phi(t) = e^{nu t Delta} exp(-(V - min V)/(2 nu)) and the wavenumbers."""
    shift = jnp.min(V)
    phi0 = jnp.exp(-(V - shift) / (2 * nu))
    ks = [2 * jnp.pi * jnp.fft.fftfreq(n, d=lengths[a] / n) for a, n in enumerate(V.shape)]
    k2 = sum((k**2).reshape([-1 if b == a else 1 for b in range(V.ndim)]) for a, k in enumerate(ks))
    return jnp.fft.fftn(phi0) * jnp.exp(-nu * k2 * t), ks, shift


@jax.jit
def _fft_hj(V, t, nu, lengths):
    """u and grad u at the grid nodes."""
    c, ks, shift = _heat_coefficients(V, t, nu, lengths)
    phi = jnp.real(jnp.fft.ifftn(c))
    grads = []
    for a, k in enumerate(ks):
        ka = k.reshape([-1 if b == a else 1 for b in range(V.ndim)])
        grads.append(-2 * nu * jnp.real(jnp.fft.ifftn(1j * ka * c)) / phi)
    return -2 * nu * jnp.log(phi) + shift, jnp.stack(grads, -1)


@partial(jax.jit, static_argnames=("chunk",))
def _fft_hj_points(V, t, nu, lengths, origin, pts, chunk):
    """u and grad u at arbitrary points by the Fourier series of phi (odd grid sizes: no Nyquist mode)."""
    c, ks, shift = _heat_coefficients(V, t, nu, lengths)
    c = c / V.size
    d = V.ndim

    def one(x):  # x: (d,)
        xr = x - origin
        facs = [jnp.exp(1j * k * xr[a]) for a, k in enumerate(ks)]

        def contract(factors):
            T = c
            for f in factors:  # sum over the leading axis each time
                T = jnp.tensordot(f, T, axes=(0, 0))
            return jnp.real(T)

        phi = contract(facs)
        grad = jnp.stack([contract([1j * ks[a] * f if b == a else f for b, f in enumerate(facs)]) for a in range(d)])
        return -2 * nu * jnp.log(phi) + shift, -2 * nu * grad / phi

    return jax.lax.map(one, pts, batch_size=chunk)


@partial(jax.jit, static_argnames=("n_window", "chunk"))
def _quad_hj(V, pts, t, nu, hs, reaches, n_window, chunk):
    """Log-space heat-kernel quadrature at points (relative to the box corner): u and grad u = (x - <y>)/t."""
    d = V.ndim
    offs = jnp.stack(jnp.meshgrid(*[jnp.arange(k, dtype=jnp.int32) for k in n_window], indexing="ij"), -1).reshape(-1, d)
    shape = jnp.asarray(V.shape, jnp.int32)

    def one(x):  # x: (d,) -- cell-centre quadrature nodes y_j = (j + 1/2) h
        j0 = jnp.floor((x - reaches) / hs - 0.5).astype(jnp.int32)
        idx = j0 + offs
        y = (idx.astype(x.dtype) + 0.5) * hs
        vals = V[tuple(jnp.mod(idx[:, a], shape[a]) for a in range(d))]
        expo = -(vals + jnp.sum((x - y) ** 2, axis=-1) / (2 * t)) / (2 * nu)
        lse = logsumexp(expo)
        weights = jnp.exp(expo - lse)
        logphi = lse + jnp.sum(jnp.log(hs / jnp.sqrt(4 * jnp.pi * nu * t)))
        grad = jnp.sum(weights[:, None] * (x - y), axis=0) / t
        return -2 * nu * logphi, grad

    return jax.lax.map(one, pts, batch_size=chunk)


def cole_hopf_hj_torus(
    u0: Callable,
    grid_shape: Sequence[int],
    lengths: Sequence[float],
    t: float,
    nu: float,
    *,
    lower: Sequence[float] | None = None,
    method: str = "auto",
    oversample: int = 1,
    quad_points: int | None = None,
    points=None,
    return_gradient: bool = False,
):
    r"""Viscous HJ :math:`u_t + \tfrac12|\nabla u|^2 = \nu\Delta u` on a flat torus, exact by Cole–Hopf.

    :math:`u = -2\nu\log\varphi`, :math:`\varphi_t = \nu\Delta\varphi`,
    :math:`\varphi_0 = e^{-u_0/(2\nu)}`; the gradient :math:`v = \nabla u = -2\nu\nabla\varphi/\varphi`
    solves the N-D viscous Burgers equation :math:`v_t + \nabla(|v|^2/2) = \nu\Delta v`.

    Returns ``u`` at the cell centres ``lower + (i + 1/2) L/N`` of the grid ``grid_shape``
    (as :class:`solver.Grid`), or at ``points`` if given.

    Args:
        u0: callable of ``d`` coordinate arrays (``u0(x)``, ``u0(x, y)``), periodic with
            periods ``lengths`` on the box starting at ``lower`` (default 0).
        method: ``"fft"`` (on the grid refined ``oversample`` times: odd factors keep the
            centres, even ones use the Fourier series at the centres), ``"quadrature"`` (log-space heat kernel with periodic images on a
            grid of ``quad_points`` per axis; stable for small ν), or ``"auto"`` (fft while
            ``osc(u0)/(2ν) <= 12``).
        points: optional evaluation points ``(..., d)`` (for ``d = 1`` also ``(n,)``);
            the fft method then sums the Fourier series of φ there (grid made odd-sized).
        return_gradient: also return :math:`\nabla u` with a trailing axis of length ``d``.
    """
    t, nu = _check(t, nu)
    shape = tuple(int(n) for n in grid_shape)
    lengths = tuple(float(L) for L in lengths)
    d = len(shape)
    lower = tuple(0.0 for _ in range(d)) if lower is None else tuple(float(v) for v in lower)
    if len(lengths) != d or len(lower) != d:
        raise QShockInputError(f"grid_shape has {d} axes but lengths/lower have {len(lengths)}/{len(lower)}")
    if int(oversample) != oversample or oversample < 1:
        raise QShockInputError(f"oversample must be an integer >= 1, got {oversample}")
    pts, out_shape = _evaluation_points(shape, lengths, lower, points)

    def finish(u, g):
        u = u.reshape(out_shape)
        return (u, g.reshape(out_shape + (d,))) if return_gradient else u

    if t == 0.0:
        f = lambda p: u0(*[p[a] for a in range(d)])  # noqa: E731
        return finish(jax.vmap(f)(pts), jax.vmap(jax.grad(f))(pts))
    r = int(oversample)
    fine_shape = [n * r for n in shape]
    # even refinement: fine centres miss the coarse ones, so sum the Fourier series there
    at_points = points is not None or r % 2 == 0
    if at_points:
        fine_shape = [n + 1 - n % 2 for n in fine_shape]  # odd: the Fourier interpolant is real
    V = u0(*jnp.meshgrid(*_centres(fine_shape, lengths, lower), indexing="ij")) * jnp.ones(fine_shape)
    if method == "auto":
        method = "fft" if float(jnp.max(V) - jnp.min(V)) / (2 * nu) <= _FFT_OSC_LIMIT else "quadrature"
    if method == "fft":
        L = jnp.asarray(lengths)
        if not at_points:
            u, g = _fft_hj(V, t, nu, L)
            sl = tuple(slice((r - 1) // 2, None, r) for _ in range(d))
            return finish(u[sl], g[sl])
        origin = jnp.asarray([lo + 0.5 * Lx / n for lo, Lx, n in zip(lower, lengths, fine_shape)])
        return finish(*_fft_hj_points(V, t, nu, L, origin, pts, 64))
    if method != "quadrature":
        raise QShockInputError(f"unknown Cole–Hopf method {method!r}; expected auto, fft or quadrature")
    return finish(*_quadrature_hj_torus(u0, V, pts, t, nu, lengths, lower, quad_points))


def _evaluation_points(shape, lengths, lower, points):
    """``(points (n, d), output shape)``: the cell centres of ``shape``, or the given ``points``."""
    d = len(shape)
    if points is None:
        pts = jnp.stack([c.reshape(-1) for c in jnp.meshgrid(*_centres(shape, lengths, lower), indexing="ij")], -1)
        return pts, shape
    pts = jnp.asarray(points, dtype=jnp.result_type(float))
    if d == 1 and (pts.ndim == 1 or pts.shape[-1] != 1):
        pts = pts[..., None]
    if pts.shape[-1] != d:
        raise QShockInputError(f"points have dimension {pts.shape[-1]} but the torus has {d}")
    return pts.reshape(-1, d), pts.shape[:-1]


def _quadrature_hj_torus(u0, V, pts, t, nu, lengths, lower, quad_points):
    r"""Log-space heat-kernel quadrature with periodic images at ``pts``: ``(u, ∇u)``.

    The quadrature grid (per axis ``quad_points``, default from the kernel width
    :math:`\sigma = \sqrt{2\nu/(1/t + 1.2\,\kappa)}`, κ a bound on the largest Hessian eigenvalue of
    ``u0`` from second differences of the samples ``V``) resolves the kernel; the window reaches
    :math:`\sqrt{2t(\mathrm{osc}\,u_0 + 80\nu)}`.
    """
    d = len(lengths)
    curv = 0.0
    for a in range(d):
        h_a = lengths[a] / V.shape[a]
        d2 = (jnp.roll(V, -1, a) - 2 * V + jnp.roll(V, 1, a)) / h_a**2
        curv += max(float(jnp.max(d2)), 0.0)
    sigma = math.sqrt(2 * nu / (1.0 / t + 1.2 * curv))
    nq = [quad_points or max(64, min(2048, _pow2(L / (sigma / 4)))) for L in lengths]
    yq = jnp.meshgrid(*[lo + (jnp.arange(n) + 0.5) * (L / n) for n, L, lo in zip(nq, lengths, lower)], indexing="ij")
    Vq = u0(*yq) * jnp.ones(nq)
    oscq = float(jnp.max(Vq) - jnp.min(Vq))
    hs = np.array([L / n for L, n in zip(lengths, nq)])
    reach = math.sqrt(2 * t * (oscq + 80 * nu))
    reaches = np.full(d, reach) + 2 * hs
    n_window = tuple(int(2 * math.ceil(reach / h) + 6) for h in hs)
    npts = pts.shape[0]
    rel = pad_to_bucket(pts - jnp.asarray(lower), minimum=64)
    u, g = _quad_hj(Vq, rel, t, nu, jnp.asarray(hs), jnp.asarray(reaches), n_window, 64)
    return u[:npts], g[:npts]


# ---------------------------------------------------------------------------------------- Bessel series
def _bessel_terms(a: float, nu: float, t: float, kmax: int | None):
    from scipy.special import ive

    if kmax is None:
        kmax = int(60 + 4 * a)
    k = np.arange(1, kmax + 1)
    c0 = ive(0, a)
    ck = 2 * ive(k, a) * np.exp(-nu * k.astype(float) ** 2 * t)
    return c0, k, ck


def burgers_sin_bessel(x, t: float, nu: float, kmax: int | None = None):
    r"""Viscous Burgers with :math:`u_0 = \sin x` on :math:`[0, 2\pi)` by the Bessel series.

    :math:`\varphi_0 = e^{-(1-\cos x)/(2\nu)} = e^{-a}\,[I_0(a) + 2\sum_{k\ge1} I_k(a)\cos kx]`,
    :math:`a = 1/(2\nu)`, so (with scaled Bessel functions :math:`\tilde I_k = e^{-a}I_k`)
    :math:`u = 2\nu\,\frac{2\sum_k k\,\tilde I_k(a)e^{-\nu k^2 t}\sin kx}
    {\tilde I_0(a) + 2\sum_k \tilde I_k(a)e^{-\nu k^2 t}\cos kx}`.
    Independent of the FFT/quadrature paths; accurate for ν ≳ 0.05.
    """
    t, nu = _check(t, nu)
    a = 1.0 / (2 * nu)
    c0, k, ck = _bessel_terms(a, nu, t, kmax)
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    kx = x[..., None] * jnp.asarray(k, x.dtype)
    num = jnp.sum(jnp.asarray(k * ck) * jnp.sin(kx), axis=-1)
    den = c0 + jnp.sum(jnp.asarray(ck) * jnp.cos(kx), axis=-1)
    return 2 * nu * num / den


def hj_cos_bessel(x, t: float, nu: float, amplitude: float = 1.0, kmax: int | None = None):
    r"""Viscous HJ :math:`u_t + \tfrac12 u_x^2 = \nu u_{xx}`, :math:`u_0 = A\cos x`, by the Bessel series.

    :math:`e^{-A\cos x/(2\nu)} = e^{a}[\tilde I_0(a) + 2\sum_k (-1)^k\tilde I_k(a)\cos kx]`,
    :math:`a = |A|/(2\nu)` (sign of ``A`` flips the ``(-1)^k``), hence
    :math:`u = -2\nu\log[\tilde I_0 + 2\sum_k (\mp1)^k\tilde I_k e^{-\nu k^2 t}\cos kx] - |A|`.
    """
    t, nu = _check(t, nu)
    A = float(amplitude)
    a = abs(A) / (2 * nu)
    c0, k, ck = _bessel_terms(a, nu, t, kmax)
    if A > 0:
        ck = ck * (-1.0) ** k
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    s = c0 + jnp.sum(jnp.asarray(ck) * jnp.cos(x[..., None] * jnp.asarray(k, x.dtype)), axis=-1)
    return -2 * nu * jnp.log(s) - abs(A)
