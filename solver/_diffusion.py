r"""Central finite-volume diffusion kernels.

* :func:`second_derivative` — :math:`\partial_{xx}u` at the interior cells of a ghost-padded
  array, in conservative (flux-difference) central form:
  order 2: :math:`(u_{i+1} - 2u_i + u_{i-1})/\Delta x^2` (1 ghost cell);
  order 4: :math:`(-u_{i+2} + 16u_{i+1} - 30u_i + 16u_{i-1} - u_{i-2})/(12\Delta x^2)`
  (2 ghost cells), the difference of the face fluxes
  :math:`(-u_{i+2} + 15u_{i+1} - 15u_i + u_{i-1})/(12\Delta x)`.
* :func:`metric_diffusion_1axis` — the axis-``a`` part of the Laplace–Beltrami operator
  for a diagonal metric,
  :math:`G^{-1/2}\partial_a(G^{1/2}g^{aa}\partial_a u)`, discretised as
  :math:`\frac{1}{\sqrt{G_i}}\,[W_{i+1/2}(u_{i+1}-u_i) - W_{i-1/2}(u_i-u_{i-1})]/\Delta x^2`
  with :math:`W = \sqrt{G}g^{aa}` at faces. A face with :math:`\sqrt G = 0` (pole, cone tip)
  carries no flux.
* :func:`metric_diffusion_1axis_4` — the same operator at 4th order for point values (HJ):
  staggered 4th-order face derivatives times :math:`W`, then the staggered 4th-order divergence,
  divided by :math:`\sqrt G` at the centre; past a pole :math:`W` continues oddly (as :math:`\sin θ`).
  Order 4 away from the poles, 3 in the max norm on the first rings.

Explicit stability (forward Euler on :math:`u_t = \nu\Delta u` in ``d`` flat dimensions):
the most negative eigenvalue of the stencil is :math:`-4\nu d/\Delta x^2` (order 2) and
:math:`-\tfrac{16}{3}\nu d/\Delta x^2` (order 4, at the Nyquist mode), so
:math:`\Delta t \le c\,\Delta x^2/(\nu d)` with ``c = VISCOUS_STABILITY[order]`` = 1/2 and
3/8. SSP-RK3 is a convex combination of Euler steps and is stable under the same bound.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._reconstruct import _like, _resolve_ng, _sl
from .errors import QShockInputError

__all__ = ["DIFFUSION_GHOST", "VISCOUS_STABILITY", "second_derivative", "metric_diffusion_1axis",
           "metric_diffusion_1axis_4"]

DIFFUSION_GHOST = {2: 1, 4: 2}
VISCOUS_STABILITY = {2: 0.5, 4: 0.375}


def _float(u):
    u = jnp.asarray(u)
    if not jnp.issubdtype(u.dtype, jnp.floating):
        u = u.astype(jnp.result_type(float))
    return u


def second_derivative(u, dx, axis: int = -1, order: int = 2, ng: int | None = None):
    r"""Central second derivative :math:`\partial_{xx}u` at the ``N`` interior cells (order 2 or 4).

    ``u`` has ``N + 2 ng`` entries along ``axis`` with ``ng >= DIFFUSION_GHOST[order]``.

    Raises:
        QShockInputError: order not 2 or 4, or too few ghost cells.
    """
    if order not in DIFFUSION_GHOST:
        raise QShockInputError(f"unknown diffusion order {order!r}; valid choices: 2, 4")
    u = _float(u)
    axis = axis % u.ndim
    ng = _resolve_ng(u.shape[axis], ng, DIFFUSION_GHOST[order], f"diffusion order {order}")
    n = u.shape[axis] - 2 * ng
    inv = _like(1.0 / (dx * dx), u)
    um, u0, up = _sl(u, ng - 1, n, axis), _sl(u, ng, n, axis), _sl(u, ng + 1, n, axis)
    if order == 2:
        return (up - 2.0 * u0 + um) * inv
    umm, upp = _sl(u, ng - 2, n, axis), _sl(u, ng + 2, n, axis)
    return (16.0 * (up + um) - 30.0 * u0 - (upp + umm)) * (inv / 12.0)


def _along(w, ndim: int, axis: int):
    """Place a 1-D per-axis array along ``axis`` of an ``ndim`` array (leave others alone)."""
    w = jnp.asarray(w)
    if w.ndim == 1 and ndim > 1:
        shape = [1] * ndim
        shape[axis] = w.shape[0]
        w = w.reshape(shape)
    return w


def metric_diffusion_1axis(u, dx, w_faces, inv_sqrtG_centres, axis: int = -1, ng: int | None = None):
    r"""Metric diffusion along one axis:
    :math:`\frac{1}{\sqrt{G_i}}[W_{i+1/2}(u_{i+1}-u_i) - W_{i-1/2}(u_i-u_{i-1})]/\Delta x^2`.

    ``u`` has ``N + 2 ng`` entries along ``axis`` (``ng >= 1``). ``w_faces``
    (:math:`\sqrt G g^{aa}` at the ``N + 1`` faces) and ``inv_sqrtG_centres``
    (:math:`1/\sqrt G` at the ``N`` centres) are scalars, 1-D arrays along ``axis`` or
    arrays broadcastable to the face/cell shape. Returns the ``N`` interior values.
    """
    u = _float(u)
    axis = axis % u.ndim
    ng = _resolve_ng(u.shape[axis], ng, 1, "metric diffusion")
    n = u.shape[axis] - 2 * ng
    flux = (_sl(u, ng, n + 1, axis) - _sl(u, ng - 1, n + 1, axis)) * _like(_along(w_faces, u.ndim, axis), u)
    div = _sl(flux, 1, n, axis) - _sl(flux, 0, n, axis)
    return div * (_like(_along(inv_sqrtG_centres, u.ndim, axis), u) * _like(1.0 / (dx * dx), u))


def metric_diffusion_1axis_4(u, dx, w_ext, inv_sqrtG, axis: int = -1, ng: int | None = None):
    r"""4th-order axis-``a`` part of :math:`Δ_g` at point values:
    :math:`\frac{1}{\sqrt{G_i}}\,δ_4\big(W\,D_4u\big)_i` with the staggered 4th-order derivative
    :math:`D_4u_{k} = (u_{k-2} - 27u_{k-1} + 27u_k - u_{k+1})/(24Δx)` at face ``k`` (between cells
    ``k−1`` and ``k``) and the matching divergence
    :math:`δ_4F_i = (F_{i-1} - 27F_i + 27F_{i+1} - F_{i+2})/(24Δx)`.

    ``u`` has ``N + 2 ng`` entries along ``axis`` (``ng >= 3``); ``w_ext`` is :math:`W = \sqrt G g^{aa}`
    at the ``N + 3`` faces ``-1 .. N+1`` continued smoothly past the ends (odd across a pole);
    ``inv_sqrtG`` is :math:`1/\sqrt G` at the centres (point values).
    """
    u = _float(u)
    axis = axis % u.ndim
    ng = _resolve_ng(u.shape[axis], ng, 3, "4th-order metric diffusion")
    n = u.shape[axis] - 2 * ng
    c = 1.0 / 24.0
    s0 = ng - 1  # padded index of cell k = -1, the upper cell of face -1
    D = (_sl(u, s0 - 2, n + 3, axis) - 27.0 * _sl(u, s0 - 1, n + 3, axis) + 27.0 * _sl(u, s0, n + 3, axis)
         - _sl(u, s0 + 1, n + 3, axis)) * _like(c / dx, u)
    F = D * _like(_along(w_ext, u.ndim, axis), u)
    div = (_sl(F, 0, n, axis) - 27.0 * _sl(F, 1, n, axis) + 27.0 * _sl(F, 2, n, axis) - _sl(F, 3, n, axis))
    return div * (_like(_along(inv_sqrtG, u.ndim, axis), u) * _like(c / dx, u))
