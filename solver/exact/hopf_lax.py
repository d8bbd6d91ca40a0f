r"""Hopf–Lax formula for inviscid HJ :math:`u_t + \tfrac12|\nabla u|^2 = 0` in N-D.

:math:`u(x,t) = \min_y\{u_0(y) + |x-y|^2/(2t)\}` (the Moreau envelope of ``u0``) and
:math:`\nabla u(x,t) = (x - y^*)/t` at the minimiser :math:`y^*` (the proximal point).
The minimum is taken over supplied candidate points, then refined by damped Newton on
:math:`\nabla u_0(y) + (y - x)/t = 0` from the best few candidates.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from ..errors import QShockInputError
from ._common import pad_to_bucket, smallest_separated

__all__ = ["hopf_lax", "hopf_lax_periodic"]


def _refine(u0, x, y, t, n_iter):
    """Damped Newton on F(y) = u0(y) + |x-y|^2/(2t) for one point: accept only descent steps."""
    F = lambda z: u0(z) + jnp.sum((x - z) ** 2) / (2 * t)
    grad, hess = jax.grad(F), jax.hessian(F)

    def body(_, state):
        z, fz = state
        g, H = grad(z), hess(z)
        # Newton where F is locally convex (Cholesky succeeds), else a gradient step of size t
        L = jnp.linalg.cholesky(H)
        step = jax.scipy.linalg.cho_solve((L, True), g)
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, t * g)
        new_z, new_f = z, fz
        for damp in (0.25, 1.0):  # the largest descending step wins
            zn = z - damp * step
            fn = F(zn)
            ok = fn <= fz + 1e-14 * (1.0 + jnp.abs(fz))  # tolerance: F stalls at round-off before y does
            new_z, new_f = jnp.where(ok, zn, new_z), jnp.where(ok, fn, new_f)
        return new_z, new_f

    z, fz = jax.lax.fori_loop(0, n_iter, body, (y, F(y)))
    return z, fz


@partial(jax.jit, static_argnames=("u0", "n_candidates", "n_iter", "chunk"))
def _hopf_lax_kernel(u0, x, t, cands, vals, sep, n_candidates, n_iter, chunk):
    def one(xi):
        F = vals + jnp.sum((cands - xi) ** 2, axis=-1) / (2 * t)
        # best candidate of each of several basins: later picks lie > sep from earlier ones
        far = lambda i: jnp.sum((cands - cands[i[0]]) ** 2, axis=-1) > sep**2
        idx, _ = smallest_separated(F, n_candidates, far)
        if n_iter == 0:
            y = cands[idx[0]]
            return F[idx[0]], y
        ys, fs = jax.vmap(lambda y0: _refine(u0, xi, y0, t, n_iter))(cands[idx])
        b = jnp.argmin(fs)
        return fs[b], ys[b]

    return jax.lax.map(one, x, batch_size=chunk)


def hopf_lax(
    u0: Callable, x, t: float, search_points, *, refine: bool = True, n_candidates: int = 4, n_iter: int = 20,
    separation: float | None = None,
):
    r"""Hopf–Lax solution :math:`u(x,t) = \min_y\{u_0(y) + |x-y|^2/(2t)\}` and its gradient.

    Args:
        u0: single-point callable ``(d,) -> scalar`` (jax-traceable; twice differentiable
            if ``refine``).
        x: points of shape ``(..., d)`` (a 1-D array is read as ``d = 1`` points).
        t: time ``> 0``.
        search_points: candidate minimisers ``(m, d)``; must cover every minimiser (which
            satisfies ``|x - y*| <= t Lip(u0)``) densely enough to land in its basin.
        refine: Newton-refine the ``n_candidates`` best candidates (descent-safeguarded).
        separation: distinct candidates are at least this far apart (one per basin);
            default three typical spacings of the candidate cloud.

    Returns:
        ``(u, p)`` with ``u`` of shape ``x.shape[:-1]`` and ``p = (x - y*)/t`` of ``x``'s shape.
    """
    t = float(t)
    if not math.isfinite(t) or t <= 0:
        raise QShockInputError(f"Hopf–Lax needs a time t > 0, got {t}")
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    squeeze = x.ndim == 1
    if squeeze:
        x = x[:, None]
    cands = jnp.asarray(search_points, dtype=x.dtype)
    if cands.ndim == 1:
        cands = cands[:, None]
    if cands.shape[-1] != x.shape[-1]:
        raise QShockInputError(f"search points have dimension {cands.shape[-1]} but x has {x.shape[-1]}")
    vals = jax.vmap(u0)(cands)
    # pad to power-of-two sizes so repeated calls reuse the compiled kernel
    if separation is None:  # a few typical spacings of the candidate cloud
        span = jnp.max(cands, axis=0) - jnp.min(cands, axis=0)
        vol = float(jnp.prod(jnp.where(span > 0, span, 1.0)))
        separation = 3.0 * (vol / cands.shape[0]) ** (1.0 / cands.shape[-1])
    cands, vals = pad_to_bucket(cands), pad_to_bucket(vals, jnp.inf)
    flat = x.reshape(-1, x.shape[-1])
    npts = flat.shape[0]
    k = min(int(n_candidates), cands.shape[0])
    u, y = _hopf_lax_kernel(u0, pad_to_bucket(flat), jnp.asarray(t, x.dtype), cands, vals, float(separation), k, int(n_iter) if refine else 0, 64)
    u, y = u[:npts], y[:npts]
    p = (flat - y) / t
    u = u.reshape(x.shape[:-1])
    p = p.reshape(x.shape)
    if squeeze:
        p = p[..., 0]
    return u, p


def hopf_lax_periodic(u0: Callable, x, t: float, periods: Sequence[float], *, n_search: int | Sequence[int] = 256, **kw):
    r"""Hopf–Lax on a flat torus with periods ``L``: minimise over all images,
    :math:`u(x,t) = \min_{y\in\mathbb R^d}\{u_0(y) + |x-y|^2/(2t)\}` with periodic ``u0``.

    Candidates: a lattice of spacing ``L/n_search`` covering ``[lo - R, hi + R]`` around the
    evaluation points, ``R = t * Lip(u0)`` (Lipschitz constant sampled on one period,
    inflated by 5%). ``u0`` is a single-point callable ``(d,) -> scalar``. Returns ``(u, p)``
    as :func:`hopf_lax`.
    """
    periods = [float(L) for L in np.atleast_1d(periods)]
    d = len(periods)
    ns = [int(n) for n in np.broadcast_to(np.atleast_1d(n_search), (d,))]
    xa = jnp.asarray(x, dtype=jnp.result_type(float))
    xs = xa[:, None] if (d == 1 and xa.ndim == 1) else xa
    hs = [L / n for L, n in zip(periods, ns)]
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n) * h for n, h in zip(ns, hs)], indexing="ij"), -1).reshape(-1, d)
    lip = float(jnp.max(jnp.linalg.norm(jax.vmap(jax.grad(u0))(grid), axis=-1)))
    R = 1.05 * float(t) * lip + 2 * max(hs)
    flat = xs.reshape(-1, d)
    axes = []
    for a in range(d):
        lo = float(jnp.min(flat[:, a])) - R
        hi = float(jnp.max(flat[:, a])) + R
        axes.append(jnp.arange(math.floor(lo / hs[a]), math.ceil(hi / hs[a]) + 1) * hs[a])
    cands = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)
    return hopf_lax(u0, x, t, cands, **kw)
