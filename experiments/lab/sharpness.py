"""Sharpness: top Hessian eigenvalues by Lanczos on Hessian-vector products.

* raw sharpness        lambda_max(H),               H = nabla^2 L(theta)
* preconditioned       lambda_max(P^{-1} H) = lambda_max(P^{-1/2} H P^{-1/2}),
  (Adam)               P = diag(sqrt(nu_hat) + eps), nu_hat = nu / (1 - b2^t)  (Cohen et al. 2022)
* quotient sharpness   lambda_max(Pi_h H(theta_s) Pi_h), theta_s = sigma(pi(theta)) the canonical
                       section point (``qshock.experiments.lab.observables.project``) and Pi_h the orthogonal
                       projector onto the horizontal space (orthogonal complement of the orbit
                       tangent space) at theta_s. This is the Hessian of the loss pulled back to the
                       quotient chart given by the section, in the metric the section inherits from
                       the Euclidean parameter metric. It is gauge invariant: theta and g.theta have
                       the same theta_s (up to an isometry). For the scale symmetry it equals
                       |w|^2 lambda_max(Pi H(theta) Pi) with Pi the tangent projector of the sphere.

Lanczos uses full reorthogonalisation (twice, classical Gram-Schmidt) and restarts with a
random orthogonal vector on breakdown, so with ``iters == dim`` it returns the whole spectrum.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

__all__ = ["hvp", "lanczos", "top_eigs", "sharpness", "preconditioned_sharpness", "quotient_sharpness",
           "horizontal_projector"]


def hvp(loss: Callable, theta, v):
    """Hessian-vector product H v = d/de grad L(theta + e v) at e = 0 (forward-over-reverse)."""
    return jax.jvp(jax.grad(loss), (theta,), (v,))[1]


def lanczos(matvec: Callable, v0, iters: int, key, proj: Callable | None = None):
    """Lanczos tridiagonalisation of a symmetric operator: returns (alpha, beta, V) with
    V^T A V = tridiag(beta, alpha, beta), V of shape (iters, n) orthonormal.

    ``proj`` (optional, an orthogonal projector v -> P v) restricts the iteration to range(P):
    the start vector and the random restart vectors are projected, so with a ``matvec`` that
    maps range(P) into itself every Lanczos vector lies in range(P) (``iters`` must not
    exceed its dimension)."""
    if proj is not None:
        v0 = proj(v0)
    n = v0.shape[0]
    V = jnp.zeros((iters + 1, n), v0.dtype).at[0].set(v0 / jnp.linalg.norm(v0))

    def reorth(w, V):
        w = w - V.T @ (V @ w)
        return w - V.T @ (V @ w)

    def body(j, carry):
        V, alpha, beta = carry
        w = matvec(V[j])
        a = jnp.dot(w, V[j])
        w = reorth(w, V)
        b = jnp.linalg.norm(w)
        # breakdown: invariant subspace found, continue with a fresh orthogonal direction
        r = jax.random.normal(jax.random.fold_in(key, j), (n,), v0.dtype)
        r = reorth(r if proj is None else proj(r), V)
        scale = jnp.maximum(jnp.max(jnp.abs(alpha)), jnp.abs(a)) + 1e-300
        broke = b <= 1e-10 * scale
        w = jnp.where(broke, r / jnp.linalg.norm(r), w / jnp.where(broke, 1.0, b))
        return V.at[j + 1].set(w), alpha.at[j].set(a), beta.at[j].set(jnp.where(broke, 0.0, b))

    zeros = jnp.zeros(iters, v0.dtype)
    V, alpha, beta = jax.lax.fori_loop(0, iters, body, (V, zeros, zeros))
    return alpha, beta, V[:iters]


def top_eigs(matvec: Callable, dim: int, key, iters: int = 20, k: int = 3, dtype=None):
    """Top-k Ritz values (descending) of a symmetric operator on R^dim, and the top Ritz vector."""
    iters = int(min(iters, dim))
    k = int(min(k, iters))
    k0, k1 = jax.random.split(key)
    v0 = jax.random.normal(k0, (dim,), dtype or jnp.result_type(float))
    alpha, beta, V = lanczos(matvec, v0, iters, k1)
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    evals, evecs = jnp.linalg.eigh(T)
    top = evals[::-1][:k]
    vec = V.T @ evecs[:, -1]
    return top, vec / jnp.linalg.norm(vec)


def sharpness(loss: Callable, theta, key, iters: int = 20, k: int = 3):
    """Top-k eigenvalues of the Hessian of ``loss`` at ``theta`` and the top eigenvector."""
    return top_eigs(lambda v: hvp(loss, theta, v.astype(theta.dtype)), theta.shape[0], key, iters, k, theta.dtype)


def preconditioned_sharpness(loss: Callable, theta, precond, key, iters: int = 20, k: int = 1):
    """Top-k eigenvalues of P^{-1} H (computed as P^{-1/2} H P^{-1/2}); ``precond`` is diag(P) > 0."""
    s = 1.0 / jnp.sqrt(precond)
    top, _ = top_eigs(lambda v: s * hvp(loss, theta, (s * v).astype(theta.dtype)), theta.shape[0], key, iters, k, theta.dtype)
    return top


def horizontal_projector(J):
    """v -> v - J (J^T J)^+ J^T v: orthogonal projector onto the complement of span(J)."""
    if J.shape[1] == 0:
        return lambda v: v
    G = jnp.linalg.pinv(J.T @ J, hermitian=True)
    return lambda v: v - J @ (G @ (J.T @ v))


def quotient_sharpness(loss: Callable, theta_s, J, key, iters: int = 20, k: int = 1):
    """Top-k eigenvalues of Pi_h H(theta_s) Pi_h (see module docstring); J = orbit tangents at theta_s."""
    proj = horizontal_projector(J)
    top, _ = top_eigs(lambda v: proj(hvp(loss, theta_s, proj(v).astype(theta_s.dtype))),
                      theta_s.shape[0], key, iters, k, theta_s.dtype)
    return top
