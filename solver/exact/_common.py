r"""Shared numerical helpers for the exact solutions.

* :func:`safeguarded_newton` solves an increasing scalar equation ``g(y) = 0`` elementwise
  inside a bracket (Newton steps, bisection when a step leaves the bracket).
* :func:`periodic_primitive` samples ``u0 = m + w`` on a uniform periodic grid and
  returns the mean ``m`` and the periodic primitive :math:`W(y) = \int^y w` of the zero-mean
  part, computed spectrally (``\hat W_k = \hat w_k / (i k)``).
* :func:`primitive_at` evaluates ``W`` at arbitrary points to round-off: nearest grid
  value plus a Gauss–Legendre quadrature of ``w`` over less than half a cell.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["safeguarded_newton", "derivative", "PeriodicPrimitive", "periodic_primitive", "primitive_at"]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)


def derivative(f: Callable, y: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``(f(y), f'(y))`` for an elementwise function ``f`` (forward-mode JVP with unit tangent)."""
    return jax.jvp(f, (y,), (jnp.ones_like(y),))


def safeguarded_newton(g: Callable, lo: jnp.ndarray, hi: jnp.ndarray, y0: jnp.ndarray, n_iter: int = 60):
    """Root of an increasing ``g`` in ``[lo, hi]`` by Newton with bisection fallback.

    ``g(y)`` returns ``(value, slope)`` elementwise. The bracket shrinks using the sign of
    ``g`` (``g < 0`` moves ``lo``), so the iteration cannot leave it; a fixed number of
    iterations keeps it jit-friendly (Newton converges quadratically well before that).
    """

    def body(_, state):
        y, lo, hi = state
        val, slope = g(y)
        lo = jnp.where(val < 0, y, lo)
        hi = jnp.where(val < 0, hi, y)
        step = val / jnp.where(slope > 0, slope, 1.0)
        y_new = y - step
        bad = (slope <= 0) | ~(y_new > lo) | ~(y_new < hi) | ~jnp.isfinite(y_new)
        y_new = jnp.where(bad, 0.5 * (lo + hi), y_new)
        y_new = jnp.where(val == 0, y, y_new)
        return y_new, lo, hi

    y, _, _ = jax.lax.fori_loop(0, n_iter, body, (y0, lo, hi))
    return y


class PeriodicPrimitive(NamedTuple):
    """Samples of ``u0`` on ``y_j = j h`` (``j < n``) split as ``u0 = mean + w``, with the primitive ``W``."""

    mean: float
    h: float
    period: float
    w: jnp.ndarray  # zero-mean part at the grid points
    W: jnp.ndarray  # periodic primitive of w at the grid points (zero mean)
    dw: jnp.ndarray  # w' at the grid points


def periodic_primitive(u0: Callable, period: float, n: int, potential: bool = False) -> PeriodicPrimitive:
    r"""Sample ``u0`` on ``n`` points of ``[0, period)`` and build :math:`W' = w = u_0 - \bar u_0`.

    With ``potential=True`` the callable is the periodic primitive itself (``W = u0``,
    ``w = u0'``, mean 0).
    """
    h = period / n
    y = jnp.arange(n, dtype=jnp.float64 if jax.config.jax_enable_x64 else jnp.float32) * h
    vals, d = derivative(u0, y)
    if potential:
        d2 = derivative(lambda s: derivative(u0, s)[1], y)[1]
        return PeriodicPrimitive(0.0, h, period, d, vals - jnp.mean(vals), d2)
    mean = float(jnp.mean(vals))
    w = vals - mean
    k = 2 * np.pi * np.fft.rfftfreq(n, d=h)
    w_hat = jnp.fft.rfft(w)
    safe_k = np.where(k == 0, 1.0, k)
    W_hat = jnp.where(k == 0, 0.0, w_hat / (1j * safe_k))
    if n % 2 == 0:  # Nyquist mode of a real signal has no well-defined primitive; drop it
        W_hat = W_hat.at[-1].set(0.0)
    W = jnp.fft.irfft(W_hat, n=n)
    return PeriodicPrimitive(mean, h, period, w, W, d)


def primitive_at(u0: Callable, prim_W: jnp.ndarray, h: float, mean: float, y: jnp.ndarray) -> jnp.ndarray:
    r""":math:`W(y) = W(y_j) + \int_{y_j}^{y} (u_0 - m)` with ``y_j`` the nearest grid point (12-point Gauss–Legendre)."""
    n = prim_W.shape[0]
    j = jnp.round(y / h)
    yj = j * h
    half = 0.5 * (y - yj)
    mid = 0.5 * (y + yj)
    nodes = jnp.asarray(_GL_NODES, dtype=y.dtype)
    weights = jnp.asarray(_GL_WEIGHTS, dtype=y.dtype)
    s = mid[..., None] + half[..., None] * nodes
    integral = half * jnp.sum(weights * (u0(s) - mean), axis=-1)
    return prim_W[jnp.mod(j.astype(jnp.int32), n)] + integral


def bucket(n: int, minimum: int = 8) -> int:
    """Next power of two >= ``n`` (array sizes are rounded up so that jit caches are reused)."""
    return max(minimum, 1 << max(0, int(n - 1).bit_length()))


def pad_to_bucket(a: jnp.ndarray, fill=None, minimum: int = 8) -> jnp.ndarray:
    """Pad a 1-D (or leading-axis) array to :func:`bucket` length with ``fill`` (default: its last row)."""
    n = a.shape[0]
    m = bucket(n, minimum)
    if m == n:
        return a
    tail = jnp.broadcast_to(a[-1:] if fill is None else jnp.asarray(fill, a.dtype), (m - n,) + a.shape[1:])
    return jnp.concatenate([a, tail], axis=0)


def smallest_separated(F: jnp.ndarray, k: int, far: Callable[[jnp.ndarray], jnp.ndarray]) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Indices and values of ``k`` small entries of ``F`` along its last axis, pairwise "far" apart.

    Pick the argmin, mask every entry that ``far(i)`` (a boolean mask over the last axis
    for chosen indices ``i[..., None]``) marks as near it, repeat. Cheaper than
    ``lax.top_k`` on CPU, and it returns one candidate per basin instead of neighbours.
    """
    idx, vals = [], []
    for _ in range(k):
        i = jnp.argmin(F, axis=-1)
        idx.append(i)
        vals.append(jnp.take_along_axis(F, i[..., None], axis=-1)[..., 0])
        F = jnp.where(far(i[..., None]), F, jnp.inf)
    return jnp.stack(idx, -1), jnp.stack(vals, -1)


def map_blocks(f: Callable, x: jnp.ndarray, block: int = 512):
    """Apply ``f`` to blocks of ``block`` rows of ``x`` (sequentially, bounding memory) and concatenate.

    ``x.shape[0]`` must be a multiple of ``block`` or smaller than it (see :func:`pad_to_bucket`).
    """
    n = x.shape[0]
    if n <= block:
        return f(x)
    out = jax.lax.map(f, x.reshape((n // block, block) + x.shape[1:]))
    return jax.tree_util.tree_map(lambda a: a.reshape((n,) + a.shape[2:]), out)
