r"""Fold times of the characteristic map on the unit sphere, from closed-form great circles.

For :math:`H = \tfrac12|p|^2_g` on :math:`S^{n-1}` the characteristics are the great circles
:math:`X(t) = \cos(t|V|)X_0 + \sin(t|V|)V/|V|`, :math:`V = dX\,g^{-1}\nabla u_0(x_0)`. The map
:math:`x_0 \mapsto X(t; x_0)` folds where its signed Jacobian :math:`\det[X(t), \partial X/\partial x_0]`
(the area form of the sphere pulled back by the map; ``X`` is the unit normal) changes sign —
the same instant at which the Riccati solution :math:`S = \nabla p` blows up (Jacobi fields and
Riccati equation are two forms of one linear system, :mod:`solver.shocks.riccati`). The Jacobian
is exact (autodiff of the closed form), the crossing is bracketed on a time grid and polished by
Newton's method, and the embedding avoids the chart's poles along the way.
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._fold import first_folds

__all__ = ["sphere_fold_times"]


def _flow(manifold, grad_u0, x0, t):
    X0, V = jax.jvp(manifold.to_embedding, (x0,), (manifold.inverse_metric(x0) @ grad_u0(x0),))
    a = jnp.sqrt(V @ V + 1e-300)
    return jnp.cos(t * a) * X0 + jnp.sin(t * a) * V / a


def _signed_jac(manifold, grad_u0, x0, t):
    X = _flow(manifold, grad_u0, x0, t)
    J = jax.jacfwd(lambda y: _flow(manifold, grad_u0, y, t))(x0)
    return jnp.linalg.det(jnp.concatenate([X[:, None], J], axis=1))


@partial(jax.jit, static_argnames=("manifold", "grad_u0"))
def _batch(x0, ts, manifold, grad_u0):
    f = lambda x, t: _signed_jac(manifold, grad_u0, x, t)  # noqa: E731
    return jax.vmap(lambda x: jax.vmap(lambda t: f(x, t))(ts))(x0)


@partial(jax.jit, static_argnames=("manifold", "grad_u0"))
def _newton(x0, t, manifold, grad_u0):
    f = lambda s: _signed_jac(manifold, grad_u0, x0, s)  # noqa: E731

    def body(_, s):
        v, dv = jax.value_and_grad(f)(s)
        return s - v / jnp.where(dv == 0, 1.0, dv)

    s = jax.lax.fori_loop(0, 8, body, t)  # (a double root converges linearly, still to the fold)
    return s, _flow(manifold, grad_u0, x0, s)


def sphere_fold_times(manifold, grad_u0: Callable, x0, t_max: float, n_save: int = 513):
    """First fold time per foot (``inf`` if none before ``t_max``), plus the bracket width.

    ``manifold`` is a :class:`manifolds.Sphere`; ``grad_u0`` maps one chart point to the
    differential of the initial data (both hashable).
    """
    x0 = jnp.asarray(x0)
    ts = np.linspace(0.0, float(t_max), int(n_save))
    det = np.asarray(_batch(x0, jnp.asarray(ts), manifold, grad_u0))
    times, _, _ = first_folds(ts, det)
    return times, ts[1] - ts[0]


def sphere_fold_point(manifold, grad_u0, x0, t_guess):
    """Newton-polished fold time and the embedded fold point for one foot."""
    t, X = _newton(jnp.asarray(x0), jnp.asarray(float(t_guess)), manifold, grad_u0)
    return float(t), np.asarray(X)
