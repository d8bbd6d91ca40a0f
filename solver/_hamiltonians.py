r"""Numerical Hamiltonians :math:`\hat H(x, p^-, p^+)` for :math:`u_t + H(x, \nabla u) = 0`.

Fields are laid out component-first: ``pm, pp`` have shape ``(d, *shape)``.

* :func:`godunov_separable` — exact Godunov Hamiltonian for the convex separable
  :math:`H = \tfrac12\sum_i a_i(x) p_i^2` (:math:`a_i \ge 0`, minimum at ``p = 0``):
  :math:`\hat H = \sum_i \tfrac12 a_i \max(\max(p_i^-,0)^2, \min(p_i^+,0)^2)`.
* :func:`lax_friedrichs` — (local) Lax–Friedrichs:
  :math:`\hat H = H(x, \tfrac12(p^-+p^+)) - \sum_i \alpha_i (p_i^+ - p_i^-)/2`.
* :func:`lf_alpha_global` / :func:`lf_alpha_local` — the dissipation coefficients
  :math:`\alpha_i = \max |\partial H/\partial p_i|` over the box
  :math:`[\min(p^-,p^+), \max(p^-,p^+)]` (per component), maximised over the whole grid (LF)
  or per cell (LLF). For ``d <= 3`` the maximum is taken over the :math:`2^d` corners of the
  box (which include :math:`p^-` and :math:`p^+`): exact when each :math:`|\partial H/\partial p_i|`
  is convex along the box, e.g. any quadratic :math:`H`. For ``d > 3`` (to avoid
  :math:`2^d` evaluations) it uses :math:`p^-`, :math:`p^+`, the lower and upper corners and
  the corner of largest :math:`|p_i|` per component, exact for diagonal quadratic ``H``.

All are monotone under the CFL condition (nondecreasing in :math:`p^-`, nonincreasing in
:math:`p^+`) and consistent (:math:`\hat H(x,p,p) = H(x,p)`).
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

__all__ = [
    "NUMERICAL_HAMILTONIANS",
    "HamiltonianParts",
    "NumericalHamiltonian",
    "godunov_separable",
    "lax_friedrichs",
    "lf_alpha_global",
    "lf_alpha_local",
    "sum_components",
]


def _per_component(c, like):
    """Broadcast a coefficient of shape (), (d,) or (d, *shape) against a (d, *shape) field."""
    ndim = like.ndim
    c = jnp.asarray(c).astype(like.dtype)
    if c.ndim == 1 and ndim > 1:
        c = c.reshape(c.shape + (1,) * (ndim - 1))
    return c


def sum_components(x):
    """Sum over the short leading component axis, written out (``jnp.sum(x, axis=0)`` over an
    axis of length d <= 3 is lowered by jaxlib 0.10 on CPU to a library call ~10x slower)."""
    out = x[0]
    for i in range(1, x.shape[0]):
        out = out + x[i]
    return out


def godunov_separable(pm, pp, coeffs):
    r"""Godunov numerical Hamiltonian for :math:`H = \tfrac12\sum_i a_i p_i^2`, :math:`a_i \ge 0`.

    :math:`\hat H = \sum_i \tfrac12 a_i \max(\max(p_i^-,0)^2,\ \min(p_i^+,0)^2)`; ``pm, pp``
    of shape ``(d, *shape)``, ``coeffs`` of shape ``(d,)`` or ``(d, *shape)``. Returns an
    array of shape ``shape``.
    """
    a = jnp.maximum(pm, 0.0)
    b = jnp.minimum(pp, 0.0)
    per = jnp.maximum(a * a, b * b) * _per_component(coeffs, pm)
    return 0.5 * sum_components(per)


def lax_friedrichs(H_values_at_mean, pm, pp, alpha):
    r"""Lax–Friedrichs numerical Hamiltonian
    :math:`\hat H = H(x, \bar p) - \sum_i \alpha_i (p_i^+ - p_i^-)/2`, :math:`\bar p = (p^-+p^+)/2`.

    ``H_values_at_mean`` is :math:`H(x, \bar p)` of shape ``shape``; ``alpha`` of shape
    ``(d,)`` (global LF) or ``(d, *shape)`` (local LF).
    """
    diss = _per_component(alpha, pm) * (pp - pm)
    return H_values_at_mean - 0.5 * sum_components(diss)


def _box_points(lo, hi, pm, pp):
    """Points (in the last axis) at which |dH/dp| is sampled over the box [lo, hi]."""
    d = lo.shape[-1]
    if d <= 3:
        pts = []
        for corner in itertools.product((False, True), repeat=d):
            mask = jnp.asarray(corner)
            pts.append(jnp.where(mask, hi, lo))
        return pts
    far = jnp.where(jnp.abs(hi) >= jnp.abs(lo), hi, lo)
    return [pm, pp, lo, hi, far]


def _alpha_cells(dHdp_fn, x, pm, pp):
    """max over the box of |dH/dp| per cell, shape (*shape, d)."""
    d = pm.shape[0]
    pm_l = jnp.moveaxis(pm, 0, -1)
    pp_l = jnp.moveaxis(pp, 0, -1)
    cell_shape = pm_l.shape[:-1]
    xf = jnp.reshape(x, (-1, x.shape[-1]))
    pmf = pm_l.reshape(-1, d)
    ppf = pp_l.reshape(-1, d)
    lo, hi = jnp.minimum(pmf, ppf), jnp.maximum(pmf, ppf)
    f = jax.vmap(dHdp_fn)
    best = None
    for p in _box_points(lo, hi, pmf, ppf):
        val = jnp.abs(f(xf, p))
        best = val if best is None else jnp.maximum(best, val)
    return best.reshape(cell_shape + (d,))


def lf_alpha_local(dHdp_fn, x, pm, pp):
    r"""Local Lax–Friedrichs coefficients :math:`\alpha_i(x) = \max_{p \in \mathrm{box}} |\partial H/\partial p_i(x, p)|`.

    ``dHdp_fn(x, p)`` maps one point ``x`` (shape ``(d_x,)``) and ``p`` (shape ``(d,)``) to
    :math:`\partial H/\partial p` (shape ``(d,)``); ``x`` has shape ``(*shape, d_x)`` (points
    last); ``pm, pp`` have shape ``(d, *shape)``. Returns shape ``(d, *shape)``.
    """
    return jnp.moveaxis(_alpha_cells(dHdp_fn, x, pm, pp), -1, 0)


def lf_alpha_global(dHdp_fn, x, pm, pp):
    r"""Global Lax–Friedrichs coefficients :math:`\alpha_i = \max_{x,\,p \in \mathrm{box}} |\partial H/\partial p_i|`, shape ``(d,)``."""
    a = _alpha_cells(dHdp_fn, x, pm, pp)
    return jnp.max(a.reshape(-1, a.shape[-1]), axis=0)


# --------------------------------------------------------------------------- registry
class HamiltonianParts(NamedTuple):
    r"""What a numerical Hamiltonian is assembled from, on one grid.

    ``H_field(p)`` evaluates :math:`H(x_i, p_i)` for ``p`` of shape ``(d, *shape)``;
    ``coeffs`` are the separable :math:`a_i` of :math:`H = \tfrac12\sum_i a_i p_i^2` (shape
    ``(d,)`` or ``(d, *shape)``; ``None`` when H is not of that form); ``alpha_local(pm, pp)``
    and ``alpha_global(pm, pp)`` bound :math:`|\partial H/\partial p_i|` over the box
    :math:`[\min(p^-,p^+), \max(p^-,p^+)]`, per cell ``(d, *shape)`` and over the grid ``(d,)``.
    """

    H_field: Callable
    coeffs: Optional[Any]
    alpha_local: Callable
    alpha_global: Callable


class NumericalHamiltonian(NamedTuple):
    r"""A registered numerical Hamiltonian :math:`\hat H(x, p^-, p^+)` (``Scheme(flux=name)``).

    ``build(parts)`` returns ``hhat(pm, pp)`` (fields ``(d, *shape)`` → ``shape``);
    ``separable_only`` marks schemes valid only for :math:`H = \tfrac12\sum_i a_i p_i^2`.
    """

    name: str
    build: Callable[[HamiltonianParts], Callable]
    separable_only: bool
    description: str


def _build_godunov(parts: HamiltonianParts) -> Callable:
    def hhat(pm, pp):
        return godunov_separable(pm, pp, parts.coeffs)
    return hhat


def _build_lf(parts: HamiltonianParts) -> Callable:
    def hhat(pm, pp):
        return lax_friedrichs(parts.H_field(0.5 * (pm + pp)), pm, pp, parts.alpha_global(pm, pp))
    return hhat


def _build_llf(parts: HamiltonianParts) -> Callable:
    def hhat(pm, pp):
        return lax_friedrichs(parts.H_field(0.5 * (pm + pp)), pm, pp, parts.alpha_local(pm, pp))
    return hhat


#: name -> :class:`NumericalHamiltonian`; the names are the strings ``Scheme(flux=...)`` accepts for HJ
NUMERICAL_HAMILTONIANS: dict[str, NumericalHamiltonian] = {
    h.name: h for h in (
        NumericalHamiltonian("godunov", _build_godunov, True, "exact Godunov for separable convex H"),
        NumericalHamiltonian("lf", _build_lf, False, "global Lax–Friedrichs (alpha maximised over the grid)"),
        NumericalHamiltonian("llf", _build_llf, False, "local Lax–Friedrichs (alpha per cell)"),
    )
}
