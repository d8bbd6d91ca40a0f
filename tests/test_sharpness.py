"""Lanczos sharpness against dense Hessian eigendecompositions on a small real model."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from qshock.experiments.lab.data import load_dataset
from qshock.experiments.lab.models import MLP
from qshock.experiments.lab.sharpness import horizontal_projector, preconditioned_sharpness, quotient_sharpness, sharpness

DATA = load_dataset("teacher")
X, Y = jnp.asarray(DATA.x[:128]), jnp.asarray(DATA.y[:128])
MODEL = MLP(16, [4], 1, jax.random.PRNGKey(0), activation="tanh")
PARAMS, STATIC = eqx.partition(MODEL, eqx.is_array)
THETA, UNRAVEL = ravel_pytree(PARAMS)
P = THETA.shape[0]


def loss(theta):
    out = jax.vmap(eqx.combine(UNRAVEL(theta), STATIC))(X)
    return 0.5 * jnp.mean(jnp.sum((out - Y) ** 2, axis=1))


H = np.asarray(jax.hessian(loss)(THETA))
EIG = np.linalg.eigvalsh(H)[::-1]


@jax.jit
def _lanczos_full(theta, key):
    return sharpness(loss, theta, key, iters=P, k=3)


def test_lanczos_equals_dense_hessian():
    top, vec = _lanczos_full(THETA, jax.random.PRNGKey(3))
    np.testing.assert_allclose(np.asarray(top), EIG[:3], rtol=1e-6, atol=1e-9)
    # Ritz vector is an eigenvector: |H v - lambda v| small
    assert np.linalg.norm(H @ np.asarray(vec) - EIG[0] * np.asarray(vec)) < 1e-6 * abs(EIG[0])


def test_lanczos_top_eigenvalue_converges_with_few_iterations():
    top, _ = jax.jit(lambda th: sharpness(loss, th, jax.random.PRNGKey(5), iters=40, k=1))(THETA)
    assert abs(float(top[0]) - EIG[0]) < 1e-6 * abs(EIG[0])


def test_preconditioned_sharpness_equals_dense():
    d = 0.5 + np.abs(np.sin(np.arange(P)))  # a positive diagonal preconditioner
    top = jax.jit(lambda th: preconditioned_sharpness(loss, th, jnp.asarray(d), jax.random.PRNGKey(1), iters=P))(THETA)
    s = 1 / np.sqrt(d)
    ref = np.linalg.eigvalsh(s[:, None] * H * s[None, :]).max()
    ref2 = np.max(np.linalg.eigvals(np.diag(1 / d) @ H).real)  # lambda_max(P^{-1} H)
    assert abs(float(top[0]) - ref) < 1e-6 * abs(ref)
    assert abs(ref - ref2) < 1e-8 * abs(ref)


def test_quotient_sharpness_equals_dense_projected_hessian():
    J = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (P, 5)))
    top = jax.jit(lambda th, J: quotient_sharpness(loss, th, J, jax.random.PRNGKey(4), iters=P))(THETA, jnp.asarray(J))
    Q, _ = np.linalg.qr(J)
    Pi = np.eye(P) - Q @ Q.T
    ref = np.linalg.eigvalsh(Pi @ H @ Pi).max()
    assert abs(float(top[0]) - ref) < 1e-6 * abs(ref)
    v = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (P,)))
    np.testing.assert_allclose(np.asarray(horizontal_projector(jnp.asarray(J))(jnp.asarray(v))), Pi @ v, atol=1e-12)
