"""Verify rows: Burgers — exact solutions (Cole–Hopf, Lax–Oleinik, Riemann), orders, conservation, entropy."""

from __future__ import annotations

import numpy as np

from .common import TWO_PI, burgers_smooth_errors, l1_error, order_of, sin_cell_average
from .registry import check


@check("Cole–Hopf (viscous Burgers)", "u = -2ν ∂x log φ, φ_t = ν φ_xx (Bessel series); WENO5 + 4th-order diffusion",
       "max error order >= 3.5")
def cole_hopf(ctx):
    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import burgers_sin_bessel, cell_average
    from qshock.solver.stepping import solve

    nu, t1 = 0.1, 0.5
    ns = ctx.sizes([32, 64], [32, 64, 128])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        dt = min(0.1 * g.dx[0] ** 2 / nu, 0.5 * g.dx[0] ** (5 / 3))
        s = solve(Burgers(nu), g, sin_cell_average(g), t1, scheme=ctx.scheme("weno5"), diffusion_order=4,
                  method="ssprk3-fixed", dt=dt)
        ex = cell_average(lambda x: burgers_sin_bessel(x, t1, nu), g, n_gauss=6)
        errs.append(float(np.max(np.abs(np.asarray(s.u[-1]) - ex))))
    ctx.figdata.setdefault("conv", {})["Cole–Hopf WENO5"] = (ns, errs)
    o = order_of(ns, errs)
    return f"order {o:.2f} (errors {', '.join(f'{e:.1e}' for e in errs)})", o >= 3.5


@check("Lax–Oleinik (after the shock)", "u = (x - y*)/t, y* = argmin U0(y) + (x-y)²/2t; Godunov, t = 2",
       "L1 order in [0.7, 1.5]")
def lax_oleinik(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, lax_oleinik_burgers
    from qshock.solver.stepping import solve

    ns = ctx.sizes([64, 128], [100, 200, 400])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        s = solve(Burgers(), g, sin_cell_average(g, 0.5), 2.0, scheme=ctx.scheme("godunov"))
        ref = cell_average(lambda x: lax_oleinik_burgers(lambda y: 0.5 + jnp.sin(y), x, 2.0), g, n_gauss=6)
        errs.append(l1_error(g, s.u[-1], ref))
    o = order_of(ns, errs)
    return f"order {o:.2f}, L1 {errs[-1]:.2e}", 0.7 <= o <= 1.5


def _order_check(scheme: str, expected_min: float, expected_max: float | None = None):
    """A row measuring the L1 order of ``scheme`` on smooth Burgers data (see ``burgers_smooth_errors``)."""
    weno = scheme.startswith("weno")

    def fn(ctx):
        # WENO reaches its asymptotic order from N ~ 100 on this problem
        ns = ctx.sizes([160, 320], [80, 160, 320]) if weno else ctx.sizes([80, 160], [40, 80, 160, 320])
        errs = burgers_smooth_errors(ctx.scheme(scheme), ns)
        ctx.figdata.setdefault("conv", {})[f"Burgers {scheme}"] = (ns, errs)
        o = order_of(ns, errs)
        ok = o >= expected_min and (expected_max is None or o <= expected_max)
        return f"{o:.2f}", ok
    return fn


for _s, _lo, _hi, _txt in (("godunov", 0.8, 1.3, "≈ 1"), ("muscl", 1.7, 2.6, "≈ 2"),
                           ("weno5", 4.5, None, ">= 4.5"), ("wenoz", 4.5, None, ">= 4.5")):
    check(f"Order: Burgers {_s}", "L1 error vs N, u0 = sin x, t = 0.5 (smooth)", _txt)(_order_check(_s, _lo, _hi))


@check("Conservation of mass", "Σ u_i Δx constant (flux form), t = 2 through the shock", "|Δm| <= 1e-13 |m| · 10")
def mass(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import solve

    worst = 0.0
    for sch in ("godunov", "weno5"):
        g = Grid(0, TWO_PI, 128)
        u0 = sin_cell_average(g, 0.5)
        s = solve(Burgers(), g, u0, 2.0, scheme=ctx.scheme(sch))
        m0, m1 = float(jnp.sum(u0)), float(jnp.sum(s.u[-1]))
        worst = max(worst, abs(m1 - m0) / abs(m0))
    return f"max rel. drift {worst:.1e}", worst <= 1e-12


@check("Entropy: TVD and no new extrema", "TV(u^{n+1}) <= TV(u^n); min u0 <= u <= max u0 (Godunov, MUSCL)",
       "TV non-increasing; range kept")
def tvd(ctx):
    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import solve

    ok, worst = True, 0.0
    for sch in ("godunov", "muscl"):
        g = Grid(0, TWO_PI, 200)
        u0 = sin_cell_average(g, 0.3)
        s = solve(Burgers(), g, u0, 2.0, scheme=ctx.scheme(sch), save_at=np.linspace(0, 2, 41))
        u = np.asarray(s.u)
        tv = np.abs(np.roll(u, -1, 1) - u).sum(1)
        worst = max(worst, float(np.max(np.diff(tv))))
        ok &= bool(np.all(np.diff(tv) <= 1e-12) and u.min() >= float(u0.min()) - 1e-12
                   and u.max() <= float(u0.max()) + 1e-12)
    return f"max TV increase {worst:.1e}", ok


@check("Riemann problems", "shock speed (uL+uR)/2; fan x/t; transonic fan (entropy fix)",
       "Godunov L1 < 0.05; Roe without fix off by > 0.1 (transonic)")
def riemann(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, riemann_burgers
    from qshock.solver.stepping import solve

    g = Grid(-1, 1, 400, "outflow")
    x = np.asarray(g.centres())
    res = {}
    for name, (uL, uR), flux in (("shock", (1.0, 0.0), "godunov"), ("fan", (0.0, 1.0), "godunov"),
                                 ("transonic", (-1.0, 1.0), "godunov"), ("roe", (-1.0, 1.0), "roe")):
        u0 = np.where(x < 0, uL, uR)
        s = solve(Burgers(), g, jnp.asarray(u0), 0.5, scheme=ctx.scheme("godunov"), flux=flux)
        ex = cell_average(lambda y, uL=uL, uR=uR: riemann_burgers(uL, uR, y, 0.5), g, n_gauss=8)
        res[name] = l1_error(g, s.u[-1], ex)
    ok = res["shock"] < 0.05 and res["fan"] < 0.05 and res["transonic"] < 0.05 and res["roe"] > 0.1
    return ", ".join(f"{k} {v:.3f}" for k, v in res.items()), ok
