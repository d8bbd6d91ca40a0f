r"""Metric factors of an orthogonal chart on a grid, evaluated once per solve.

For a diagonal metric :math:`g = \mathrm{diag}(g_{11}, \dots, g_{dd})` the Laplace–Beltrami
operator splits by axis,

.. math:: \Delta_g u = \frac{1}{\sqrt G}\sum_a \partial_a\big(\sqrt G\, g^{aa}\,\partial_a u\big),

so the finite-volume viscous term needs :math:`W_a = \sqrt G g^{aa}` at the faces normal to
axis ``a`` and, per cell, one over the cell mean of :math:`\sqrt G` (the cell's Riemannian
volume divided by its coordinate volume, by Gauss–Legendre quadrature: exact volumes keep
second order next to poles and cone tips); the Hamiltonian needs :math:`g^{aa}` at centres.
Faces where :math:`\sqrt G = 0` (poles, cone tips) carry no flux.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .errors import QShockInputError
from .grid import Grid

__all__ = ["ChartFactors", "chart_factors"]


class ChartFactors(NamedTuple):
    inv_metric_centres: jnp.ndarray  # (d, *shape): g^{aa} at centres
    inv_sqrt_det_centres: jnp.ndarray  # (*shape): 1 / (cell mean of sqrt(G)) (the cell's Riemannian volume / |C_i|)
    face_weights: tuple  # per axis: sqrt(G) g^{aa} at faces, shape with N_a + 1 along a
    metric_centres: jnp.ndarray  # (d, *shape): g_aa at centres
    metric_faces: tuple  # per axis: g_aa at faces normal to a
    weighted: bool = False  # density is a weight other than sqrt(det g) (e.g. r^{n-1} on R^n/O(n))
    face_weights_ext: tuple = ()  # per axis: W at faces -1..N+1 (smooth extension; 4th-order viscous term)
    inv_sqrt_det_points: Any = None  # (*shape): 1 / sqrt(G) at the centres (point values; 4th order)


def _batched(fn, flat):
    """``vmap(fn)`` over the rows of ``flat``, compiled (op-by-op dispatch of a vmapped chart
    function costs seconds on a loaded machine)."""
    return jax.jit(jax.vmap(fn))(jnp.asarray(flat))


def _face_points(grid: Grid, axis: int) -> jnp.ndarray:
    axes = [grid.centres(a) for a in range(grid.ndim)]
    axes[axis] = grid.faces(axis)
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"), axis=-1)


def _diag_metric(manifold: Any, pts: jnp.ndarray, what: str) -> jnp.ndarray:
    flat = pts.reshape(-1, pts.shape[-1])
    g = _batched(manifold.metric, flat)
    d = pts.shape[-1]
    if g.shape[1:] != (d, d):
        raise QShockInputError(
            f"the manifold's metric is {g.shape[1]}x{g.shape[2]} but the grid has {d} axes")
    g = np.asarray(g)
    off = g - np.einsum("nii->ni", g)[:, :, None] * np.eye(d)
    if np.max(np.abs(off), initial=0.0) > 1e-12 * max(1.0, float(np.max(np.abs(g)))):
        raise QShockInputError("the finite-volume solver needs an orthogonal chart (diagonal metric)")
    diag = np.einsum("nii->ni", g)
    if not np.all(np.isfinite(diag)):
        raise QShockInputError(f"the metric is not finite at some {what} of the grid")
    return diag.reshape(pts.shape[:-1] + (d,))


def _diag_metric_faces(manifold: Any, pts: jnp.ndarray) -> np.ndarray:
    """Diagonal metric on faces; faces on the singular set may give 0 or non-finite values."""
    flat = pts.reshape(-1, pts.shape[-1])
    g = np.asarray(_batched(manifold.metric, flat))
    return np.einsum("nii->ni", g).reshape(pts.shape[:-1] + (pts.shape[-1],))


def _density(manifold: Any, pts: jnp.ndarray, g_diag: np.ndarray) -> np.ndarray:
    """Riemannian volume density √G, or the manifold's own weight (e.g. r^{n-1} on R^n/O(n))."""
    if hasattr(manifold, "volume_density"):
        flat = pts.reshape(-1, pts.shape[-1])
        with np.errstate(all="ignore"):
            rho = np.asarray(_batched(manifold.volume_density, flat)).reshape(pts.shape[:-1])
        return np.where(np.isfinite(rho), rho, 0.0)
    return np.sqrt(np.clip(np.prod(g_diag, axis=-1), 0.0, None))


def _cell_mean_density(manifold: Any, grid: Grid, order: int = 3) -> np.ndarray:
    """Cell means of the density, (1/|C_i|)∫_{C_i} √G dx, by tensor Gauss–Legendre (exact for degree 2·order−1).

    The finite-volume balance of cell i divides the face fluxes by the cell's Riemannian volume;
    √G at the centre instead is off by O(h²/r²) near a cone tip or pole, an O(1) error in the
    first cells of e.g. the radial quotient with weight r² (first-order convergence there).
    """
    gx, _ = np.polynomial.legendre.leggauss(order)
    _, gw = np.polynomial.legendre.leggauss(order)
    d = grid.ndim
    axes = []
    for a in range(d):
        c = np.asarray(grid.centres(a), dtype=float)
        axes.append((c[:, None] + 0.5 * grid.dx[a] * gx[None, :]).ravel())
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    g = None if hasattr(manifold, "volume_density") else _diag_metric_faces(manifold, jnp.asarray(pts))
    rho = _density(manifold, jnp.asarray(pts), g)
    w = 0.5 * gw
    for a in reversed(range(d)):
        shp = rho.shape[:a] + (grid.shape[a], order) + rho.shape[a + 1:]
        rho = np.tensordot(rho.reshape(shp), w, axes=([a + 1], [0]))
    return rho


