r"""Characteristics, Jacobi fields and the matrix Riccati equation of shock formation.

For :math:`u_t + H(x, \nabla u) = 0` the characteristics solve Hamilton's equations
:math:`\dot x = H_p`, :math:`\dot p = -H_x` from :math:`(x_0, p_0 = \nabla u_0(x_0))`. Their
variation with the foot, :math:`X = \partial x/\partial x_0`, :math:`P = \partial p/\partial x_0`,
solves the linear (Jacobi) system

.. math:: \dot X = H_{px} X + H_{pp} P, \qquad \dot P = -H_{xx} X - H_{xp} P,
          \qquad X(0) = I,\ P(0) = \nabla^2 u_0(x_0).

The shape operator :math:`S = P X^{-1}` (= :math:`\nabla p` along the characteristic) solves the
matrix Riccati equation; for :math:`H = \tfrac12|p|^2_g` in a parallel orthonormal frame it is
:math:`S' + S^2 + R(\cdot, p)p = 0`. ``S`` blows up exactly when ``det X`` reaches zero (a focal
point: neighbouring characteristics cross), so integrating the linear system, which stays finite,
and locating the first sign change of ``det X`` gives the blow-up time without stepping into
the pole of ``S``. On a space of constant curvature κ with :math:`k = κ|p|^2` and initial
eigenvalue :math:`λ_0` transverse to ``p`` the scalar equation :math:`s' + s^2 + k = 0` has the
closed form :func:`constant_curvature_blowup`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._fold import first_folds

__all__ = ["constant_curvature_blowup", "riccati_scalar_blowup", "jacobi_fold_times", "hamiltonian_flow_rhs"]


def constant_curvature_blowup(lam0, k):
    r"""Blow-up time of :math:`s' + s^2 + k = 0`, :math:`s(0) = λ_0`:
    :math:`t^* = [\pi/2 + \arctan(λ_0/\sqrt k)]/\sqrt k` for ``k > 0``; the flat limit ``k = 0``
    is :math:`t^* = -1/λ_0` for :math:`λ_0 < 0` and ``inf`` otherwise. Vectorised (numpy)."""
    lam0 = np.asarray(lam0, float)
    k = np.asarray(k, float)
    rk = np.sqrt(np.maximum(k, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        curved = (0.5 * np.pi + np.arctan(lam0 / np.where(rk > 0, rk, 1.0))) / np.where(rk > 0, rk, 1.0)
        flat = np.where(lam0 < 0, -1.0 / np.where(lam0 < 0, lam0, -1.0), np.inf)
    out = np.where(rk > 0, curved, flat)
    return float(out) if out.ndim == 0 else out


def riccati_scalar_blowup(lam0: float, k: float, t_max: float = 100.0, s_stop: float = 1e7) -> float:
    r"""Blow-up time of :math:`s' = -s^2 - k`, :math:`s(0) = λ_0`, by direct adaptive integration.

    diffrax (Tsit5, tight tolerances) integrates the Riccati equation itself until
    :math:`s < -s_{stop}`; near the pole :math:`s \approx -1/(t^*-t)`, so the remaining time
    :math:`1/|s|` is added. Returns ``inf`` if no blow-up before ``t_max``. (Used to test
    :func:`constant_curvature_blowup`.)
    """
    import diffrax

    term = diffrax.ODETerm(lambda t, s, args: -s * s - k)
    event = diffrax.Event(lambda t, s, args, **kw: s < -s_stop)
    sol = diffrax.diffeqsolve(term, diffrax.Tsit5(), t0=0.0, t1=float(t_max), dt0=1e-3, y0=jnp.asarray(float(lam0)),
                              stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
                              event=event, max_steps=1_000_000, throw=False)
    t_end, s_end = float(sol.ts[-1]), float(sol.ys[-1])
    if not (math.isfinite(s_end) and s_end < -0.5 * s_stop):
        return math.inf
    return t_end + 1.0 / abs(s_end)


def hamiltonian_flow_rhs(H: Callable):
    """Right-hand side of Hamilton's equations plus the Jacobi system (see module docstring)."""
    Hx = jax.grad(H, argnums=0)
    Hp = jax.grad(H, argnums=1)

    def flow(x, p):
        return Hp(x, p), -Hx(x, p)

    def rhs(t, y, args):
        x, p, X, P = y
        dx, dp = flow(x, p)
        dX, dP = jax.vmap(lambda a, b: jax.jvp(flow, (x, p), (a, b))[1], in_axes=1, out_axes=1)(X, P)
        return dx, dp, dX, dP

    return rhs


@partial(jax.jit, static_argnames=("H", "p0", "dp0", "n_save", "max_steps"))
def _fold_batch(x0, t_max, H, p0, dp0, n_save, max_steps):
    import diffrax

    rhs = hamiltonian_flow_rhs(H)
    ts = jnp.linspace(0.0, t_max, n_save)

    def one(x):
        d = x.shape[0]
        y0 = (x, p0(x), jnp.eye(d, dtype=x.dtype), dp0(x))
        save = diffrax.SaveAt(ts=ts, fn=lambda t, y, args: (jnp.linalg.det(y[2]), y[0], y[1]))
        sol = diffrax.diffeqsolve(diffrax.ODETerm(rhs), diffrax.Tsit5(), t0=0.0, t1=t_max, dt0=t_max / n_save,
                                  y0=y0, saveat=save,
                                  stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-10),
                                  max_steps=max_steps, throw=False)
        return sol.ys

    return ts, jax.vmap(one)(x0)


def jacobi_fold_times(H: Callable, p0: Callable, dp0: Callable, x0, t_max: float, n_save: int = 257,
                      max_steps: int = 20_000):
    r"""First focal time of the characteristic from each foot in ``x0`` (shape ``(B, d)``).

    Integrates Hamilton's equations and the Jacobi system with diffrax (vmapped over the feet),
    saving ``det X`` on ``n_save`` equally spaced times in ``[0, t_max]``; the first zero is
    located by :func:`solver.shocks._fold.first_folds` (sign change by a parabola through three
    samples, or an umbilic touch where two directions focus at once).

    Args:
        H: ``H(x, p)`` for one point (``(d,)`` arrays, scalar out); hashable (a plain function).
        p0, dp0: ``x -> ∇u0(x)`` (``(d,)``) and ``x -> ∇²u0(x)`` (``(d, d)``); hashable.

    Returns:
        ``(times, positions, momenta, err)`` as numpy arrays: ``times[b]`` the fold time
        (``inf`` if none before ``t_max`` or the trajectory failed), ``positions[b]``/``momenta[b]``
        the characteristic's ``x`` and ``p`` interpolated to the fold, ``err[b]`` the difference
        between the linear and parabolic root estimates (a time uncertainty).
    """
    x0 = jnp.asarray(x0)
    ts, (det, xs, ps) = _fold_batch(x0, jnp.asarray(float(t_max), x0.dtype), H, p0, dp0, int(n_save), int(max_steps))
    ts, det, xs, ps = (np.asarray(a) for a in (ts, det, xs, ps))
    B = det.shape[0]
    times, err, kfold = first_folds(ts, det)
    has = np.isfinite(times)
    k1 = np.clip(kfold, 1, len(ts) - 1)
    ar = np.arange(B)
    w = np.where(has, np.clip((np.where(has, times, 0.0) - ts[k1 - 1]) / (ts[1] - ts[0]), 0.0, 1.0), 1.0)[:, None]
    pos = (1 - w) * xs[ar, k1 - 1] + w * xs[ar, k1]
    mom = (1 - w) * ps[ar, k1 - 1] + w * ps[ar, k1]
    return times, pos, mom, err
