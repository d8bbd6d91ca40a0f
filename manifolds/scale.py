r"""Scale symmetry :math:`w\sim\alpha w` (α > 0): the quotient is the sphere :math:`S^{n-1}`.

Weights feeding a normalisation layer leave the loss invariant under positive rescaling.
Metric: the round metric :math:`g_S` of the unit sphere (the invariant choice). Euclidean
gradient flow at radius :math:`r=|w|` sees the induced metric :math:`r^2 g_S`, so on the
quotient it is gradient flow of :math:`g_S` with the effective learning rate
:math:`\eta/|w|^2` (``effective_lr``). Conserved: :math:`|w|^2` (since
:math:`\langle\nabla L, w\rangle = 0`). Isotropic noise :math:`\sqrt{2\nu}\,dW` instead grows
it: :math:`d|w|^2 = 2\nu n\,dt + \text{martingale}`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .quotient import Quotient
from .sphere import Sphere

__all__ = ["ScaleQuotient"]


class ScaleQuotient(Sphere, Quotient):
    """R^n \\ {0} / R_{>0} = S^{n−1} with the round metric; conserved |w|²; lr_eff = η/|w|².

    Args: n (total dimension), chart (``'spherical'`` or ``'stereographic'``).
    """

    @property
    def name(self):
        return "scale"

    @property
    def total_dim(self):
        return self.n

    def project(self, theta):
        """w -> chart coordinates of w/|w|."""
        return self.from_embedding(theta / jnp.linalg.norm(theta))

    def section(self, x):
        """The unit-norm representative."""
        return self.to_embedding(x)

    def conserved(self, theta):
        """|w|²."""
        return jnp.sum(theta**2)[None]

    def group_action(self, theta, g):
        return g * theta

    def random_group_element(self, key):
        return jnp.exp(jax.random.normal(key, ()))

    def orbit_tangents(self, theta):
        """d/dα (e^α w) at α = 0 is w."""
        return theta[:, None]

    def effective_lr(self, theta, lr):
        """η/|w|²: the step size of the induced gradient flow on the unit sphere."""
        return lr / jnp.sum(theta**2)
