"""Verify rows: Hamilton–Jacobi — Hopf–Lax after the kink, and the WENO5 order on Osher–Shu data."""

from __future__ import annotations

import numpy as np

from .common import TWO_PI, order_of
from .registry import check


@check("Hopf–Lax (HJ after the kink)", "u = min_y u0(y) + |x-y|²/2t; WENO5 Godunov-H, u0 = cos x, t = 2",
       "L1 error -> 0, order >= 0.8")
def hopf_lax(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.exact import hopf_lax_periodic
    from qshock.solver.stepping import solve

    ns = ctx.sizes([64, 128], [64, 128, 256])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        x = g.centres()
        s = solve(HamiltonJacobi(), g, jnp.cos(x), 2.0, scheme=ctx.scheme("weno5"))
        ex, _ = hopf_lax_periodic(lambda y: jnp.cos(y[0]), x, 2.0, [TWO_PI], n_search=512)
        errs.append(float(np.mean(np.abs(np.asarray(s.u[-1]) - np.asarray(ex)))))
    o = order_of(ns, errs)
    return f"order {o:.2f}, mean error {errs[-1]:.2e}", o >= 0.8 and errs[-1] < 1e-2


@check("Order: HJ WENO5", "Osher–Shu φ_t + (φ_x + 1)²/2 = 0, t = 1/(2π²), LLF", ">= 4.3")
def hj_weno5_order(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.exact import HJ_COS_KINK_TIME, hj_cos_1d
    from qshock.solver.stepping import solve

    ns = ctx.sizes([20, 40, 80, 160], [20, 40, 80, 160, 320])
    errs = []
    t = 0.5 * HJ_COS_KINK_TIME
    for n in ns:
        g = Grid(-1, 1, n)
        x = g.centres()
        s = solve(HamiltonJacobi(lambda x, p: 0.5 * (jnp.sum(p) + 1.0) ** 2), g, -jnp.cos(jnp.pi * x), t,
                  scheme=ctx.scheme("weno5"), flux="llf", method="ssprk3-fixed", dt=0.2 * g.dx[0] ** (5 / 3))
        errs.append(float(np.mean(np.abs(np.asarray(s.u[-1]) - np.asarray(hj_cos_1d(x, t))))))
    ctx.figdata.setdefault("conv", {})["HJ weno5"] = (ns, errs)
    o = order_of(ns, errs)
    return f"{o:.2f}", o >= 4.3
