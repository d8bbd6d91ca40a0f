r"""The classical HJ benchmark :math:`\varphi_t + \tfrac12(\varphi_x + 1)^2 = 0` (Osher–Shu).

1-D: :math:`\varphi_0 = -\cos(\pi x)` on :math:`[-1, 1)` periodic. With
:math:`H(p) = \tfrac12(p+1)^2`, :math:`H'(p) = p + 1`, characteristics are straight lines
:math:`x = y + t\,(p_0(y) + 1)`, :math:`p_0 = \varphi_0' = \pi\sin(\pi y)`, carrying
:math:`p = p_0(y)` and

.. math:: \varphi(x,t) = \varphi_0(y) + t\,(p\,H'(p) - H(p)) = \varphi_0(y) + \tfrac t2 (p^2 - 1).

They cross first where :math:`1 + t\,\pi^2\cos(\pi y) = 0`: the kink time is
:math:`t^* = 1/\pi^2`. For any ``t`` the convex Hamiltonian gives the Hopf–Lax form
(substituting :math:`\varphi = v - x`, :math:`v_t + \tfrac12 v_x^2 = 0`):
:math:`\varphi(x,t) = \min_y\{\varphi_0(y) + y + (x-y)^2/(2t)\} - x`.

2-D: :math:`\varphi_t + \tfrac12(\varphi_x + \varphi_y + 1)^2 = 0`,
:math:`\varphi_0 = -\cos(\pi(x+y)/2)` on :math:`[-2, 2)^2`. With :math:`s = (x+y)/2` and
:math:`\varphi = f(s,t)`: :math:`\varphi_x + \varphi_y = f_s`, so ``f`` solves the 1-D problem
above with :math:`f_0(s) = -\cos(\pi s)`; :math:`\varphi(x, y, t) = f((x+y)/2, t)`.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import QShockInputError
from ._common import safeguarded_newton, smallest_separated

__all__ = ["HJ_COS_KINK_TIME", "hj_cos_1d", "hj_cos_2d"]

HJ_COS_KINK_TIME = 1.0 / np.pi**2


@partial(jax.jit, static_argnames=("n_iter",))
def _characteristics(x, t, n_iter):
    pi = jnp.pi

    def g(y):
        return y + t * (pi * jnp.sin(pi * y) + 1.0) - x, 1.0 + t * pi**2 * jnp.cos(pi * y)

    lo = x - t * (1.0 + pi)
    hi = x + t * (pi - 1.0)
    y = safeguarded_newton(g, lo, hi, x - t, n_iter)
    p = pi * jnp.sin(pi * y)
    return -jnp.cos(pi * y) + 0.5 * t * (p**2 - 1.0), p


@partial(jax.jit, static_argnames=("n_search", "n_iter"))
def _hopf_lax_1d(x, t, n_search, n_iter):
    pi = jnp.pi
    # F(y) = phi0(y) + y + (x - y)^2/(2t); all minimisers satisfy x - y = t (p0(y) + 1)
    margin = 0.05 * t + 1e-3
    lo = x - t * (1.0 + pi) - margin
    hi = x + t * (pi - 1.0) + margin
    s = jnp.linspace(0.0, 1.0, n_search)
    ys = lo[:, None] + (hi - lo)[:, None] * s[None, :]
    F = -jnp.cos(pi * ys) + ys + (x[:, None] - ys) ** 2 / (2 * t)
    # refine the 3 best discrete local minima by Newton on F'(y) = 0
    interior = (F[:, 1:-1] <= F[:, :-2]) & (F[:, 1:-1] <= F[:, 2:])
    Fi = jnp.where(interior, F[:, 1:-1], jnp.inf)
    cols = jnp.arange(Fi.shape[1])
    pos, Fc = smallest_separated(Fi, 3, lambda i: jnp.abs(cols - i) > 2)
    yc = jnp.take_along_axis(ys[:, 1:-1], pos, axis=1)
    dy = ((hi - lo) / (n_search - 1))[:, None]
    xc = x[:, None]

    def g(y):
        return y + t * (pi * jnp.sin(pi * y) + 1.0) - xc, 1.0 + t * pi**2 * jnp.cos(pi * y)

    yr = safeguarded_newton(g, yc - dy, yc + dy, yc, n_iter)
    Fr = -jnp.cos(pi * yr) + yr + (xc - yr) ** 2 / (2 * t)
    Fr = jnp.where(jnp.isfinite(Fc), Fr, jnp.inf)
    b = jnp.argmin(Fr, axis=1)
    y = jnp.take_along_axis(yr, b[:, None], axis=1)[:, 0]
    return jnp.min(Fr, axis=1) - x, pi * jnp.sin(pi * y)


def hj_cos_1d(x, t: float, *, method: str = "auto", return_gradient: bool = False, n_search: int = 4001):
    r"""Exact :math:`\varphi(x,t)` of :math:`\varphi_t + \tfrac12(\varphi_x+1)^2 = 0`, :math:`\varphi_0 = -\cos\pi x`.

    ``method``: ``"characteristics"`` (Newton on :math:`x = y + t(\pi\sin\pi y + 1)`, valid
    for ``t < 1/π²``), ``"hopf_lax"`` (any ``t``: dense search + Newton over the foot),
    ``"auto"`` (characteristics before the kink). ``return_gradient`` also returns
    :math:`\varphi_x = p_0(y^*)`.
    """
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise QShockInputError(f"time t must be finite and >= 0, got {t}")
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    if t == 0.0:
        phi, p = -jnp.cos(jnp.pi * x), jnp.pi * jnp.sin(jnp.pi * x)
    else:
        if method == "auto":
            method = "characteristics" if t < HJ_COS_KINK_TIME else "hopf_lax"
        flat = x.reshape(-1)
        tt = jnp.asarray(t, flat.dtype)
        if method == "characteristics":
            if t >= HJ_COS_KINK_TIME:
                raise QShockInputError(f"characteristics are valid only before the kink t* = 1/pi^2, got t = {t}")
            phi, p = _characteristics(flat, tt, 80)
        elif method == "hopf_lax":
            phi, p = _hopf_lax_1d(flat, tt, int(n_search), 60)
        else:
            raise QShockInputError(f"unknown method {method!r}; expected auto, characteristics or hopf_lax")
        phi, p = phi.reshape(x.shape), p.reshape(x.shape)
    return (phi, p) if return_gradient else phi


def hj_cos_2d(x, y, t: float, **kw):
    r"""Exact solution of :math:`\varphi_t + \tfrac12(\varphi_x + \varphi_y + 1)^2 = 0`,
    :math:`\varphi_0 = -\cos(\pi(x+y)/2)` on :math:`[-2,2)^2`: :math:`\varphi = f((x+y)/2, t)`
    with ``f`` from :func:`hj_cos_1d` (same keywords; the gradient returned is
    :math:`(\varphi_x, \varphi_y) = (f_s/2, f_s/2)`)."""
    s = 0.5 * (jnp.asarray(x) + jnp.asarray(y))
    out = hj_cos_1d(s, t, **kw)
    if kw.get("return_gradient"):
        phi, fs = out
        return phi, (0.5 * fs, 0.5 * fs)
    return out
