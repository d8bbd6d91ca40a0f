r"""GL(r) symmetry of factorised products :math:`W = UV^\top` (linear layers, attention :math:`W_QW_K^\top`).

Total space :math:`(U, V)\in\mathbb R^{m\times r}\times\mathbb R^{n\times r}`, flattened as
``[U.ravel(), V.ravel()]`` (row-major); the group acts by :math:`(U, V)\mapsto(UA, VA^{-\top})`,
:math:`A\in GL(r)`. Invariant: :math:`W = UV^\top`, a matrix of rank ≤ r. Conserved by gradient
flow of :math:`L = \ell(UV^\top)`: :math:`C = U^\top U - V^\top V` (since
:math:`\dot U = -\nabla\ell\,V`, :math:`\dot V = -\nabla\ell^\top U`).

Metric induced by balanced gradient flow (C = 0): then :math:`UU^\top = (WW^\top)^{1/2}` and
:math:`VV^\top = (W^\top W)^{1/2}`, so

.. math:: \dot W = -\dot{}\,\big[(WW^\top)^{1/2}\nabla\ell + \nabla\ell\,(W^\top W)^{1/2}\big] = -K_W(\nabla\ell).

:math:`K_W` is the inverse metric (``flow_operator``). In the SVD :math:`W = A\Sigma B^\top`
(σ padded with zeros) it is diagonal: :math:`(A^\top K_W(\xi)B)_{ij} = (\sigma_i+\sigma_j)
(A^\top\xi B)_{ij}`, so the metric is :math:`g(\xi,\xi) = \sum_{ij}(A^\top\xi B)_{ij}^2/(\sigma_i+\sigma_j)`.

Chart: W itself, flattened row-major (coordinates ``w{i}_{j}``). It is a chart of the quotient
only for full rank r = min(m, n) (an open subset of R^{m×n}; the singular set is rank < r);
for r < min(m, n) the quotient is the fixed-rank manifold and only the operator
``flow_operator``, ``project``, ``section`` and ``conserved`` are provided (``metric`` raises).
For m = 1 this reduces to the ReLU rescale quotient (U = a, V = w).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .errors import ManifoldError
from .quotient import Quotient

__all__ = ["FactorisedQuotient", "psd_sqrt"]


def psd_sqrt(S: jax.Array) -> jax.Array:
    """Square root of a symmetric positive semi-definite matrix via eigh (eigenvalues clipped at 0)."""
    lam, Q = jnp.linalg.eigh(S)
    return (Q * jnp.sqrt(jnp.clip(lam, 0.0))) @ Q.T


class FactorisedQuotient(Quotient):
    """(U, V) ~ (UA, VA^{-T}), A ∈ GL(r): chart W = UVᵀ, balanced-gradient-flow metric, conserved UᵀU − VᵀV."""

    m: int = eqx.field(static=True, default=2)
    n: int = eqx.field(static=True, default=2)
    r: int = eqx.field(static=True, default=2)

    def __check_init__(self):
        ok = all(isinstance(v, int) and v >= 1 for v in (self.m, self.n, self.r))
        if not ok or self.r > min(self.m, self.n):
            raise ManifoldError(
                f"factorised: need positive integers m, n and r <= min(m, n), got m={self.m!r}, n={self.n!r}, r={self.r!r}"
            )

    @property
    def name(self):
        return "factorised"

    @property
    def chart_name(self):
        return "matrix"

    @property
    def full_rank(self) -> bool:
        """Whether the W chart is a chart of the quotient (r = min(m, n))."""
        return self.r == min(self.m, self.n)

    @property
    def coordinate_names(self):
        return tuple(f"w{i + 1}_{j + 1}" for i in range(self.m) for j in range(self.n))

    @property
    def domain(self):
        k = self.m * self.n
        return ((-math.inf,) * k, (math.inf,) * k)

    def _extra_check(self, x):
        s = np.linalg.svd(x.reshape(self.m, self.n), compute_uv=False)
        if self.full_rank and s[-1] <= 1e-12 * max(s[0], 1.0):
            return f"W has rank < {self.r} (singular set of the factorised quotient); singular values {s.tolist()}"
        return None

    @property
    def total_dim(self):
        return (self.m + self.n) * self.r

    def _split(self, theta):
        k = self.m * self.r
        return theta[:k].reshape(self.m, self.r), theta[k:].reshape(self.n, self.r)

    def _require_full_rank(self):
        if not self.full_rank:
            raise ManifoldError(
                f"factorised: the W chart is a Riemannian chart only for r = min(m, n) = {min(self.m, self.n)}, "
                f"got r={self.r}; use flow_operator for fixed-rank matrices"
            )

    # ------------------------------------------------------------------ metric
    def flow_operator(self, W: jax.Array, xi: jax.Array) -> jax.Array:
        """K_W(ξ) = (WWᵀ)^{1/2} ξ + ξ (WᵀW)^{1/2}: balanced gradient flow is Ẇ = −K_W(∇ℓ). Any rank.

        Uses the thin SVD W = AΣBᵀ ((WWᵀ)^{1/2} = AΣAᵀ, (WᵀW)^{1/2} = BΣBᵀ), which stays
        accurate to round-off for rank-deficient W (an eigen-square-root would lose half the digits).
        """
        A, s, Bt = jnp.linalg.svd(W, full_matrices=False)
        return (A * s) @ (A.T @ xi) + (xi @ Bt.T * s) @ Bt

    def _metric_op(self, W, xi):
        """g_W(ξ) (lowered index) for full-rank W with m ≥ n, from the eigen-decomposition of WᵀW."""
        lam, B = jnp.linalg.eigh(W.T @ W)
        sig = jnp.sqrt(lam)
        A = (W @ B) / sig  # m × n, orthonormal columns
        core = (A.T @ xi @ B) / (sig[:, None] + sig[None, :])
        rest = (xi - A @ (A.T @ xi)) @ B / sig[None, :]
        return A @ core @ B.T + rest @ B.T

    def metric(self, x):
        """g = K_W⁻¹ as an (mn × mn) matrix, from the SVD-diagonal closed form (full rank only)."""
        self._require_full_rank()
        W = jnp.reshape(x, (self.m, self.n))
        eye = jnp.eye(self.m * self.n, dtype=jnp.result_type(x, float)).reshape(-1, self.m, self.n)
        if self.m >= self.n:
            cols = jax.vmap(lambda e: self._metric_op(W, e))(eye)
        else:
            cols = jax.vmap(lambda e: self._metric_op(W.T, e.T).T)(eye)
        return cols.reshape(self.m * self.n, -1).T

    def inverse_metric(self, x):
        """K_W = (WWᵀ)^{1/2} ⊗ I + I ⊗ (WᵀW)^{1/2} (row-major vec)."""
        self._require_full_rank()
        W = jnp.reshape(x, (self.m, self.n))
        if self.m >= self.n:
            Q = psd_sqrt(W.T @ W)
            P = W @ jnp.linalg.solve(Q, W.T)  # (WWᵀ)^{1/2} = W (WᵀW)^{-1/2} Wᵀ, smooth at full rank
        else:
            P = psd_sqrt(W @ W.T)
            Q = W.T @ jnp.linalg.solve(P, W)
        return jnp.kron(P, jnp.eye(self.n, dtype=W.dtype)) + jnp.kron(jnp.eye(self.m, dtype=W.dtype), Q)

    # ------------------------------------------------------------------ quotient
    def project(self, theta):
        """(U, V) -> W = UVᵀ, flattened."""
        U, V = self._split(theta)
        return (U @ V.T).reshape(-1)

    def section(self, x):
        """Balanced lift: W = A Σ Bᵀ (top r) -> U = A Σ^{1/2}, V = B Σ^{1/2} (UᵀU = VᵀV = Σ)."""
        W = jnp.reshape(x, (self.m, self.n))
        A, s, Bt = jnp.linalg.svd(W, full_matrices=False)
        rs = jnp.sqrt(s[: self.r])
        U = A[:, : self.r] * rs
        V = Bt[: self.r].T * rs
        return jnp.concatenate([U.reshape(-1), V.reshape(-1)])

    def conserved(self, theta):
        """C = UᵀU − VᵀV (r × r), flattened."""
        U, V = self._split(theta)
        return (U.T @ U - V.T @ V).reshape(-1)

    def group_action(self, theta, g):
        """(U, V) -> (U A, V A^{-T}) for A = g ∈ GL(r)."""
        U, V = self._split(theta)
        return jnp.concatenate([(U @ g).reshape(-1), jnp.linalg.solve(g, V.T).T.reshape(-1)])

    def random_group_element(self, key):
        return jnp.eye(self.r) + 0.3 * jax.random.normal(key, (self.r, self.r))

    def orbit_tangents(self, theta):
        """(U E, −V Eᵀ) for the basis E_ab of gl(r)."""
        U, V = self._split(theta)
        E = jnp.eye(self.r * self.r, dtype=jnp.result_type(theta, float)).reshape(-1, self.r, self.r)
        cols = jax.vmap(lambda e: jnp.concatenate([(U @ e).reshape(-1), (-V @ e.T).reshape(-1)]))(E)
        return cols.T

    def singular_values(self, x):
        """Singular values of W (chart point x), descending."""
        return jnp.linalg.svd(jnp.reshape(x, (self.m, self.n)), compute_uv=False)
