r"""Softmax translation symmetry :math:`z\sim z+\alpha\mathbf 1`: the hyperplane :math:`\mathbf 1^\perp`.

Softmax (and cross-entropy) of logits z ∈ R^k is invariant under adding a constant to all
logits; so are the per-class bias vector and each input column of the last weight matrix.
Metric: Euclidean on :math:`\mathbf 1^\perp` (the translation is an isometry, so the quotient
metric induced by Euclidean gradient flow is the restriction, and there is no orbit-volume
drift). Chart: orthonormal Helmert coordinates :math:`y = H^\top z \in \mathbb R^{k-1}`
(coordinates ``h1..h_{k-1}``), :math:`H^\top\mathbf 1 = 0`, :math:`H^\top H = I`; the embedding
``H y = z − mean(z)`` is the centred-logit representative. Conserved: :math:`\mathbf 1^\top z`
(gradient flow and SGD alike, since every gradient is ⟂ 1).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .flat import FlatManifold
from .quotient import Quotient

__all__ = ["TranslationQuotient", "helmert_basis"]


def helmert_basis(k: int) -> np.ndarray:
    """Orthonormal basis H (k × (k−1)) of 1^⊥: column j ∝ (1, ..., 1, −j, 0, ...) (j ones)."""
    H = np.zeros((k, k - 1))
    for j in range(1, k):
        H[:j, j - 1] = 1.0
        H[j, j - 1] = -float(j)
        H[:, j - 1] /= math.sqrt(j * (j + 1))
    return H


class TranslationQuotient(FlatManifold, Quotient):
    """R^k / R·1 = 1^⊥ ≅ R^{k−1} (Helmert chart), Euclidean metric, conserved 1ᵀz."""

    k: int = eqx.field(static=True, default=3)

    def __check_init__(self):
        if not (isinstance(self.k, int) and self.k >= 2):
            raise ManifoldError(f"translation: number of logits k must be an integer >= 2, got {self.k!r}")

    @property
    def name(self):
        return "translation"

    @property
    def chart_name(self):
        return "helmert"

    @property
    def coordinate_names(self):
        return tuple(f"h{i + 1}" for i in range(self.k - 1))

    @property
    def domain(self):
        d = self.k - 1
        return ((-math.inf,) * d, (math.inf,) * d)

    @property
    def total_dim(self):
        return self.k

    def to_embedding(self, x):
        """Helmert coordinates -> centred logits H y (∈ 1^⊥)."""
        return jnp.asarray(helmert_basis(self.k)) @ x

    def from_embedding(self, X):
        return jnp.asarray(helmert_basis(self.k)).T @ X

    def project(self, theta):
        """z -> Hᵀ z = Hᵀ (z − mean z)."""
        return self.from_embedding(theta - jnp.mean(theta))

    def centre(self, theta):
        """z -> z − mean(z), the embedded representative of the orbit."""
        return theta - jnp.mean(theta)

    def section(self, x):
        """The centred representative H y (sum zero)."""
        return self.to_embedding(x)

    def conserved(self, theta):
        """1ᵀz."""
        return jnp.sum(theta)[None]

    def group_action(self, theta, g):
        return theta + g

    def random_group_element(self, key):
        return 3.0 * jax.random.normal(key, ())

    def orbit_tangents(self, theta):
        return jnp.ones((self.k, 1), dtype=jnp.result_type(theta, float))