_CACHE: dict = {}


def chart_factors(manifold: Any, grid: Grid, dtype=None) -> ChartFactors:
    """Chart factors of ``manifold`` on the cells of ``grid`` (see :func:`_chart_factors`), memoised per
    (manifold, box, shape, dtype) for hashable manifolds: a solve and its IMEX propagator share them."""
    dtype = dtype or jnp.result_type(float)
    try:
        key = (manifold, grid.lower, grid.upper, grid.shape, str(jnp.dtype(dtype)))
        hash(key)
    except TypeError:
        key = None
    if key is None or key not in _CACHE:
        with jax.ensure_compile_time_eval():  # concrete arrays also when a solver is built under jit
            fac = _chart_factors(manifold, grid, dtype)
        if key is None:
            return fac
        if len(_CACHE) >= 16:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = fac
    return _CACHE[key]


def _chart_factors(manifold: Any, grid: Grid, dtype=None) -> ChartFactors:
    """Evaluate :math:`g_{aa}`, :math:`g^{aa}`, :math:`1/\\sqrt G` and :math:`\\sqrt G g^{aa}` on the grid.

    :math:`\\sqrt G` is the manifold's ``volume_density`` when it has one (weighted manifolds
    such as the radial quotient), else :math:`\\sqrt{\\det g}`.
    """
    dtype = dtype or jnp.result_type(float)
    centres = grid.points()
    gc = _diag_metric(manifold, centres, "cell centres")
    if np.any(gc <= 0):
        raise QShockInputError("the metric is not positive definite at a cell centre (a grid point lies on the "
                               "chart's singular set; use a cell-centred grid inside the domain)")
    sqrtG_pt = _density(manifold, centres, gc)
    sqrtG_c = _cell_mean_density(manifold, grid)
    if np.any(sqrtG_pt <= 0) or np.any(sqrtG_c <= 0):
        raise QShockInputError("the volume density vanishes at a cell centre (a grid cell sits on the chart's "
                               "singular set)")
    face_w, face_g = [], []
    for a in range(grid.ndim):
        pts = _face_points(grid, a)
        with np.errstate(divide="ignore", invalid="ignore"):
            gf = np.nan_to_num(_diag_metric_faces(manifold, pts), nan=0.0, posinf=0.0)
        sqrtG_f = _density(manifold, pts, gf)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(sqrtG_f > 0, sqrtG_f / np.where(gf[..., a] > 0, gf[..., a], 1.0), 0.0)
        face_w.append(jnp.asarray(w, dtype))
        face_g.append(jnp.asarray(gf[..., a], dtype))
    ext = tuple(jnp.asarray(_extended_face_weights(manifold, grid, a), dtype) for a in range(grid.ndim))
    return ChartFactors(
        face_weights_ext=ext, inv_sqrt_det_points=jnp.asarray(1.0 / sqrtG_pt, dtype),
        inv_metric_centres=jnp.asarray(np.moveaxis(1.0 / gc, -1, 0), dtype),
        inv_sqrt_det_centres=jnp.asarray(1.0 / sqrtG_c, dtype),
        face_weights=tuple(face_w),
        metric_centres=jnp.asarray(np.moveaxis(gc, -1, 0), dtype),
        metric_faces=tuple(face_g),
        weighted=bool(not np.allclose(sqrtG_pt, np.sqrt(np.prod(gc, axis=-1)), rtol=1e-10, atol=0.0)),
    )


def _extended_face_weights(manifold: Any, grid: Grid, axis: int) -> np.ndarray:
    r""":math:`W = \sqrt G g^{aa}` at the ``N + 3`` faces ``-1 .. N+1`` of ``axis``, continued smoothly past
    the ends: periodic → wrapped; ``pole`` → odd (:math:`\sqrt G = \sin θ` changes sign across the pole:
    the ghost face is the real face across it, negated); otherwise the chart formula at the ghost face
    (non-finite values → the mirror face). Used by the 4th-order viscous term."""
    axes = [np.asarray(grid.centres(a)) for a in range(grid.ndim)]
    h = grid.dx[axis]
    axes[axis] = grid.lower[axis] + np.arange(-1, grid.shape[axis] + 2) * h
    pts = jnp.asarray(np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        gf = np.nan_to_num(_diag_metric_faces(manifold, pts), nan=0.0, posinf=0.0)
        rho = _density(manifold, pts, gf)
        w = np.where(rho > 0, rho / np.where(gf[..., axis] > 0, gf[..., axis], 1.0), 0.0)
    n = grid.shape[axis]
    b = grid.boundaries[axis]
    take = lambda i: np.take(w, [i], axis=axis)  # noqa: E731
    if b.kind == "periodic":
        lo, hi = take(n), take(2)  # faces -1 = N-1 and N+1 = 1 (index shifted by one)
    else:
        lo, hi = take(0), take(n + 2)
        for kind, side in ((b.kind, "lo"), (b.upper or b.kind, "hi")):
            if kind == "pole":
                mirror = take(2) if side == "lo" else take(n)
                val = -np.roll(mirror, grid.shape[b.partner] // 2, axis=b.partner)
            elif not np.all(np.isfinite(lo if side == "lo" else hi)):
                val = take(2) if side == "lo" else take(n)
            else:
                continue
            lo, hi = (val, hi) if side == "lo" else (lo, val)
    mid = np.take(w, np.arange(1, n + 2), axis=axis)
    return np.concatenate([lo, mid, hi], axis=axis)
