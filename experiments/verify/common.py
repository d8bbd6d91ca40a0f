"""Helpers shared by the check modules of ``qshock verify`` (orders, smooth Burgers data, L1 norms)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TWO_PI", "order_of", "sin_cell_average", "l1_error", "burgers_smooth_errors"]

TWO_PI = 2 * math.pi


def order_of(ns, errs) -> float:
    r"""Least-squares order :math:`p` of :math:`e(N) \approx C N^{-p}` (slope of log e vs log N)."""
    return float(-np.polyfit(np.log(ns), np.log(errs), 1)[0])


def sin_cell_average(g, offset: float = 0.0):
    r"""Exact cell averages of ``offset + sin x``: :math:`[\cos(x-h/2) - \cos(x+h/2)]/h`."""
    import jax.numpy as jnp

    x, h = g.centres(), g.dx[0]
    return offset + (jnp.cos(x - h / 2) - jnp.cos(x + h / 2)) / h


def l1_error(g, a, b) -> float:
    r"""Discrete :math:`L^1` distance :math:`\sum_i |a_i - b_i|\,\Delta x` on a 1-D grid."""
    return float(np.sum(np.abs(np.asarray(a) - np.asarray(b))) * g.dx[0])


def burgers_smooth_errors(scheme: str, ns) -> list[float]:
    """L1 errors of ``scheme`` for Burgers ``u0 = sin x`` at t = 0.5 (before the shock at t = 1).

    Exact cell averages come from the Lax–Oleinik formula by 6-point Gauss–Legendre; SSP-RK3 with
    ``dt = 0.5 Δx^{5/3}`` keeps the time error below the fifth-order space error.
    """
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, lax_oleinik_burgers
    from qshock.solver.stepping import solve

    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        dt = 0.5 * g.dx[0] ** (5 / 3)
        s = solve(Burgers(), g, sin_cell_average(g), 0.5, scheme=scheme, method="ssprk3-fixed", dt=dt)
        ex = cell_average(lambda x: lax_oleinik_burgers(jnp.sin, x, 0.5), g, n_gauss=6)
        errs.append(l1_error(g, s.u[-1], ex))
    return errs
