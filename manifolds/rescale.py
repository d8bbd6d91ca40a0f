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

Chart ``'polar'`` (n = 2 only; a diagonal metric for the finite-volume solver): θ =
ρ(cos ψ, sin ψ), coordinates ``(rho, psi)``, ρ ∈ (0, ∞) (ρ = 0 is the cone tip, a singular
face), ψ ∈ [0, 2π) periodic, :math:`g = \mathrm{diag}(1/\sqrt{c^2+4\rho^2},\ \rho^2/a^2)`
(c = 0: diag(1/(2ρ), ρ)).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .quotient import Quotient

__all__ = ["RescaleQuotient", "RESCALE_CHARTS"]

RESCALE_CHARTS = ("invariant", "polar")


class RescaleQuotient(Quotient):
    """(a, w) ~ (a/α, αw): chart θ = a w ∈ R^n \\ {0}, metric induced by gradient flow.

    Inverse metric a² I + |w|² θ̂θ̂ᵀ (see module docstring); conserved c = |w|² − a²
    (the field ``c`` fixes the level set, default 0 = balanced: a cone, singular at θ = 0).
    """

    n: int = eqx.field(static=True, default=2)
    c: float = eqx.field(static=True, default=0.0)
    chart: str = eqx.field(static=True, default="invariant")

    def __check_init__(self):
        if not (isinstance(self.n, int) and self.n >= 1):
            raise ManifoldError(f"rescale: input dimension n must be a positive integer, got {self.n!r}")
        if self.chart not in RESCALE_CHARTS:
            raise ManifoldError(f"rescale: unknown chart {self.chart!r}; valid charts: {', '.join(RESCALE_CHARTS)}")
        if self.chart == "polar" and self.n != 2:
            raise ManifoldError(f"rescale: the 'polar' chart exists for n = 2 only, got n={self.n}")

    @property
    def name(self):
        return "rescale"

    @property
    def chart_name(self):
        return self.chart

    @property
    def _polar(self):
        return self.chart == "polar"

    @property
    def coordinate_names(self):
        if self._polar:
            return ("rho", "psi")
        return ("q",) if self.n == 1 else tuple(f"q{i + 1}" for i in range(self.n))

    @property
    def domain(self):
        if self._polar:
            return ((0.0, 0.0), (math.inf, 2 * math.pi))
        return ((-math.inf,) * self.n, (math.inf,) * self.n)

    @property
    def singular(self):
        if self._polar:
            return (("singular", "open"), ("periodic", "periodic"))
        return (("open", "open"),) * self.n

    def to_embedding(self, x):
        """Chart -> θ = a·w ∈ R^n (identity for the invariant chart)."""
        if self._polar:
            return x[0] * jnp.stack([jnp.cos(x[1]), jnp.sin(x[1])])
        return jnp.asarray(x)

    def from_embedding(self, X):
        if self._polar:
            return jnp.stack([jnp.linalg.norm(X), jnp.mod(jnp.arctan2(X[1], X[0]), 2 * jnp.pi)])
        return jnp.asarray(X)

    def _extra_check(self, x):
        if not self._polar and np.all(x == 0):
            return "theta = a*w = 0 is the cone tip (singular set of the rescale quotient)"
        return None

    @property
    def total_dim(self):
        return 1 + self.n

    def _a2_w2(self, x, c):
        c = self.c if c is None else c
        r2 = x[0] ** 2 if self._polar else x @ x
        root = jnp.sqrt(c**2 + 4 * r2)
        return (root - c) / 2, (root + c) / 2

    def inverse_metric(self, x, c=None):
        """K = a² I + |w|² θ̂θ̂ᵀ (polar: diag(a² + |w|², a²/ρ²))."""
        a2, w2 = self._a2_w2(x, c)
        if self._polar:
            return jnp.diag(jnp.stack([a2 + w2, a2 / x[0] ** 2]))
        P = jnp.outer(x, x) / (x @ x)
        return a2 * jnp.eye(self.n, dtype=x.dtype) + w2 * P

    def metric(self, x, c=None):
        """g = K⁻¹ = a⁻² (I − |w|²/(a² + |w|²) θ̂θ̂ᵀ); c = 0: |θ|⁻¹(I − ½ θ̂θ̂ᵀ)."""
        a2, w2 = self._a2_w2(x, c)
        if self._polar:
            return jnp.diag(jnp.stack([1.0 / (a2 + w2), x[0] ** 2 / a2]))
        P = jnp.outer(x, x) / (x @ x)
        return (jnp.eye(self.n, dtype=x.dtype) - w2 / (a2 + w2) * P) / a2

    def project(self, theta):
        """(a, w) -> a w (in the chosen chart)."""
        return self.from_embedding(theta[0] * theta[1:])

    def section(self, x):
        """The lift with a > 0 on the level set c: a = sqrt(a²), w = θ/a."""
        a2, _ = self._a2_w2(x, None)
        a = jnp.sqrt(a2)
        return jnp.concatenate([a[None], self.to_embedding(x) / a])

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
