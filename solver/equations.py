r"""Equation objects: what is solved, independent of how.

* :class:`Burgers` — in 1-D the conservation law
  :math:`u_t + (u^2/2)_x = \nu u_{xx}`; in N-D the curl-free gradient form
  :math:`v_t + \nabla(|v|^2/2) = \nu \Delta v` for :math:`v = \nabla u` (field stored as
  ``(d, *shape)``). On a 1-D chart with metric :math:`g(x)` the gradient form reads
  :math:`p_t + (p^2/(2g))_x = \nu\,\partial_x[g^{-1/2}\partial_x(g^{-1/2}p)]`.
* :class:`HamiltonJacobi` — :math:`u_t + H(x, \nabla u) = \nu \Delta_g u`, default
  :math:`H = \tfrac12 g^{ij}(x) p_i p_j` (flat: :math:`\tfrac12|p|^2`).

Both carry the viscosity :math:`\nu \ge 0` and, optionally, a manifold chart providing
``metric(x)`` (duck-typed; see :mod:`manifolds`). Sign conventions: docs/conventions.md.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import equinox as eqx
import jax.numpy as jnp

from ._validate import viscosity as _check_nu
from .errors import QShockInputError

__all__ = ["Burgers", "HamiltonJacobi", "quadratic_hamiltonian"]


def quadratic_hamiltonian(x, p):
    r"""Flat kinetic Hamiltonian :math:`H(x, p) = \tfrac12 |p|^2` (``p`` has shape ``(d,)``)."""
    return 0.5 * jnp.sum(p * p)


class Burgers(eqx.Module):
    r"""Viscous Burgers equation :math:`u_t + (u^2/2)_x = \nu u_{xx}` (N-D: gradient form).

    Attributes:
        nu: viscosity :math:`\nu \ge 0`.
        manifold: optional 1-D chart (object with ``metric(x)``) for the metric form.
    """

    nu: float = eqx.field(static=True, default=0.0)
    manifold: Any = eqx.field(static=True, default=None)

    def __init__(self, nu: float = 0.0, manifold: Any = None):
        self.nu = _check_nu(nu)
        self.manifold = manifold

    name = "burgers"


class HamiltonJacobi(eqx.Module):
    r"""Viscous Hamilton–Jacobi equation :math:`u_t + H(x, \nabla u) = \nu \Delta_g u`.

    Attributes:
        hamiltonian: ``H(x, p)`` for one point ``x`` (shape ``(d,)``) and covector ``p``
            (shape ``(d,)``), returning a scalar; ``None`` means
            :math:`\tfrac12 g^{ij}p_ip_j` (flat: :func:`quadratic_hamiltonian`).
        nu: viscosity :math:`\nu \ge 0`.
        manifold: optional chart (object with ``metric(x)``); ``None`` is flat space.
        separable_coefficients: for :math:`H = \tfrac12\sum_i a_i p_i^2` with constant
            ``a_i > 0`` (enables the exact Godunov numerical Hamiltonian); ``None`` when
            unknown. The default Hamiltonian on flat space sets ``(1, ..., 1)``.
        max_speed: optional ``max_speed(x, p_lo, p_hi) -> (d,)``, a bound on
            :math:`|\partial H/\partial p_i|` over the box ``p_lo <= p <= p_hi`` at one point
            (Lax–Friedrichs dissipation and the CFL step); ``None``: evaluated by autodiff at
            the box corners (exact for convex quadratic H).
    """

    hamiltonian: Optional[Callable] = eqx.field(static=True, default=None)
    nu: float = eqx.field(static=True, default=0.0)
    manifold: Any = eqx.field(static=True, default=None)
    separable_coefficients: Optional[tuple[float, ...]] = eqx.field(static=True, default=None)
    max_speed: Optional[Callable] = eqx.field(static=True, default=None)

    def __init__(self, hamiltonian: Optional[Callable] = None, nu: float = 0.0, manifold: Any = None,
                 separable_coefficients: Optional[tuple[float, ...]] = None, max_speed: Optional[Callable] = None):
        if hamiltonian is not None and not callable(hamiltonian):
            raise QShockInputError("hamiltonian must be a callable H(x, p)")
        self.hamiltonian = hamiltonian
        self.nu = _check_nu(nu)
        self.manifold = manifold
        if separable_coefficients is not None:
            separable_coefficients = tuple(float(a) for a in separable_coefficients)
            if any(a < 0 for a in separable_coefficients):
                raise QShockInputError("separable Hamiltonian coefficients must be >= 0")
        self.separable_coefficients = separable_coefficients
        if max_speed is not None and not callable(max_speed):
            raise QShockInputError("max_speed must be a callable max_speed(x, p_lo, p_hi)")
        self.max_speed = max_speed

    name = "hj"

    @property
    def is_default_hamiltonian(self) -> bool:
        return self.hamiltonian is None

    def H(self, x, p):
        """Evaluate the Hamiltonian at one point (flat default when none was given)."""
        if self.hamiltonian is not None:
            return self.hamiltonian(x, p)
        if self.manifold is None:
            return quadratic_hamiltonian(x, p)
        ginv = jnp.linalg.inv(self.manifold.metric(x))
        return 0.5 * p @ ginv @ p
