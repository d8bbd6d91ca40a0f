r"""Scheme descriptions: which reconstruction, numerical flux and viscous stencil to use.

A :class:`Scheme` is data. The user-facing names (``--scheme``) map onto the kernels:

============  ==========================  ==============================
``--scheme``  Burgers reconstruction      HJ one-sided derivative
============  ==========================  ==============================
godunov       first order (piecewise c.)  upwind-1
muscl         MUSCL + limiter (MC)        ENO2
weno5         WENO5-JS                    WENO5 (Jiang–Peng)
wenoz         WENO-Z                      WENO5 with WENO-Z weights
============  ==========================  ==============================

Fluxes: Burgers ``godunov`` (exact Riemann), ``eo`` (Engquist–Osher), ``llf`` (Rusanov),
``roe`` (no entropy fix; for demonstrations). HJ numerical Hamiltonians: ``godunov``
(separable convex :math:`H=\tfrac12\sum a_i(x)p_i^2` only), ``lf`` (global Lax–Friedrichs),
``llf`` (local Lax–Friedrichs). Viscous terms: conservative central differences of order 2 or 4
(default 4 for the WENO schemes, 2 otherwise).
"""

from __future__ import annotations

from typing import Optional

import equinox as eqx

from ._hamiltonians import NUMERICAL_HAMILTONIANS
from .errors import CFLError, QShockInputError

__all__ = ["Scheme", "SCHEME_NAMES", "BURGERS_FLUXES", "HJ_FLUXES", "LIMITERS", "CFL_MAX"]

SCHEME_NAMES = ("godunov", "muscl", "weno5", "wenoz", "spectral")
BURGERS_FLUXES = ("godunov", "eo", "llf", "roe")
HJ_FLUXES = tuple(NUMERICAL_HAMILTONIANS)  # registered numerical Hamiltonians
LIMITERS = ("minmod", "mc", "vanleer")
#: largest CFL number accepted by SSP-RK3 with each finite-volume scheme
CFL_MAX = {"godunov": 1.0, "muscl": 1.0, "weno5": 1.0, "wenoz": 1.0, "spectral": 2.0}

_BURGERS_RECON = {"godunov": "first", "weno5": "weno5", "wenoz": "wenoz"}
_HJ_DERIV = {"godunov": "upwind1", "muscl": "eno2", "weno5": "weno5", "wenoz": "weno5z"}


def _choose(value, allowed, what):
    if value not in allowed:
        raise QShockInputError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return value


class Scheme(eqx.Module):
    """A finite-volume (or spectral) discretisation choice.

    Attributes:
        name: ``godunov``, ``muscl``, ``weno5``, ``wenoz`` or ``spectral``.
        flux: numerical flux / Hamiltonian (``None``: Godunov when applicable, else LLF).
        limiter: MUSCL slope limiter (``minmod``, ``mc``, ``vanleer``).
        diffusion_order: 2 or 4 (``None``: 4 for WENO, 2 otherwise).
    """

    name: str = eqx.field(static=True, default="weno5")
    flux: Optional[str] = eqx.field(static=True, default=None)
    limiter: str = eqx.field(static=True, default="mc")
    diffusion_order: Optional[int] = eqx.field(static=True, default=None)

    def __check_init__(self):
        _choose(self.name, SCHEME_NAMES, "scheme")
        _choose(self.limiter, LIMITERS, "limiter")
        if self.diffusion_order not in (None, 2, 4):
            raise QShockInputError(f"diffusion order must be 2 or 4, got {self.diffusion_order!r}")

    @property
    def viscous_order(self) -> int:
        if self.diffusion_order is not None:
            return self.diffusion_order
        return 4 if self.name in ("weno5", "wenoz", "spectral") else 2

    def burgers_reconstruction(self) -> str:
        if self.name == "muscl":
            return f"muscl-{self.limiter}"
        return _BURGERS_RECON[self.name]

    def burgers_flux(self) -> str:
        return _choose(self.flux or "godunov", BURGERS_FLUXES, "Burgers flux")

    def hj_derivative(self) -> str:
        return _HJ_DERIV[self.name]

    def hj_flux(self, separable: bool) -> str:
        flux = self.flux or ("godunov" if separable else "llf")
        if flux == "eo":
            raise QShockInputError(
                "flux 'eo' (Engquist-Osher) is a Burgers flux; for hj use godunov, lf or llf")
        _choose(flux, HJ_FLUXES, "Hamilton-Jacobi numerical Hamiltonian")
        if NUMERICAL_HAMILTONIANS[flux].separable_only and not separable:
            raise QShockInputError(
                "the godunov numerical Hamiltonian needs a separable convex H = 1/2 sum a_i p_i^2; "
                "use --flux llf (or lf) for a general Hamiltonian")
        return flux

    def check_cfl(self, cfl: float) -> float:
        try:
            cfl = float(cfl)
        except (TypeError, ValueError):
            raise CFLError(f"CFL number must be a number, got {cfl!r}") from None
        bound = CFL_MAX[self.name]
        if not (cfl > 0.0) or cfl > bound:
            raise CFLError(f"CFL number {cfl} outside (0, {bound}] for scheme {self.name!r}")
        return cfl
