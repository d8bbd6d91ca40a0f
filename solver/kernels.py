r"""Public finite-volume kernels: the array functions the solver is assembled from.

These are pure JAX functions on ghost-padded arrays (no grid objects), exposed for
benchmarks, verification and users who build their own steppers. The solver's
:func:`build_rhs` assembles them into :math:`\dot u = L(u, t)`; the registries name the
choices that :class:`solver.Scheme` accepts as strings.

Reconstruction (Burgers, conservative): :func:`reconstruct` returns the face states
:math:`(q^L_{i-1/2}, q^R_{i-1/2})` at the ``N+1`` faces of ``N`` cells padded with ``ng`` ghost
cells (``first``, ``muscl-{minmod,mc,vanleer}``, ``weno5``, ``wenoz``; see ``GHOST_CELLS``).
:func:`face_difference` gives :math:`F_{i+1/2} - F_{i-1/2}`.

Numerical fluxes: :func:`burgers_flux` (``godunov``, ``eo``, ``llf``, ``roe``) of
:math:`f = u^2/2`, and :func:`gradient_form_flux` for the N-D gradient form
:math:`v_t + \nabla(|v|^2/2) = 0`.

Hamilton–Jacobi: :func:`one_sided_derivatives` returns :math:`(p^-, p^+)` (``upwind1``,
``eno2``, ``weno5``, ``weno5z``); the numerical Hamiltonians :func:`godunov_separable`
(:math:`H = \tfrac12\sum_i a_i p_i^2`) and :func:`lax_friedrichs`
(:math:`H(\bar p) - \sum_i\alpha_i(p_i^+ - p_i^-)/2`) with the dissipation coefficients
:func:`lf_alpha_global` / :func:`lf_alpha_local`; ``NUMERICAL_HAMILTONIANS`` is the registry
of :class:`NumericalHamiltonian` objects behind ``Scheme(flux=...)``.

Diffusion: :func:`second_derivative` (order 2 or 4) and :func:`metric_diffusion_1axis`
(one axis of :math:`\Delta_g` for a diagonal metric). :func:`sum_components` sums a short
leading component axis written out (faster than ``jnp.sum(axis=0)`` on XLA:CPU).
"""

from __future__ import annotations

from ._burgers_flux import FLUXES as BURGERS_FLUXES
from ._burgers_flux import burgers_flux, gradient_form_flux, max_wave_speed_burgers
from ._diffusion import DIFFUSION_GHOST, VISCOUS_STABILITY, metric_diffusion_1axis, second_derivative
from ._hamiltonians import (NUMERICAL_HAMILTONIANS, NumericalHamiltonian, godunov_separable, lax_friedrichs,
                            lf_alpha_global, lf_alpha_local, sum_components)
from ._hj_derivatives import HJ_DERIVATIVES, HJ_GHOST_CELLS, one_sided_derivatives
from ._reconstruct import GHOST_CELLS, RECONSTRUCTIONS, face_difference, materialize, reconstruct, weno5_edge_pair
from ._rhs import Discretisation, build_rhs, ghost_width

__all__ = [
    "GHOST_CELLS", "RECONSTRUCTIONS", "reconstruct", "face_difference", "weno5_edge_pair", "materialize",
    "BURGERS_FLUXES", "burgers_flux", "gradient_form_flux", "max_wave_speed_burgers",
    "HJ_DERIVATIVES", "HJ_GHOST_CELLS", "one_sided_derivatives",
    "NUMERICAL_HAMILTONIANS", "NumericalHamiltonian", "godunov_separable", "lax_friedrichs",
    "lf_alpha_global", "lf_alpha_local", "sum_components",
    "DIFFUSION_GHOST", "VISCOUS_STABILITY", "second_derivative", "metric_diffusion_1axis",
    "Discretisation", "build_rhs", "ghost_width",
]
