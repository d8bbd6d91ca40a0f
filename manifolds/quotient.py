r"""The abstract :class:`Quotient`: a manifold M = Θ/G reached from raw parameters.

A quotient knows its total space Θ (``total_dim``; parameters are passed as one flat vector
``theta`` of that length unless a class says otherwise), the projection ``project(theta)``
to chart coordinates of M, a section ``section(x)`` (a lift with
``project(section(x)) = x``), the group action ``group_action(theta, g)`` and a sampler
``random_group_element(key)``, the conserved quantity of Euclidean gradient flow on Θ for a
G-invariant loss (``conserved``), and the log orbit volume
:math:`\log V(x) = \tfrac12\log\det(J^\top J)` with J the orbit tangent vectors at the
section point (``orbit_tangents``): isotropic noise on Θ acquires the drift
:math:`\nu\nabla_g\log V` on M (docs/theory.md §2).
"""

from __future__ import annotations

import abc

import jax
import jax.numpy as jnp

from .base import Manifold
from .types import Conserved, OrbitTangents, Parameters, Point, Scalar, Tangent

__all__ = ["Quotient"]


class Quotient(Manifold):
    """Abstract quotient Θ/G of a parameter space by a symmetry group (see module docstring)."""

    @property
    @abc.abstractmethod
    def total_dim(self) -> int:
        """Dimension of the total (raw parameter) space Θ."""

    @abc.abstractmethod
    def project(self, theta: Parameters) -> Point:
        """π: raw parameters θ -> chart coordinates x of the quotient (G-invariant)."""

    @abc.abstractmethod
    def section(self, x: Point) -> Parameters:
        """A lift s(x) ∈ Θ with π(s(x)) = x."""

    @abc.abstractmethod
    def conserved(self, theta: Parameters) -> Conserved:
        """Quantity conserved by gradient flow θ' = −∇L(θ) of any G-invariant loss L."""

    @abc.abstractmethod
    def group_action(self, theta: Parameters, g) -> Parameters:
        """Apply the group element g to raw parameters θ."""

    @abc.abstractmethod
    def random_group_element(self, key: jax.Array):
        """A random group element (for invariance tests)."""

    def orbit_tangents(self, theta: Parameters) -> OrbitTangents:
        """Columns spanning the tangent space of the orbit G·θ (default: none, discrete G)."""
        return jnp.zeros((jnp.size(theta), 0), dtype=jnp.result_type(theta, float))

    def log_orbit_volume(self, x: Point) -> Scalar:
        """log V(x) = ½ log det(JᵀJ), J = orbit tangents at the section point s(x).

        For a discrete group this is 0 (no drift); for a Lie group it is the log volume
        density of the orbit through s(x) w.r.t. the group's coordinates at the identity.
        """
        J = self.orbit_tangents(self.section(x))
        if J.shape[1] == 0:
            return jnp.zeros((), dtype=jnp.result_type(x, float))
        return 0.5 * jnp.linalg.slogdet(J.T @ J)[1]

    def noise_drift(self, x: Point, nu: float) -> Tangent:
        """Drift ν ∇_g log V(x) that isotropic noise of strength ν acquires on the quotient."""
        return nu * self.gradient(self.log_orbit_volume, x)
