r"""Cell averages of a pointwise function by tensor Gauss–Legendre quadrature.

:math:`\bar f_i = \int_{C_i} f\sqrt G\,dx \big/ \int_{C_i}\sqrt G\,dx`, with per axis
:math:`\int_{C_i} g \approx \sum_q \tfrac12 w_q\,g(m_i + \tfrac{h_i}2 \xi_q)\,h_i`
(``n_gauss`` nodes: exact for polynomials of degree ``2 n_gauss - 1``). ``√G ≡ 1`` on flat
grids. This is the one cell average of the package: the finite-volume initial data of the CLI
(3 nodes) and the exact references of the tests both use it (docs/conventions.md).
"""

from __future__ import annotations

from typing import Callable, Optional

import jax.numpy as jnp
import numpy as np

from ..errors import QShockInputError
from ..grid import Grid

__all__ = ["cell_average"]


def cell_average(fn: Callable, grid_edges, n_gauss: int = 8, sqrt_det: Optional[Callable] = None) -> jnp.ndarray:
    r"""√G-weighted average of ``fn`` over each cell.

    Args:
        fn: elementwise callable; takes one coordinate array per axis (``fn(x)``, ``fn(x, y)``).
        grid_edges: a 1-D array of ``N+1`` edges, a sequence of such arrays (one per axis,
            tensor-product cells), or a :class:`solver.Grid` (its faces are used).
        n_gauss: Gauss–Legendre nodes per axis and cell.
        sqrt_det: optional volume density :math:`\sqrt G`: ``sqrt_det(points)`` with the
            coordinates stacked on the last axis (``points[..., a]``); ``None`` means flat.
            The average is then :math:`\sum_q w_q f\sqrt G / \sum_q w_q\sqrt G` per cell.

    Returns:
        Array of shape ``(N_0, ..., N_{d-1})``.
    """
    if isinstance(grid_edges, Grid):
        edges = [grid_edges.faces(a) for a in range(grid_edges.ndim)]
    elif isinstance(grid_edges, (list, tuple)):
        edges = [jnp.asarray(e, dtype=jnp.result_type(float)) for e in grid_edges]
    else:
        edges = [jnp.asarray(grid_edges, dtype=jnp.result_type(float))]
    if n_gauss < 1:
        raise QShockInputError(f"n_gauss must be >= 1, got {n_gauss}")
    for e in edges:
        if e.ndim != 1 or e.shape[0] < 2:
            raise QShockInputError("cell edges must be 1-D arrays with at least 2 entries")
    xi, wq = np.polynomial.legendre.leggauss(int(n_gauss))
    d = len(edges)
    coords, weights = [], []
    for a, e in enumerate(edges):
        mid, half = 0.5 * (e[1:] + e[:-1]), 0.5 * (e[1:] - e[:-1])
        pts = mid[:, None] + half[:, None] * jnp.asarray(xi, e.dtype)[None, :]  # (N_a, q)
        # axis layout: (N_0, ..., N_{d-1}, q_0, ..., q_{d-1})
        shape = [1] * (2 * d)
        shape[a], shape[d + a] = pts.shape
        coords.append(pts.reshape(shape))
        wshape = [1] * d
        wshape[a] = len(wq)
        weights.append(jnp.asarray(0.5 * wq, e.dtype).reshape(wshape))
    vals = fn(*coords)
    full = jnp.broadcast_shapes(*[c.shape for c in coords])
    vals = jnp.broadcast_to(vals, full)
    w = weights[0]
    for wa in weights[1:]:
        w = w * wa
    quad = tuple(range(d, 2 * d))
    if sqrt_det is None:
        return jnp.sum(vals * w, axis=quad)
    points = jnp.stack([jnp.broadcast_to(c, full) for c in coords], axis=-1)
    w = w * jnp.asarray(sqrt_det(points))
    return jnp.sum(vals * w, axis=quad) / jnp.sum(w, axis=quad)
