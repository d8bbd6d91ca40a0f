r"""ReLU rescale symmetry :math:`(a, w)\sim(a/\alpha, \alpha w)`, α > 0: invariant θ = a·w.

A ReLU neuron with outgoing weight a ∈ R and incoming weights w ∈ R^n computes
:math:`a\,\mathrm{relu}(w\cdot z) = \mathrm{relu}(\theta\cdot z)`-like functions of θ = a w
only. Total space :math:`\mathbb R^{1+n}` flattened as ``[a, w_1..w_n]``; chart θ ∈ R^n
(coordinates ``q1..qn``).

Metric (induced by Euclidean gradient flow): for L(a, w) = ℓ(aw),
:math:`\dot a = -w\cdot\nabla\ell`, :math:`\dot w = -a\nabla\ell`, so
:math:`\dot\theta = -(a^2 I + w w^\top)\nabla_\theta\ell`. The inverse metric is
:math:`K = a^2 I + |w|^2\hat\theta\hat\theta^\top` with, in terms of θ and the conserved
:math:`c = |w|^2 - a^2`, :math:`|w|^2 = (c + \sqrt{c^2+4|\theta|^2})/2` and
:math:`a^2 = (-c + \sqrt{c^2+4|\theta|^2})/2`. Balanced case c = 0:
:math:`K = |\theta|(I + \hat\theta\hat\theta^\top)`, :math:`g = |\theta|^{-1}(I - \tfrac12\hat\theta\hat\theta^\top)`:
in ``s = \sqrt{2|\theta|}`` this is :math:`ds^2 + \tfrac{s^2}{2}d\Omega^2`, a cone with its tip
(singular point) at θ = 0.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .quotient import Quotient

__all__ = ["RescaleQuotient"]


class RescaleQuotient(Quotient):
    """(a, w) ~ (a/α, αw): chart θ = a w ∈ R^n \\ {0}, metric induced by gradient flow.

    Inverse metric a² I + |w|² θ̂θ̂ᵀ (see module docstring); conserved c = |w|² − a²
    (the field ``c`` fixes the level set, default 0 = balanced: a cone, singular at θ = 0).
    """

    n: int = eqx.field(static=True, default=2)
    c: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        if not (isinstance(self.n, int) and self.n >= 1):
            raise ManifoldError(f"rescale: input dimension n must be a positive integer, got {self.n!r}")

    @property
    def name(self):
        return "rescale"

    @property
    def chart_name(self):
        return "invariant"

    @property
    def coordinate_names(self):
        return ("q",) if self.n == 1 else tuple(f"q{i + 1}" for i in range(self.n))

    @property
    def domain(self):
        return ((-math.inf,) * self.n, (math.inf,) * self.n)

    def _extra_check(self, x):
        if np.all(x == 0):
            return "theta = a*w = 0 is the cone tip (singular set of the rescale quotient)"
        return None

    @property
    def total_dim(self):
        return 1 + self.n

    def _a2_w2(self, x, c):
        c = self.c if c is None else c
        root = jnp.sqrt(c**2 + 4 * (x @ x))
        return (root - c) / 2, (root + c) / 2

    def inverse_metric(self, x, c=None):
        """K = a² I + |w|² θ̂θ̂ᵀ."""
        a2, w2 = self._a2_w2(x, c)
        P = jnp.outer(x, x) / (x @ x)
        return a2 * jnp.eye(self.n, dtype=x.dtype) + w2 * P

    def metric(self, x, c=None):
        """g = K⁻¹ = a⁻² (I − |w|²/(a² + |w|²) θ̂θ̂ᵀ); c = 0: |θ|⁻¹(I − ½ θ̂θ̂ᵀ)."""
        a2, w2 = self._a2_w2(x, c)
        P = jnp.outer(x, x) / (x @ x)
        return (jnp.eye(self.n, dtype=x.dtype) - w2 / (a2 + w2) * P) / a2

    def project(self, theta):
        """(a, w) -> a w."""
        return theta[0] * theta[1:]

    def section(self, x):
        """The lift with a > 0 on the level set c: a = sqrt(a²), w = θ/a."""
        a2, _ = self._a2_w2(x, None)
        a = jnp.sqrt(a2)
        return jnp.concatenate([a[None], x / a])

    def conserved(self, theta):
        """c = |w|² − a²."""
        return (jnp.sum(theta[1:] ** 2) - theta[0] ** 2)[None]

    def group_action(self, theta, g):
        """(a, w) -> (a/α, α w)."""
        return jnp.concatenate([theta[:1] / g, g * theta[1:]])

    def random_group_element(self, key):
        return jnp.exp(jax.random.normal(key, ()))

    def orbit_tangents(self, theta):
        """d/dα at α = 1: (−a, w)."""
        return jnp.concatenate([-theta[:1], theta[1:]])[:, None]
