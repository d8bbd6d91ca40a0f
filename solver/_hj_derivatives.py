r"""One-sided derivative approximations for Hamilton–Jacobi schemes.

For a grid function ``u`` padded with ``ng`` ghost cells along one axis, return the
left-biased :math:`p^-_i` and right-biased :math:`p^+_i` approximations of
:math:`\partial u/\partial x` at the ``N`` interior cell centres:

* ``upwind1`` (1 ghost cell, order 1): :math:`p^- = D^-u_i`, :math:`p^+ = D^+u_i`.
* ``eno2`` (2 ghost cells, order 2; Osher & Shu 1991):
  :math:`p^\mp = D^\mp u_i \pm \frac{1}{2\Delta x}\,\mathrm{m}(\Delta^2 u_{i\mp1}, \Delta^2 u_i)`
  with :math:`\Delta^2 u_k = u_{k+1} - 2u_k + u_{k-1}` and ``m`` the argument of smaller
  magnitude (the ENO choice of the smoother stencil).
* ``weno5`` (3 ghost cells, order 5; Jiang & Peng 2000): the WENO5 combination of the five
  differences :math:`v_1..v_5 = D^-u_{i-2}..D^-u_{i+2}` for :math:`p^-` and
  :math:`D^+u_{i+2}..D^+u_{i-2}` for :math:`p^+`, with the same candidate stencils,
  smoothness indicators and ideal weights (1, 6, 3)/10 as WENO5-JS reconstruction and
  :math:`\varepsilon = 10^{-6}` applied to the divided differences.
* ``weno5z`` (3 ghost cells, order 5): the same candidates with WENO-Z weights (Borges et al.
  2008, q = 2, :math:`\varepsilon = 10^{-40}` in float64), as in :mod:`._reconstruct`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from ._reconstruct import _like, _prepare_stencil, _sl, weno5_edge_pair

__all__ = ["HJ_DERIVATIVES", "HJ_GHOST_CELLS", "one_sided_derivatives"]

HJ_GHOST_CELLS = {"upwind1": 1, "eno2": 2, "weno5": 3, "weno5z": 3}
HJ_DERIVATIVES = tuple(HJ_GHOST_CELLS)


def one_sided_derivatives(u, dx, method: str, axis: int = -1, ng: int | None = None, eps=None):
    r"""Left- and right-biased derivatives :math:`(p^-, p^+)` of ``u`` along ``axis``.

    ``u`` holds ``N + 2 ng`` values along ``axis`` (``ng >= HJ_GHOST_CELLS[method]``);
    both outputs have ``N`` entries along ``axis``. ``dx`` is the (uniform) spacing, a
    Python float or a traced scalar. ``eps`` is the WENO regulariser (``None``: 1e-6 for
    ``weno5``, the WENO-Z default of :func:`reconstruct` for ``weno5z``).

    Raises:
        QShockInputError: unknown method or too few ghost cells.
    """
    u, axis, ng, n = _prepare_stencil(u, method, HJ_GHOST_CELLS, "HJ derivative", axis, ng)
    inv_dx = _like(1.0 / dx, u)
    if method == "upwind1":
        # differences at the N+1 faces around the interior cells
        d = (_sl(u, ng, n + 1, axis) - _sl(u, ng - 1, n + 1, axis)) * inv_dx
        return _sl(d, 0, n, axis), _sl(d, 1, n, axis)
    if method == "eno2":
        # all from five shifted views u_{i-2} .. u_{i+2}: no intermediate is read at two
        # offsets (XLA:CPU would otherwise fuse it without vectorising)
        u0, u1, u2, u3, u4 = (_sl(u, ng - 2 + k, n, axis) for k in range(5))
        dm, dp = u2 - u1, u3 - u2
        a, b, c = dm - (u1 - u0), dp - dm, (u4 - u3) - dp   # second differences at i-1, i, i+1
        lo = jnp.where(jnp.abs(a) <= jnp.abs(b), a, b)
        hi = jnp.where(jnp.abs(b) <= jnp.abs(c), b, c)
        return (dm + 0.5 * lo) * inv_dx, (dp - 0.5 * hi) * inv_dx
    # weno5 / weno5z: divided differences D^- u at cells ng-2 .. ng+N+2 (N+5 faces' worth)
    m = n + 5
    d = (_sl(u, ng - 2, m, axis) - _sl(u, ng - 3, m, axis)) * inv_dx
    s = [lax.slice_in_dim(d, k, k + n, axis=axis) for k in range(6)]
    return weno5_edge_pair(s, "wenoz" if method == "weno5z" else "weno5", eps)
