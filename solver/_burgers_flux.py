r"""Numerical fluxes for the Burgers flux :math:`f(u) = c\,u^2/2` (``c > 0``).

``c`` (``coef``) is 1 on flat space and :math:`1/g` at the faces for the 1-D metric form
:math:`p_t + (p^2/(2g))_x = \dots`. Since :math:`f` is convex with its minimum at 0:

* ``godunov`` — exact Riemann solution: :math:`F = \max(f(\max(u_L,0)), f(\min(u_R,0)))`;
* ``eo`` — Engquist–Osher: :math:`F = f(\max(u_L,0)) + f(\min(u_R,0))`;
* ``llf`` — Rusanov / local Lax–Friedrichs:
  :math:`F = \tfrac12(f(u_L)+f(u_R)) - \tfrac12\alpha(u_R-u_L)`,
  :math:`\alpha = c\max(|u_L|,|u_R|)`;
* ``roe`` — Roe without entropy fix:
  :math:`F = \tfrac12(f(u_L)+f(u_R)) - \tfrac12|a|(u_R-u_L)`, :math:`a = c(u_L+u_R)/2`.
  It admits the expansion shock at a transonic rarefaction (``u_L = -1, u_R = 1`` gives
  :math:`F = 1/2` instead of 0): kept for the textbook counterexample only.

All four are consistent (:math:`F(u,u) = f(u)`); the first three are monotone.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._reconstruct import _like
from .errors import QShockInputError

__all__ = ["FLUXES", "burgers_flux", "gradient_form_flux", "max_wave_speed_burgers"]

FLUXES = ("godunov", "eo", "llf", "roe")


def _check_kind(kind: str) -> None:
    if kind not in FLUXES:
        raise QShockInputError(f"unknown numerical flux {kind!r}; valid choices: {', '.join(FLUXES)}")


def _upwind_half_square(uL, uR, kind: str):
    """The numerical flux of u²/2 (coefficient 1)."""
    if kind == "godunov":
        a = jnp.maximum(uL, 0.0)
        b = jnp.minimum(uR, 0.0)
        return 0.5 * jnp.maximum(a * a, b * b)
    if kind == "eo":
        a = jnp.maximum(uL, 0.0)
        b = jnp.minimum(uR, 0.0)
        return 0.5 * (a * a + b * b)
    if kind == "llf":
        alpha = jnp.maximum(jnp.abs(uL), jnp.abs(uR))
        return 0.25 * (uL * uL + uR * uR) - 0.5 * alpha * (uR - uL)
    # roe
    s = 0.5 * jnp.abs(uL + uR)
    return 0.25 * (uL * uL + uR * uR) - 0.5 * s * (uR - uL)


def burgers_flux(uL, uR, kind: str, coef=1.0):
    r"""Numerical flux :math:`F(u_L, u_R)` for :math:`f(u) = \mathrm{coef}\,u^2/2`.

    ``coef > 0`` is a scalar or an array broadcastable to ``uL``. Because ``coef`` only
    scales :math:`f` (the upwind direction depends on the sign of ``u`` alone), every flux
    here equals ``coef`` times the flux of :math:`u^2/2`.

    Raises:
        QShockInputError: unknown ``kind``.
    """
    _check_kind(kind)
    F = _upwind_half_square(uL, uR, kind)
    if type(coef) in (int, float) and coef == 1.0:
        return F
    return _like(coef, F) * F


def gradient_form_flux(vL, vR, axis: int, kind: str, coef=1.0):
    r"""Flux of the gradient-form Burgers system :math:`v_t + \nabla(|v|^2/2) = 0` across
    faces normal to grid axis ``axis``.

    ``vL, vR`` have shape ``(d, ...)`` (component first). The flux of component ``j``
    through a face normal to ``axis`` is :math:`\delta_{j,\mathrm{axis}} K`,
    :math:`K = |v|^2/2`. The normal part :math:`v_a^2/2` is upwinded with
    :func:`burgers_flux` (``kind``); the transverse part :math:`\tfrac12\sum_{j\ne a} v_j^2`
    is taken as the central average of the two face states (it carries no wave in the
    normal direction for curl-free fields). With ``d == 1`` this is exactly
    :func:`burgers_flux`. Output has the shape of ``vL`` (zeros in the other components).
    """
    _check_kind(kind)
    d = vL.shape[0]
    Fn = burgers_flux(vL[axis], vR[axis], kind, coef)
    if d > 1:
        trans = jnp.zeros_like(Fn)
        for j in range(d):
            if j != axis:
                trans = trans + vL[j] * vL[j] + vR[j] * vR[j]
        Fn = Fn + 0.25 * _like(coef, Fn) * trans
    zero = jnp.zeros_like(Fn)
    return jnp.stack([Fn if j == axis else zero for j in range(d)], axis=0)


def max_wave_speed_burgers(u, coef=1.0):
    r"""Largest characteristic speed :math:`\max|f'(u)| = \max|\mathrm{coef}\cdot u|` (for the CFL step)."""
    return jnp.max(jnp.abs(coef * u))
