r"""Hidden-unit permutation symmetry (scalar units): the Weyl chamber :math:`x_1\le\dots\le x_m`.

Permuting m interchangeable scalar hidden units leaves the network function invariant. The
quotient :math:`\mathbb R^m/S_m` is the closed chamber; permutations are isometries, so the
metric is Euclidean, the chamber walls :math:`x_i = x_{i+1}` are reflecting boundaries (a
permutation-symmetric solution has zero normal derivative there) and there is no orbit-volume
drift. Conserved by gradient flow: no continuous quantity; the flow of a symmetric loss
preserves coincidences :math:`x_i = x_j` (``conserved`` returns an empty vector).

Charts:

* ``'sorted'`` (coordinates ``x1..xm``): x sorted ascending, metric I; the chamber is not a
  coordinate box (``check_point`` checks the order).
* ``'gaps'`` (coordinates ``s1..sm``): :math:`s_1 = x_1`, :math:`s_k = x_k - x_{k-1}\ge0`,
  i.e. x = L s with L the lower-triangular matrix of ones. The chamber is the box
  :math:`\mathbb R\times[0,\infty)^{m-1}` whose lower faces are ``wall``; the metric is the
  constant :math:`g = L^\top L` (det 1). Zero normal flux
  :math:`\sqrt G g^{kj}\partial_j u = 0` on a wall is exactly the reflecting condition.
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

__all__ = ["PermutationQuotient", "PERMUTATION_CHARTS"]

PERMUTATION_CHARTS = ("sorted", "gaps")


class PermutationQuotient(FlatManifold, Quotient):
    """R^m / S_m = Weyl chamber x₁ ≤ … ≤ x_m, Euclidean metric, reflecting walls, no drift."""

    m: int = eqx.field(static=True, default=2)
    chart: str = eqx.field(static=True, default="sorted")

    def __check_init__(self):
        if not (isinstance(self.m, int) and self.m >= 1):
            raise ManifoldError(f"permutation: number of units m must be a positive integer, got {self.m!r}")
        if self.chart not in PERMUTATION_CHARTS:
            raise ManifoldError(
                f"permutation: unknown chart {self.chart!r}; valid charts: {', '.join(PERMUTATION_CHARTS)}"
            )

    @property
    def name(self):
        return "permutation"

    @property
    def chart_name(self):
        return self.chart

    @property
    def coordinate_names(self):
        p = "x" if self.chart == "sorted" else "s"
        return tuple(f"{p}{i + 1}" for i in range(self.m))

    @property
    def domain(self):
        m = self.m
        if self.chart == "sorted":
            return ((-math.inf,) * m, (math.inf,) * m)
        return ((-math.inf,) + (0.0,) * (m - 1), (math.inf,) * m)

    @property
    def singular(self):
        if self.chart == "sorted":
            return (("open", "open"),) * self.m
        return (("open", "open"),) + (("wall", "open"),) * (self.m - 1)

    def _extra_check(self, x):
        if self.chart == "sorted" and np.any(np.diff(x) < 0):
            return f"coordinates must be sorted x1 <= ... <= x{self.m} (the Weyl chamber), got {x.tolist()}"
        return None

    @property
    def total_dim(self):
        return self.m

    def _L(self):
        return jnp.asarray(np.tril(np.ones((self.m, self.m))))

    def metric(self, x):
        """I (sorted chart) or LᵀL (gaps chart)."""
        x = jnp.asarray(x)
        if self.chart == "sorted":
            return jnp.eye(self.m, dtype=jnp.result_type(x, float))
        L = self._L().astype(jnp.result_type(x, float))
        return L.T @ L

    def to_embedding(self, x):
        """Chart -> sorted representative x ∈ R^m."""
        return x if self.chart == "sorted" else jnp.cumsum(x)

    def from_embedding(self, X):
        """Sorted vector -> chart (the input must already be sorted)."""
        if self.chart == "sorted":
            return X
        return jnp.concatenate([X[:1], jnp.diff(X)])

    def project(self, theta):
        """θ -> sort(θ) (in the chosen chart)."""
        return self.from_embedding(jnp.sort(theta))

    def section(self, x):
        return self.to_embedding(x)

    def conserved(self, theta):
        """No continuous conserved quantity: an empty vector."""
        return jnp.zeros((0,), dtype=jnp.result_type(theta, float))

    def group_action(self, theta, g):
        """Permutation g (an index array) acting by θ -> θ[g]."""
        return theta[g]

    def random_group_element(self, key):
        return jax.random.permutation(key, self.m)

    def reflect(self, x):
        """Fold an unconstrained sorted-chart point back into the chamber (sort)."""
        return self.from_embedding(jnp.sort(self.to_embedding(x)))
