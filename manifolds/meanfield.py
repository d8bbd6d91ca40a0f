r"""Mean-field particles: m particles in R^d modulo permutation = empirical measures.

A two-layer network in the mean-field parametrisation, :math:`f(z) = \tfrac1m\sum_i\sigma(z;
x_i)`, depends on the particles only through :math:`\mu = \tfrac1m\sum_i\delta_{x_i}`. Chart:
the lexicographically sorted particle array, flattened row-major to length m·d (coordinates
``x1_1, x1_2, ..., xm_d``; for d = 1 simply ``x1..xm``).

Metric: the Wasserstein-2 (Otto) metric restricted to m-atom measures with weights 1/m,
:math:`g = \tfrac1m I` (so the mean-field time scaling of gradient flow, θ' = −m∇L, is gradient
flow of this metric). For d = 1 this is exact globally on the sorted chamber:
:math:`W_2(\mu,\nu)^2 = \tfrac1m\sum_i (x_{(i)} - y_{(i)})^2`, i.e.
:math:`W_2 = |x_{sorted} - y_{sorted}|/\sqrt m` (``wasserstein2``). For d > 1 the chamber
distance is W₂ only while the identity is the optimal assignment. Permutations are
isometries: no orbit-volume drift; conserved: none (empty vector).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .errors import ManifoldError
from .quotient import Quotient

__all__ = ["MeanFieldQuotient", "lexsort_rows"]


def lexsort_rows(P: jax.Array) -> jax.Array:
    """Rows of P (m, d) sorted lexicographically (first column primary)."""
    order = jnp.lexsort(tuple(P[:, j] for j in reversed(range(P.shape[1]))))
    return P[order]


class MeanFieldQuotient(Quotient):
    """(R^d)^m / S_m = empirical measures with m atoms; metric (1/m) I (W₂), sorted chart."""

    m: int = eqx.field(static=True, default=3)
    d: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        if not (isinstance(self.m, int) and self.m >= 1 and isinstance(self.d, int) and self.d >= 1):
            raise ManifoldError(f"meanfield: need positive integers m, d, got m={self.m!r}, d={self.d!r}")

    @property
    def name(self):
        return "meanfield"

    @property
    def chart_name(self):
        return "sorted"

    @property
    def coordinate_names(self):
        if self.d == 1:
            return tuple(f"x{i + 1}" for i in range(self.m))
        return tuple(f"x{i + 1}_{j + 1}" for i in range(self.m) for j in range(self.d))

    @property
    def domain(self):
        n = self.m * self.d
        return ((-math.inf,) * n, (math.inf,) * n)

    def _extra_check(self, x):
        P = x.reshape(self.m, self.d)
        keys = [tuple(r) for r in P]
        if keys != sorted(keys):
            return "particles must be sorted lexicographically (first coordinate primary)"
        return None

    @property
    def total_dim(self):
        return self.m * self.d

    def metric(self, x):
        return jnp.eye(self.m * self.d, dtype=jnp.result_type(x, float)) / self.m

    def inverse_metric(self, x):
        return self.m * jnp.eye(self.m * self.d, dtype=jnp.result_type(x, float))

    def log_sqrt_det(self, x):
        return jnp.asarray(-0.5 * self.m * self.d * math.log(self.m), dtype=jnp.result_type(x, float))

    def christoffel(self, x):
        return jnp.zeros((self.m * self.d,) * 3, dtype=jnp.result_type(x, float))

    def exp(self, x, v, t=1.0):
        return jnp.asarray(x) + t * jnp.asarray(v)

    def log(self, x, y):
        return jnp.asarray(y) - jnp.asarray(x)

    def project(self, theta):
        """Particles (flat m·d vector or (m, d) array) -> sorted flat chart point."""
        return lexsort_rows(jnp.reshape(theta, (self.m, self.d))).reshape(-1)

    def section(self, x):
        return jnp.asarray(x)

    def conserved(self, theta):
        return jnp.zeros((0,), dtype=jnp.result_type(theta, float))

    def group_action(self, theta, g):
        """Permute particles: rows of the (m, d) array reordered by the index array g."""
        return jnp.reshape(jnp.reshape(theta, (self.m, self.d))[g], jnp.shape(theta))

    def random_group_element(self, key):
        return jax.random.permutation(key, self.m)

    def wasserstein2(self, x, y):
        """W₂ between the empirical measures of x and y for d = 1: |sort x − sort y|/√m.

        For d > 1 returns the chamber distance (an upper bound on W₂).
        """
        dx = self.project(x) - self.project(y)
        return jnp.sqrt(jnp.sum(dx**2) / self.m)
