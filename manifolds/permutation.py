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
* ``'orthogonal'`` (m = 2 or 3; a diagonal metric, for the finite-volume solver):
  :math:`c = \mathbf 1^\top x/\sqrt m` along the diagonal, and in the plane 1^⊥ with the
  orthonormal basis :math:`p = (-1, 1, 0)/\sqrt2`, :math:`q = (-1,-1,2)/\sqrt6`:
  m = 2: ``(c, v)``, :math:`v = (x_2 - x_1)/\sqrt2 \in [0,\infty)` (wall at v = 0), metric I;
  m = 3: ``(c, rho, alpha)`` with :math:`x\cdot p = \rho\sin\alpha`, :math:`x\cdot q =
  \rho\cos\alpha`; the chamber is the wedge :math:`\alpha\in[0,\pi/3]` (walls
  :math:`x_1 = x_2` at α = 0 and :math:`x_2 = x_3` at α = π/3), metric diag(1, 1, ρ²),
  √G = ρ (ρ = 0, the triple coincidence, is a singular face of this chart).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .base import Manifold
from .flat import FlatManifold
from .quotient import Quotient

__all__ = ["PermutationQuotient", "PERMUTATION_CHARTS"]

PERMUTATION_CHARTS = ("sorted", "gaps", "orthogonal")
_P = np.array([-1.0, 1.0, 0.0]) / math.sqrt(2.0)
_Q = np.array([-1.0, -1.0, 2.0]) / math.sqrt(6.0)


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
        if self.chart == "orthogonal" and self.m not in (2, 3):
            raise ManifoldError(f"permutation: the 'orthogonal' chart exists for m = 2 or 3 only, got m={self.m}")

    @property
    def name(self):
        return "permutation"

    @property
    def chart_name(self):
        return self.chart

    @property
    def coordinate_names(self):
        if self.chart == "orthogonal":
            return ("c", "v") if self.m == 2 else ("c", "rho", "alpha")
        p = "x" if self.chart == "sorted" else "s"
        return tuple(f"{p}{i + 1}" for i in range(self.m))

    @property
    def domain(self):
        m = self.m
        if self.chart == "orthogonal":
            if m == 2:
                return ((-math.inf, 0.0), (math.inf, math.inf))
            return ((-math.inf, 0.0, 0.0), (math.inf, math.inf, math.pi / 3))
        if self.chart == "sorted":
            return ((-math.inf,) * m, (math.inf,) * m)
        return ((-math.inf,) + (0.0,) * (m - 1), (math.inf,) * m)

    @property
    def singular(self):
        if self.chart == "orthogonal":
            if self.m == 2:
                return (("open", "open"), ("wall", "open"))
            return (("open", "open"), ("singular", "open"), ("wall", "wall"))
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
        """I (sorted chart, orthogonal m = 2), LᵀL (gaps chart) or diag(1, 1, ρ²) (orthogonal m = 3)."""
        x = jnp.asarray(x)
        if self.chart == "orthogonal" and self.m == 3:
            return jnp.diag(jnp.stack([jnp.ones_like(x[1]), jnp.ones_like(x[1]), x[1] ** 2]))
        if self.chart in ("sorted", "orthogonal"):
            return jnp.eye(self.m, dtype=jnp.result_type(x, float))
        L = self._L().astype(jnp.result_type(x, float))
        return L.T @ L

    def _polar(self):
        return self.chart == "orthogonal" and self.m == 3

    def christoffel(self, x):
        if self._polar():
            return Manifold.christoffel(self, x)
        return super().christoffel(x)

    def exp(self, x, v, t=1.0):
        """Straight line in the embedding: from_embedding(X + t J v)."""
        if not self._polar():
            return super().exp(x, v, t)
        X, V = jax.jvp(self.to_embedding, (x,), (t * jnp.asarray(v, dtype=jnp.result_type(x, float)),))
        return self.from_embedding(X + V)

    def log(self, x, y):
        """v = g⁻¹ Jᵀ (Y − X): the chart vector of the straight segment."""
        if not self._polar():
            return super().log(x, y)
        J = jax.jacfwd(self.to_embedding)(x)
        return self.inverse_metric(x) @ (J.T @ (self.to_embedding(y) - self.to_embedding(x)))

    def to_embedding(self, x):
        """Chart -> sorted representative x ∈ R^m."""
        if self.chart == "orthogonal":
            one = jnp.ones((self.m,), dtype=jnp.result_type(x, float)) / math.sqrt(self.m)
            if self.m == 2:
                return x[0] * one + x[1] * jnp.asarray(_P[:2] / np.linalg.norm(_P[:2]))
            return x[0] * one + x[1] * (jnp.sin(x[2]) * jnp.asarray(_P) + jnp.cos(x[2]) * jnp.asarray(_Q))
        return x if self.chart == "sorted" else jnp.cumsum(x)

    def from_embedding(self, X):
        """Sorted vector -> chart (the input must already be sorted)."""
        if self.chart == "orthogonal":
            c = jnp.sum(X) / math.sqrt(self.m)
            if self.m == 2:
                return jnp.stack([c, (X[1] - X[0]) / math.sqrt(2.0)])
            a, b = X @ jnp.asarray(_P), X @ jnp.asarray(_Q)
            return jnp.stack([c, jnp.hypot(a, b), jnp.arctan2(a, b)])
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
