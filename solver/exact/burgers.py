r"""Exact solutions of the inviscid Burgers equation :math:`u_t + (u^2/2)_x = 0`.

* :func:`lax_oleinik_burgers`: the entropy solution for smooth periodic data, before and
  after shocks, from the Lax–Oleinik formula
  :math:`u(x,t) = (x - y^*)/t`, :math:`y^* = \arg\min_y \{U_0(y) + (x-y)^2/(2t)\}`,
  :math:`U_0' = u_0`.
* :func:`burgers_characteristic_solution`: the classical solution for ``t < t*`` from the
  characteristic equation :math:`x = y + t\,u_0(y)`, :math:`u = u_0(y)`.
* :func:`riemann_burgers`: shock or rarefaction for piecewise-constant data.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import QShockInputError
from ._common import (
    bucket, derivative, map_blocks, pad_to_bucket, periodic_primitive, primitive_at, safeguarded_newton, smallest_separated,
)

__all__ = ["lax_oleinik_burgers", "burgers_characteristic_solution", "riemann_burgers", "burgers_shock_time"]


def _check_time(t) -> float:
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise QShockInputError(f"time t must be finite and >= 0, got {t}")
    return t


def burgers_shock_time(u0: Callable, period: float = 2 * np.pi, n: int = 4096) -> float:
    r"""First shock time :math:`t^* = -1/\min_x u_0'(x)` of smooth periodic data (inf if ``u0' >= 0``)."""
    y = jnp.arange(n) * (period / n)
    d = derivative(u0, y)[1]
    # refine the sampled minimum of u0' by Newton on u0'' = 0
    i = int(jnp.argmin(d))
    z = y[i]
    for _ in range(30):
        d1 = lambda s: derivative(u0, s)[1]
        _, d2 = derivative(d1, z)
        _, d3 = derivative(lambda s: derivative(d1, s)[1], z)
        if not d3 > 0:
            break
        z = z - d2 / d3
    m = min(float(derivative(u0, z)[1]), float(d[i]))
    return math.inf if m >= 0 else -1.0 / m


@partial(jax.jit, static_argnames=("u0", "n_window", "n_candidates", "n_iter"))
def _lax_oleinik_kernel(u0, x, t, mean, W, h, reach, n_window, n_candidates, n_iter):
    return map_blocks(lambda xb: _lax_oleinik_block(u0, xb, t, mean, W, h, reach, n_window, n_candidates, n_iter), x)


def _lax_oleinik_block(u0, x, t, mean, W, h, reach, n_window, n_candidates, n_iter):
    n = W.shape[0]
    w = lambda y: u0(y) - mean
    j0 = jnp.floor((x - reach) / h).astype(jnp.int32) - 2
    idx = j0[:, None] + jnp.arange(n_window, dtype=jnp.int32)[None, :]
    y = idx.astype(x.dtype) * h
    F = W[jnp.mod(idx, n)] + (x[:, None] - y) ** 2 / (2 * t)
    # discrete local minima strictly inside the window are the candidates
    interior = (F[:, 1:-1] <= F[:, :-2]) & (F[:, 1:-1] <= F[:, 2:])
    Fi = jnp.where(interior, F[:, 1:-1], jnp.inf)
    cols = jnp.arange(Fi.shape[1])
    pos, Fc = smallest_separated(Fi, n_candidates, lambda i: jnp.abs(cols - i) > 2)
    valid = jnp.isfinite(Fc)
    yc = jnp.take_along_axis(y[:, 1:-1], pos, axis=1)
    xc = jnp.broadcast_to(x[:, None], yc.shape)

    def g(s):  # characteristic equation y + t w(y) - x = 0, increasing near a minimiser
        val, slope = derivative(w, s)
        return s + t * val - xc, 1.0 + t * slope

    ys = safeguarded_newton(g, yc - h, yc + h, yc, n_iter)
    Fs = primitive_at(u0, W, h, mean, ys) + (xc - ys) ** 2 / (2 * t)
    Fs = jnp.where(valid, Fs, jnp.inf)
    best = jnp.argmin(Fs, axis=1)
    ystar = jnp.take_along_axis(ys, best[:, None], axis=1)[:, 0]
    return u0(ystar), ystar


def lax_oleinik_burgers(
    u0: Callable,
    x,
    t: float,
    period: float = 2 * np.pi,
    n_quad: int = 2048,
    n_candidates: int = 3,
    return_foot: bool = False,
):
    r"""Entropy solution of :math:`u_t + (u^2/2)_x = 0` with smooth ``period``-periodic data ``u0``.

    Lax–Oleinik: :math:`u(x,t) = (x - y^*)/t` where :math:`y^*` minimises
    :math:`F(y) = U_0(y) + (x-y)^2/(2t)` over :math:`y \in \mathbb R`, :math:`U_0' = u_0`.
    The mean ``m`` of ``u0`` is removed first (Galilean shift: ``u0 = m + w`` gives
    ``u(x,t) = m + w_sol(x - m t, t)``) so that the primitive ``W`` of ``w`` is periodic.

    Algorithm: ``W`` on ``n_quad`` points per period by FFT; a dense search of ``F`` on the
    unwrapped window ``|x - y| <= t max|w|`` (where all minimisers lie, since
    ``x - y* = t w(y*)``); the ``n_candidates`` lowest discrete local minima are refined by
    safeguarded Newton on the characteristic equation :math:`y + t\,w(y) = x`; the refined
    candidate with the smallest exact ``F`` (``W`` to round-off by local Gauss–Legendre)
    wins, and ``u = m + w(y^*) = u_0(y^*)`` (equal to ``(x - y*)/t`` at a minimiser but free
    of cancellation for small ``t``). Accurate to ~1e-13 away from shocks.

    Args:
        u0: jax-traceable elementwise callable (arrays in, arrays out), ``period``-periodic.
        x: evaluation points (any shape).
        t: time ``>= 0`` (a Python float: it sets the search window size).
        return_foot: also return the foot ``y*`` of the characteristic (shifted back by ``m t``).
    """
    t = _check_time(t)
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if t == 0.0:
        out = u0(x)
        return (out, x) if return_foot else out
    prim = periodic_primitive(u0, float(period), int(n_quad))
    m, h = prim.mean, prim.h
    w_max = float(jnp.max(jnp.abs(prim.w)))
    reach = t * (1.02 * w_max + 1e-12) + 2 * h
    n_window = bucket(int(2 * math.ceil(reach / h) + 6), 2048)
    xs = (x - m * t).reshape(-1)
    u, foot = _lax_oleinik_kernel(u0, pad_to_bucket(xs, minimum=512), jnp.asarray(t, xs.dtype), m, prim.W, h, reach, n_window, int(n_candidates), 60)
    u = u[: xs.shape[0]].reshape(x.shape)
    if return_foot:
        return u, (foot[: xs.shape[0]] + m * t).reshape(x.shape)
    return u


@partial(jax.jit, static_argnames=("u0", "n_iter"))
def _characteristic_kernel(u0, x, t, lo, hi, n_iter):
    def g(s):
        val, slope = derivative(u0, s)
        return s + t * val - x, 1.0 + t * slope

    y = safeguarded_newton(g, lo, hi, jnp.clip(x - t * u0(x), lo, hi), n_iter)
    return u0(y)


def burgers_characteristic_solution(u0: Callable, x, t: float, u_bounds: tuple[float, float] | None = None):
    r"""Classical solution of :math:`u_t + u u_x = 0` for :math:`t < t^* = -1/\min u_0'`.

    Solves the characteristic equation :math:`y + t\,u_0(y) = x` for the foot ``y`` by
    safeguarded Newton in the bracket ``[x - t max u0, x - t min u0]`` (its left side is
    increasing in ``y`` for ``t < t*``, so the root is unique) and returns :math:`u_0(y)`.
    No periodicity is assumed. ``u_bounds = (min u0, max u0)`` defaults to a sample over
    ``[min x - 10, max x + 10]``.
    """
    t = _check_time(t)
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if t == 0.0:
        return u0(x)
    if u_bounds is None:
        s = jnp.linspace(jnp.min(x) - 10.0, jnp.max(x) + 10.0, 20001)
        v = u0(s)
        span = float(jnp.max(v) - jnp.min(v))
        u_bounds = (float(jnp.min(v)) - 0.01 * span - 1e-9, float(jnp.max(v)) + 0.01 * span + 1e-9)
    umin, umax = u_bounds
    flat = pad_to_bucket(x.reshape(-1), minimum=512)
    lo = flat - t * umax
    hi = flat - t * umin
    out = _characteristic_kernel(u0, flat, jnp.asarray(t, x.dtype), lo, hi, 80)
    return out[: x.size].reshape(x.shape)


def riemann_burgers(uL, uR, x, t, x0: float = 0.0):
    r"""Entropy solution of Burgers' Riemann problem ``u(x,0) = uL (x < x0), uR (x > x0)``.

    * ``uL > uR``: shock moving at the Rankine–Hugoniot speed :math:`s = (u_L + u_R)/2`
      (value ``s`` exactly on the shock);
    * ``uL <= uR``: rarefaction fan :math:`u = (x - x_0)/t` for
      :math:`u_L t < x - x_0 < u_R t` (transonic when ``uL < 0 < uR``: ``u(x0) = 0``).

    jit-able in all arguments; ``t = 0`` returns the initial data.
    """
    x = jnp.asarray(x)
    dtype = jnp.result_type(x, uL, uR, float)
    uL = jnp.asarray(uL, dtype)
    uR = jnp.asarray(uR, dtype)
    t = jnp.asarray(t, dtype)
    d = x - x0
    tpos = t > 0
    xi = d / jnp.where(tpos, t, 1.0)
    s = 0.5 * (uL + uR)
    shock = jnp.where(xi < s, uL, jnp.where(xi > s, uR, s))
    fan = jnp.clip(xi, uL, uR)
    moving = jnp.where(uL > uR, shock, fan)
    initial = jnp.where(d < 0, uL, jnp.where(d > 0, uR, 0.5 * (uL + uR)))
    return jnp.where(tpos, moving, initial)
