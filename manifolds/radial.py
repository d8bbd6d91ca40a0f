r"""The radial quotient :math:`\mathbb R^n/O(n) = [0,\infty)`: a weighted 1-D manifold.

Coordinate ``r = |x|``; metric :math:`g = 1` (the quotient map is a Riemannian submersion),
but the volume density is the orbit volume :math:`r^{n-1}` (the area of the sphere of radius r
up to the constant :math:`|S^{n-1}|`). So ``log_sqrt_det`` returns :math:`(n-1)\log r`
instead of :math:`\tfrac12\log\det g = 0`, and the Laplace–Beltrami operator of this weighted
manifold is :math:`\Delta f = f'' + \tfrac{n-1}{r}f'`, the radial part of the R^n Laplacian.
Γ = 0 and geodesics are straight lines in r (until they hit r = 0).

The face r = 0 is ``singular`` (zero volume, zero flux) for n ≥ 2 and a reflecting ``wall``
for n = 1 (R/O(1) = [0, ∞) with weight 1).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .errors import ManifoldError
from .quotient import Quotient

__all__ = ["RadialQuotient"]


class RadialQuotient(Quotient):
    """R^n / O(n) = [0, ∞), coordinate ``r``, metric 1, weight (volume density) r^{n−1}.

    Conserved quantity of gradient flow for an O(n)-invariant loss L(|x|): the direction
    x/|x| (the flow is radial). Orbit volume |S^{n−1}| r^{n−1} (here r^{n−1}), so isotropic
    noise gets the drift ν(n−1)/r (the Bessel-process drift).
    """

    n: int = eqx.field(static=True, default=2)

    def __check_init__(self):
        if not (isinstance(self.n, int) and self.n >= 1):
            raise ManifoldError(f"radial: ambient dimension n must be a positive integer, got {self.n!r}")

    @property
    def name(self):
        return "radial"

    @property
    def chart_name(self):
        return "radial"

    @property
    def coordinate_names(self):
        return ("r",)

    @property
    def domain(self):
        return ((0.0,), (math.inf,))

    @property
    def singular(self):
        return (("singular" if self.n >= 2 else "wall", "open"),)

    @property
    def total_dim(self):
        return self.n

    @property
    def weighted(self):
        return True

    def metric(self, x):
        return jnp.ones((1, 1), dtype=jnp.result_type(x, float))

    def inverse_metric(self, x):
        return jnp.ones((1, 1), dtype=jnp.result_type(x, float))

    def log_sqrt_det(self, x):
        """log of the weight r^{n−1} (weighted manifold: not ½ log det g)."""
        return (self.n - 1) * jnp.log(x[0])

    def christoffel(self, x):
        return jnp.zeros((1, 1, 1), dtype=jnp.result_type(x, float))

    def laplace_beltrami(self, f, x):
        """Δf = f'' + (n−1)/r f' (closed form)."""
        d1 = jax.grad(f)
        d2 = jax.hessian(f)(x)[0, 0]
        return d2 + (self.n - 1) / x[0] * d1(x)[0]

    def exp(self, x, v, t=1.0):
        return jnp.asarray(x) + t * jnp.asarray(v)

    def log(self, x, y):
        return jnp.asarray(y) - jnp.asarray(x)

    def to_embedding(self, x):
        """r -> the point r e_1 of R^n (the section)."""
        return self.section(x)

    def from_embedding(self, X):
        return self.project(X)

    def project(self, theta):
        """x ∈ R^n -> r = |x|."""
        return jnp.linalg.norm(theta)[None]

    def section(self, x):
        """r -> r e_1."""
        return jnp.zeros((self.n,), dtype=jnp.result_type(x, float)).at[0].set(x[0])

    def conserved(self, theta):
        """x/|x|: gradient flow of an O(n)-invariant loss moves x only radially."""
        return theta / jnp.linalg.norm(theta)

    def group_action(self, theta, g):
        """Q ∈ O(n) acts by x -> Q x."""
        return g @ theta

    def random_group_element(self, key):
        """Haar-random orthogonal matrix (QR of a Gaussian matrix with sign fix)."""
        q, r = jnp.linalg.qr(jax.random.normal(key, (self.n, self.n)))
        return q * jnp.sign(jnp.diag(r))[None, :]

    def orbit_tangents(self, theta):
        """Tangents A x for a basis of antisymmetric A (spans the sphere through x)."""
        n = self.n
        i, j = jnp.triu_indices(n, 1)
        basis = jnp.zeros((i.shape[0], n, n)).at[jnp.arange(i.shape[0]), i, j].set(1.0)
        basis = basis - jnp.swapaxes(basis, 1, 2)
        return (basis @ theta).T

    def log_orbit_volume(self, x):
        """log r^{n−1}: the orbit of r e_1 is the sphere of radius r."""
        return (self.n - 1) * jnp.log(x[0])
