r"""The unit sphere :math:`S^{n-1}\subset\mathbb R^n` in a spherical or stereographic chart.

* ``chart='spherical'`` (n ≥ 3): angles ``theta_1..theta_{n-2}`` in (0, π) and ``phi`` in
  [0, 2π) (on S² the names are ``theta``, ``phi``). Embedding
  :math:`X_n = \cos\theta_1`, :math:`X_{n-k} = \sin\theta_1\cdots\sin\theta_k\cos\theta_{k+1}`,
  :math:`X_1 = S\cos\phi`, :math:`X_2 = S\sin\phi` with :math:`S=\prod_k\sin\theta_k`; on S²
  this is :math:`(\sin\theta\cos\phi, \sin\theta\sin\phi, \cos\theta)`. Metric
  :math:`\mathrm{diag}(1, \sin^2\theta_1, \dots, \prod_k\sin^2\theta_k)`; every theta face
  is singular (√G = 0 at the poles). For n = 2 the chart is the angle ``phi``.
* ``chart='stereographic'``: :math:`y = X_{1..n-1}/(1 - X_n)` (projection from the north
  pole :math:`X_n = 1`, which sits at infinity), coordinates ``y1, ..., y_{n-1}`` on
  :math:`\mathbb R^{n-1}`, conformal metric :math:`4/(1+|y|^2)^2\,I`.

Closed forms (checked against autodiff in the tests): inverse metric, log √G, Christoffel
symbols, and exp/log through the embedding (great circles).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from .base import Manifold, diagonal_christoffel
from .errors import ManifoldError

__all__ = ["Sphere", "SPHERE_CHARTS"]

SPHERE_CHARTS = ("spherical", "stereographic")


class Sphere(Manifold):
    """Unit sphere S^{n-1} ⊂ R^n with the round metric induced by the Euclidean embedding.

    Args:
        n: ambient dimension (``Sphere(3)`` is S²).
        chart: ``'spherical'`` or ``'stereographic'``.
    """

    n: int = eqx.field(static=True, default=3)
    chart: str = eqx.field(static=True, default="spherical")

    def __check_init__(self):
        if not (isinstance(self.n, int) and self.n >= 2):
            raise ManifoldError(f"sphere: ambient dimension n must be an integer >= 2, got {self.n!r}")
        if self.chart not in SPHERE_CHARTS:
            raise ManifoldError(f"sphere: unknown chart {self.chart!r}; valid charts: {', '.join(SPHERE_CHARTS)}")

    @property
    def name(self):
        return "sphere"

    @property
    def chart_name(self):
        return self.chart

    @property
    def _spherical(self):
        return self.chart == "spherical"

    # ------------------------------------------------------------------ chart
    @property
    def coordinate_names(self):
        d = self.n - 1
        if not self._spherical:
            return tuple(f"y{i + 1}" for i in range(d))
        if d == 1:
            return ("phi",)
        if d == 2:
            return ("theta", "phi")
        return tuple(f"theta{i + 1}" for i in range(d - 1)) + ("phi",)

    @property
    def domain(self):
        d = self.n - 1
        if not self._spherical:
            return ((-math.inf,) * d, (math.inf,) * d)
        return ((0.0,) * d, (math.pi,) * (d - 1) + (2 * math.pi,))

    @property
    def singular(self):
        d = self.n - 1
        if not self._spherical:
            return (("open", "open"),) * d
        return (("singular", "singular"),) * (d - 1) + (("periodic", "periodic"),)

    def to_embedding(self, x):
        """Chart point -> unit vector X ∈ R^n."""
        x = jnp.asarray(x)
        if not self._spherical:
            s = x @ x
            return jnp.concatenate([2 * x, (s - 1)[None]]) / (1 + s)
        thetas, phi = x[:-1], x[-1]
        sins = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.cumprod(jnp.sin(thetas))])  # S_0..S_{n-2}
        # X_{n-k} = S_k cos θ_{k+1} for k = 0..n-3 (X indices 1-based)
        upper = sins[:-1] * jnp.cos(thetas)  # [X_n, X_{n-1}, ..., X_3]
        S = sins[-1]
        return jnp.concatenate([jnp.stack([S * jnp.cos(phi), S * jnp.sin(phi)]), upper[::-1]])

    def from_embedding(self, X):
        """Point of R^n \\ {0} -> chart point of X/|X|."""
        X = jnp.asarray(X)
        X = X / jnp.linalg.norm(X)
        if not self._spherical:
            return X[:-1] / (1 - X[-1])
        n = self.n
        phi = jnp.mod(jnp.arctan2(X[1], X[0]), 2 * jnp.pi)
        # θ_k = atan2(|X_{1..n-k}|, X_{n-k+1}), k = 1..n-2 (1-based X indices)
        tail2 = jnp.cumsum(X**2)  # tail2[j] = Σ_{i<=j} X_i² (0-based)
        ks = jnp.arange(1, n - 1)
        thetas = jnp.arctan2(jnp.sqrt(tail2[n - ks - 1]), X[n - ks])
        return jnp.concatenate([thetas, phi[None]])

    # ------------------------------------------------------------------ metric
    def _log_scales(self, x):
        """s_k with g = diag(e^{2 s_k}), and D[k, j] = ∂_j s_k."""
        d = self.n - 1
        if not self._spherical:
            s = jnp.log(2.0) - jnp.log1p(x @ x)
            ds = -2 * x / (1 + x @ x)
            return jnp.full((d,), s), jnp.broadcast_to(ds, (d, d))
        thetas = x[:-1]
        logsin = jnp.log(jnp.sin(thetas))
        s = jnp.concatenate([jnp.zeros((1,), x.dtype), jnp.cumsum(logsin)])
        cot = jnp.concatenate([jnp.cos(thetas) / jnp.sin(thetas), jnp.zeros((1,), x.dtype)])
        k = jnp.arange(d)
        D = jnp.where(k[None, :] < k[:, None], cot[None, :], 0.0)
        return s, D

    def metric(self, x):
        """Round metric: diag(1, sin²θ_1, ..., Π sin²θ_k) or 4/(1+|y|²)² I."""
        x = jnp.asarray(x)
        if not self._spherical:
            return (4.0 / (1 + x @ x) ** 2) * jnp.eye(self.n - 1, dtype=x.dtype)
        sins2 = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.cumprod(jnp.sin(x[:-1]) ** 2)])
        return jnp.diag(sins2)

    def inverse_metric(self, x):
        s, _ = self._log_scales(x)
        return jnp.diag(jnp.exp(-2 * s))

    def log_sqrt_det(self, x):
        s, _ = self._log_scales(x)
        return jnp.sum(s)

    def christoffel(self, x):
        s, D = self._log_scales(x)
        return diagonal_christoffel(s, D)

    # ------------------------------------------------------------------ geodesics
    def exp(self, x, v, t=1.0):
        """Great circle: exp_x(tv) = cos(t|V|) X + sin(t|V|) V/|V| with V = dX·v."""
        X, V = jax.jvp(self.to_embedding, (x,), (t * jnp.asarray(v, dtype=jnp.result_type(x, float)),))
        a2 = V @ V
        safe = jnp.where(a2 > 0, a2, 1.0)
        a = jnp.sqrt(safe)
        sinc = jnp.where(a2 > 0, jnp.sin(a) / a, 1.0 - a2 / 6)
        cos = jnp.where(a2 > 0, jnp.cos(a), 1.0 - a2 / 2)
        return self.from_embedding(cos * X + sinc * V)

    def log(self, x, y):
        """log_x(y) = α U/|U| pulled back to the chart, U = Y − (X·Y)X, α = angle(X, Y)."""
        X = self.to_embedding(x)
        Y = self.to_embedding(y)
        J = jax.jacfwd(self.to_embedding)(x)
        U = Y - (X @ Y) * X
        u2 = U @ U
        un = jnp.sqrt(jnp.where(u2 > 0, u2, 1.0))
        alpha = jnp.arctan2(un, X @ Y)
        scale = jnp.where(u2 > 0, alpha / un, 1.0)
        Vemb = scale * U
        return self.inverse_metric(x) @ (J.T @ Vemb)

    def distance(self, x, y):
        """Great-circle distance arccos(X·Y) (computed as atan2 for accuracy)."""
        X, Y = self.to_embedding(x), self.to_embedding(y)
        return jnp.arctan2(jnp.linalg.norm(jnp.cross(X, Y)) if self.n == 3 else jnp.sqrt(jnp.maximum((X @ X) * (Y @ Y) - (X @ Y) ** 2, 0.0)), X @ Y)
