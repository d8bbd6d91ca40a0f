"""``qshock verify``: the theorem and convergence table.

Every row is a registered check function ``fn(ctx) -> (measured, passed)`` (see :func:`check`);
:func:`run_checks` runs the registry and returns :class:`Row` objects. The scheme a row claims is
looked up through ``ctx.scheme(name)``, so a different scheme can be injected
(``run_checks(quick=True, overrides={'weno5': 'godunov'})``): the row then measures the injected
scheme against the claimed expectation and fails — the verifier can fail.

``--quick`` runs small grids (under two minutes on two cores); the full run uses finer grids,
adds the slower rows (curved shock detected on S², random initial data) and, with
``--figures DIR``, writes convergence plots, an x–t diagram with characteristics and the
predicted shock, and predicted-vs-detected shock times (PDF and PNG).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

__all__ = ["Row", "Context", "check", "CHECKS", "run_checks", "run"]

TWO_PI = 2 * math.pi


@dataclass
class Row:
    check: str
    formula: str
    expected: str
    measured: str
    passed: bool
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"check": self.check, "formula": self.formula, "expected": self.expected,
                "measured": self.measured, "pass": bool(self.passed)}


@dataclass
class Context:
    """What a check may use: mode, scheme overrides, figure data sink."""

    quick: bool = True
    overrides: dict = field(default_factory=dict)
    figdata: dict = field(default_factory=dict)

    def scheme(self, name: str) -> str:
        """The scheme to run where ``name`` is claimed (``overrides`` may swap it)."""
        return self.overrides.get(name, name)


@dataclass
class _Check:
    name: str
    formula: str
    expected: str
    fn: Callable
    quick: bool


CHECKS: list[_Check] = []


def check(name: str, formula: str, expected: str, quick: bool = True):
    """Register ``fn(ctx) -> (measured: str, passed: bool)`` as a table row (``quick=False``: full run only)."""
    def deco(fn):
        CHECKS.append(_Check(name, formula, expected, fn, quick))
        return fn
    return deco


# ----------------------------------------------------------------------------- helpers
def _order(ns, errs):
    return float(-np.polyfit(np.log(ns), np.log(errs), 1)[0])


def _sin_avg(g, offset=0.0):
    import jax.numpy as jnp

    x, h = g.centres(), g.dx[0]
    return offset + (jnp.cos(x - h / 2) - jnp.cos(x + h / 2)) / h


def _l1(g, a, b):
    return float(np.sum(np.abs(np.asarray(a) - np.asarray(b))) * g.dx[0])


def _burgers_smooth_errors(scheme, ns):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, lax_oleinik_burgers
    from qshock.solver.stepping import solve

    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        dt = 0.5 * g.dx[0] ** (5 / 3)
        s = solve(Burgers(), g, _sin_avg(g), 0.5, scheme=scheme, method="ssprk3-fixed", dt=dt)
        ex = cell_average(lambda x: lax_oleinik_burgers(jnp.sin, x, 0.5), g, n_gauss=6)
        errs.append(_l1(g, s.u[-1], ex))
    return errs


def _ns(ctx, quick, full):
    return quick if ctx.quick else full


# ----------------------------------------------------------------------------- shock times
@check("Burgers shock time (flat)", "t* = -1/min u0'; u0 = sin x", "t* = 1 at x = π; |t_det - t*| <= 2 Δt_out + Δx")
def _c_burgers_shock(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import solve

    g = Grid(0, TWO_PI, _ns(ctx, 128, 256))
    p = predict(Burgers(), jnp.sin, g)
    ts = np.linspace(0, 1.5, 31)
    s = solve(Burgers(), g, _sin_avg(g), 1.5, scheme=ctx.scheme("weno5"), save_at=ts)
    d = detect(s)
    ctx.figdata["xt"] = (np.asarray(g.centres()), ts, np.asarray(s.u), p)
    ok = abs(p.time - 1) < 1e-9 and abs(p.location[0] - math.pi) < 1e-6 and d.found and \
        abs(d.time - 1) <= 2 * (ts[1] - ts[0]) + g.dx[0]
    return f"pred {p.time:.6f} at {p.location[0]:.4f}; det {d.time if d.found else float('nan'):.4f}", ok


@check("HJ kink time (flat, Hessian)", "t* = 1/max(-λ_min(Hess u0)); convex H: I + t H_pp Hess u0 singular",
       "cos x + cos(y)/2: 1; Osher–Shu: 1/π²")
def _c_hj_kink(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.shocks import predict

    r1 = predict(HamiltonJacobi(), lambda x, y: jnp.cos(x) + 0.5 * jnp.cos(y), Grid((0, 0), (TWO_PI, TWO_PI), (32, 32)))
    r2 = predict(HamiltonJacobi(lambda x, p: 0.5 * (p[0] + 1) ** 2), lambda x: -jnp.cos(jnp.pi * x), Grid(-1, 1, 64))
    ok = abs(r1.time - 1) < 1e-6 and abs(r2.time - 1 / math.pi ** 2) < 1e-9
    return f"{r1.time:.8f}; {r2.time * math.pi ** 2:.8f}/π²", ok


@check("Curved shock time (closed form)", "s' + s² + k = 0: t* = [π/2 + arctan(λ0/√k)]/√k",
       "= diffrax Riccati to 1e-8; < -1/λ0; finite for λ0 >= 0")
def _c_riccati(ctx):
    from qshock.solver.shocks import constant_curvature_blowup, riccati_scalar_blowup

    worst, ok = 0.0, True
    for lam0, k in ((-1.0, 1.0), (1.0, 4.0)):
        a, b = constant_curvature_blowup(lam0, k), riccati_scalar_blowup(lam0, k)
        worst = max(worst, abs(a - b) / a)
        ok &= 0 < a < math.inf and (lam0 >= 0 or a < -1 / lam0)
    return f"max rel. diff {worst:.1e}; t*(-1, 1) = {constant_curvature_blowup(-1.0, 1.0):.6f}", ok and worst < 1e-8


@check("Curved shock time on S² (Jacobi/Riccati)", "geodesic characteristics, det ∂x/∂x0 = 0 (diffrax) vs closed form",
       "lens foot: π/4 (flat: 1); convex u0 = X1: (π-ψ)/sin ψ")
def _c_sphere_jacobi(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere
    from qshock.solver.shocks import constant_curvature_blowup, jacobi_fold_times
    from qshock.solver.shocks.geodesic import sphere_fold_times
    from qshock.solver.shocks.predict import _point_fn, _Wrap

    m = Sphere(3)

    def lens(th, ph):
        X1, X2, X3 = jnp.sin(th) * jnp.cos(ph), jnp.sin(th) * jnp.sin(ph), jnp.cos(th)
        return X2 - 0.5 * X3 ** 2 * ((1 + X1) / 2) ** 4

    f = _point_fn(lens)
    gf, hf = _Wrap(jax.grad(f)), _Wrap(jax.hessian(f))
    H = _Wrap(lambda x, p: 0.5 * p @ m.inverse_metric(x) @ p)
    t_ode, *_ = jacobi_fold_times(H, gf, hf, jnp.asarray([[math.pi / 2, 0.0]]), 2.0, n_save=257)
    f2 = _point_fn(lambda th, ph: jnp.sin(th) * jnp.cos(ph))
    psi = 1.0
    t_geo, _ = sphere_fold_times(m, _Wrap(jax.grad(f2)), np.array([[math.pi / 2, math.pi - psi]]), 4.0, n_save=513)
    want2 = constant_curvature_blowup(math.cos(psi), math.sin(psi) ** 2)
    ok = abs(t_ode[0] - math.pi / 4) < 1e-4 and abs(t_geo[0] - want2) < 2e-3 * want2
    return f"{t_ode[0]:.6f} (π/4 = {math.pi / 4:.6f}); convex {t_geo[0]:.4f} vs {want2:.4f}", ok


@check("Curved shock detected on S²", "FV WENO5 (stereographic chart) vs Jacobi prediction",
       "|t_det - t_curved| < 5 %; flat formula off > 10 %", quick=False)
def _c_sphere_detect(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.experiments.cli.problem import cell_average
    from qshock.solver import Grid, HamiltonJacobi, Solution
    from qshock.solver.charts import chart_setup
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import build_stepper

    m, names, _, _, sqrt_det, _ = chart_setup("sphere", "stereographic")
    eq = HamiltonJacobi(manifold=m)
    al = 0.35

    def u0(y1, y2):
        r2 = y1 ** 2 + y2 ** 2
        X1, X2, X3 = 2 * y1 / (1 + r2), 2 * y2 / (1 + r2), (r2 - 1) / (1 + r2)
        A = -np.cos(al) * X3 - np.sin(al) * X2
        B = -np.sin(al) * X3 + np.cos(al) * X2
        return B - 0.5 * X1 ** 2 * ((1 + A) / 2) ** 4

    w, n = 0.8, 96
    g = Grid((-w, -w), (w, w), (n, n), "outflow", names)
    p = predict(eq, u0, g)
    ts = np.linspace(0, 1.0, 41)
    run_, disc, _ = build_stepper(eq, g, ts, scheme=ctx.scheme("weno5"))
    us, *_ = jax.jit(run_)(jnp.asarray(cell_average(u0, (-w, -w), (w, w), (n, n), sqrt_det=sqrt_det)))
    s = Solution(t=jnp.asarray(ts), u=us, grid=g, p=jax.vmap(disc.gradient)(us), metadata={"nu": 0.0})
    d = detect(s, manifold=m)
    tf = p.details["flat_time"]
    ok = d.found and abs(p.time - d.time) < 0.05 * d.time and abs(tf - d.time) > 0.1 * d.time
    return f"curved {p.time:.4f}, detected {d.time if d.found else float('nan'):.4f}, flat {tf:.4f}", ok


@check("Random periodic data: predicted vs detected", "20 seeded Fourier data, WENO5, N = 256",
       "|t_pred - t_det| <= 2 Δt_out + Δx for all", quick=False)
def _c_random(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.experiments.cli.problem import cell_average
    from qshock.solver import Burgers, Grid, Solution
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import build_stepper

    g = Grid(0, TWO_PI, 256)
    rng = np.random.default_rng(0)
    fs = []
    for _ in range(20):
        a, b = rng.normal(size=4) / np.arange(1, 5), rng.normal(size=4) / np.arange(1, 5)
        fs.append(lambda x, a=a, b=b: sum(a[k] * jnp.sin((k + 1) * x) + b[k] * jnp.cos((k + 1) * x) for k in range(4)))
    preds = [predict(Burgers(), f, g).time for f in fs]
    u0 = jnp.stack([jnp.asarray(t * cell_average(f, (0.0,), (TWO_PI,), (256,))) for t, f in zip(preds, fs)])
    ts = np.linspace(0, 1.5, 31)
    run_, _, _ = build_stepper(Burgers(), g, ts, scheme=ctx.scheme("weno5"))
    us, *_ = jax.jit(jax.vmap(run_))(u0)
    dets = [detect(Solution(t=jnp.asarray(ts), u=us[j], grid=g, metadata={"nu": 0.0})) for j in range(len(fs))]
    dt = [d.time if d.found else math.nan for d in dets]
    ctx.figdata["random"] = (np.array(preds), np.array(dt) * np.array(preds))  # unscaled times
    err = np.abs(np.array(dt) - 1.0)
    ok = bool(np.all(np.isfinite(err)) and np.all(err <= 2 * (ts[1] - ts[0]) + g.dx[0]))
    return f"max |Δt|/t* = {np.nanmax(err):.4f} over {len(fs)}", ok


# ----------------------------------------------------------------------------- exact solutions
@check("Cole–Hopf (viscous Burgers)", "u = -2ν ∂x log φ, φ_t = ν φ_xx (Bessel series); WENO5 + 4th-order diffusion",
       "max error order >= 3.5")
def _c_cole_hopf(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import burgers_sin_bessel
    from qshock.solver.stepping import solve

    nu, t1 = 0.1, 0.5
    ns = _ns(ctx, [32, 64], [32, 64, 128])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        dt = min(0.1 * g.dx[0] ** 2 / nu, 0.5 * g.dx[0] ** (5 / 3))
        s = solve(Burgers(nu), g, _sin_avg(g), t1, scheme=ctx.scheme("weno5"), diffusion_order=4,
                  method="ssprk3-fixed", dt=dt)
        # exact cell averages by 6-point Gauss-Legendre
        gx, gw = np.polynomial.legendre.leggauss(6)
        x = np.asarray(g.centres())[:, None] + 0.5 * g.dx[0] * gx[None, :]
        ex = (np.asarray(burgers_sin_bessel(jnp.asarray(x), t1, nu)) * gw).sum(1) / 2
        errs.append(float(np.max(np.abs(np.asarray(s.u[-1]) - ex))))
    ctx.figdata.setdefault("conv", {})["Cole–Hopf WENO5"] = (ns, errs)
    o = _order(ns, errs)
    return f"order {o:.2f} (errors {', '.join(f'{e:.1e}' for e in errs)})", o >= 3.5


@check("Lax–Oleinik (after the shock)", "u = (x - y*)/t, y* = argmin U0(y) + (x-y)²/2t; Godunov, t = 2",
       "L1 order in [0.7, 1.5]")
def _c_lax_oleinik(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, lax_oleinik_burgers
    from qshock.solver.stepping import solve

    ns = _ns(ctx, [64, 128], [100, 200, 400])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        s = solve(Burgers(), g, _sin_avg(g, 0.5), 2.0, scheme=ctx.scheme("godunov"))
        ref = cell_average(lambda x: lax_oleinik_burgers(lambda y: 0.5 + jnp.sin(y), x, 2.0), g, n_gauss=6)
        errs.append(_l1(g, s.u[-1], ref))
    o = _order(ns, errs)
    return f"order {o:.2f}, L1 {errs[-1]:.2e}", 0.7 <= o <= 1.5


@check("Hopf–Lax (HJ after the kink)", "u = min_y u0(y) + |x-y|²/2t; WENO5 Godunov-H, u0 = cos x, t = 2",
       "L1 error -> 0, order >= 0.8")
def _c_hopf_lax(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.exact import hopf_lax_periodic
    from qshock.solver.stepping import solve

    ns = _ns(ctx, [64, 128], [64, 128, 256])
    errs = []
    for n in ns:
        g = Grid(0, TWO_PI, n)
        x = g.centres()
        s = solve(HamiltonJacobi(), g, jnp.cos(x), 2.0, scheme=ctx.scheme("weno5"))
        ex, _ = hopf_lax_periodic(lambda y: jnp.cos(y[0]), x, 2.0, [TWO_PI], n_search=512)
        errs.append(float(np.mean(np.abs(np.asarray(s.u[-1]) - np.asarray(ex)))))
    o = _order(ns, errs)
    return f"order {o:.2f}, mean error {errs[-1]:.2e}", o >= 0.8 and errs[-1] < 1e-2


# ----------------------------------------------------------------------------- convergence orders
def _order_check(scheme, expected_min, expected_max=None):
    weno = scheme.startswith("weno")

    def fn(ctx):
        # WENO reaches its asymptotic order from N ~ 100 on this problem
        ns = _ns(ctx, [160, 320], [80, 160, 320]) if weno else _ns(ctx, [80, 160], [40, 80, 160, 320])
        errs = _burgers_smooth_errors(ctx.scheme(scheme), ns)
        ctx.figdata.setdefault("conv", {})[f"Burgers {scheme}"] = (ns, errs)
        o = _order(ns, errs)
        ok = o >= expected_min and (expected_max is None or o <= expected_max)
        return f"{o:.2f}", ok
    return fn


for _s, _lo, _hi, _txt in (("godunov", 0.8, 1.3, "≈ 1"), ("muscl", 1.7, 2.6, "≈ 2"),
                           ("weno5", 4.5, None, ">= 4.5"), ("wenoz", 4.5, None, ">= 4.5")):
    check(f"Order: Burgers {_s}", "L1 error vs N, u0 = sin x, t = 0.5 (smooth)", _txt)(_order_check(_s, _lo, _hi))


@check("Order: HJ WENO5", "Osher–Shu φ_t + (φ_x + 1)²/2 = 0, t = 1/(2π²), LLF", ">= 4.3")
def _c_hj_order(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.exact import HJ_COS_KINK_TIME, hj_cos_1d
    from qshock.solver.stepping import solve

    ns = _ns(ctx, [20, 40, 80, 160], [20, 40, 80, 160, 320])
    errs = []
    t = 0.5 * HJ_COS_KINK_TIME
    for n in ns:
        g = Grid(-1, 1, n)
        x = g.centres()
        s = solve(HamiltonJacobi(lambda x, p: 0.5 * (jnp.sum(p) + 1.0) ** 2), g, -jnp.cos(jnp.pi * x), t,
                  scheme=ctx.scheme("weno5"), flux="llf", method="ssprk3-fixed", dt=0.2 * g.dx[0] ** (5 / 3))
        errs.append(float(np.mean(np.abs(np.asarray(s.u[-1]) - np.asarray(hj_cos_1d(x, t))))))
    ctx.figdata.setdefault("conv", {})["HJ weno5"] = (ns, errs)
    o = _order(ns, errs)
    return f"{o:.2f}", o >= 4.3


# ----------------------------------------------------------------------------- conservation, entropy
@check("Conservation of mass", "Σ u_i Δx constant (flux form), t = 2 through the shock", "|Δm| <= 1e-13 |m| · 10")
def _c_mass(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import solve

    worst = 0.0
    for sch in ("godunov", "weno5"):
        g = Grid(0, TWO_PI, 128)
        u0 = _sin_avg(g, 0.5)
        s = solve(Burgers(), g, u0, 2.0, scheme=ctx.scheme(sch))
        m0, m1 = float(jnp.sum(u0)), float(jnp.sum(s.u[-1]))
        worst = max(worst, abs(m1 - m0) / abs(m0))
    return f"max rel. drift {worst:.1e}", worst <= 1e-12


@check("Entropy: TVD and no new extrema", "TV(u^{n+1}) <= TV(u^n); min u0 <= u <= max u0 (Godunov, MUSCL)",
       "TV non-increasing; range kept")
def _c_tvd(ctx):
    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import solve

    ok, worst = True, 0.0
    for sch in ("godunov", "muscl"):
        g = Grid(0, TWO_PI, 200)
        u0 = _sin_avg(g, 0.3)
        s = solve(Burgers(), g, u0, 2.0, scheme=ctx.scheme(sch), save_at=np.linspace(0, 2, 41))
        u = np.asarray(s.u)
        tv = np.abs(np.roll(u, -1, 1) - u).sum(1)
        worst = max(worst, float(np.max(np.diff(tv))))
        ok &= bool(np.all(np.diff(tv) <= 1e-12) and u.min() >= float(u0.min()) - 1e-12 and u.max() <= float(u0.max()) + 1e-12)
    return f"max TV increase {worst:.1e}", ok


@check("Riemann problems", "shock speed (uL+uR)/2; fan x/t; transonic fan (entropy fix)",
       "Godunov L1 < 0.05; Roe without fix off by > 0.1 (transonic)")
def _c_riemann(ctx):
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
        ex = cell_average(lambda y: riemann_burgers(uL, uR, y, 0.5), g, n_gauss=8)
        res[name] = _l1(g, s.u[-1], ex)
    ok = res["shock"] < 0.05 and res["fan"] < 0.05 and res["transonic"] < 0.05 and res["roe"] > 0.1
    return ", ".join(f"{k} {v:.3f}" for k, v in res.items()), ok


# ----------------------------------------------------------------------------- geometry
@check("Laplace–Beltrami spectrum on S²", "-Δ Y_l = l(l+1) Y_l (autodiff of the chart metric)",
       "l = 1, 2, 3: rel. error < 1e-9")
def _c_lb(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere

    m = Sphere(3)
    ys = (lambda X: X[2], lambda X: 3 * X[2] ** 2 - 1, lambda X: X[0] * (5 * X[2] ** 2 - 1))
    rng = np.random.default_rng(1)
    pts = jnp.asarray(np.stack([rng.uniform(0.3, 2.8, 6), rng.uniform(0, TWO_PI, 6)], -1))

    @jax.jit
    def rel_err(pts):
        out = []
        for l, Y in enumerate(ys, start=1):
            f = lambda x, Y=Y: Y(m.to_embedding(x))  # noqa: E731
            lap = jax.vmap(lambda x: m.laplace_beltrami(f, x))(pts)
            val = jax.vmap(f)(pts)
            out.append(jnp.max(jnp.abs(-lap - l * (l + 1) * val)) / jnp.max(jnp.abs(val)))
        return jnp.max(jnp.stack(out))

    worst = float(rel_err(pts))
    return f"max rel. error {worst:.1e}", worst < 1e-9


@check("Viscous HJ exact on S²", "u = -2ν log(1 + ε e^{-2νt} X1): u_t + |∇u|²/2 = ν Δ u", "residual < 1e-10")
def _c_sphere_exact(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere, sphere_hj_exact

    m = Sphere(3)
    nu, eps = 0.3, 0.5
    rng = np.random.default_rng(2)
    pts = jnp.asarray(np.stack([rng.uniform(0.3, 2.8, 8), rng.uniform(0, TWO_PI, 8)], -1))

    def resid(x, t=0.7):
        u_t = jax.grad(lambda s: sphere_hj_exact(x, s, nu, eps))(t)
        f = lambda y: sphere_hj_exact(y, t, nu, eps)  # noqa: E731
        p = jax.grad(f)(x)
        return u_t + 0.5 * p @ m.inverse_metric(x) @ p - nu * m.laplace_beltrami(f, x)

    r = float(jnp.max(jnp.abs(jax.jit(jax.vmap(resid))(pts))))
    return f"max residual {r:.1e}", r < 1e-10


@check("Symmetry reduction (radial)", "Δ_{R^n} f(|x|) = f'' + (n-1)/r f' = Δ on the quotient [0, ∞)",
       "n = 2, 5: rel. error < 1e-10")
def _c_radial(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import RadialQuotient

    f = lambda r: jnp.exp(-r ** 2) * jnp.cos(r)  # noqa: E731
    worst = 0.0
    for n in (2, 5):
        q = RadialQuotient(n=n)
        x = jnp.asarray(np.random.default_rng(n).normal(size=n))

        @jax.jit
        def errs(x, q=q):
            full = jnp.trace(jax.hessian(lambda y: f(jnp.sqrt(y @ y)))(x))
            r = jnp.sqrt(x @ x)
            red = q.laplace_beltrami(lambda z: f(z[0]), r[None])
            return jnp.abs(full - red) / jnp.abs(full), jnp.abs(q.project(x)[0] - r)

        worst = max(worst, *(float(e) for e in errs(x)))
    return f"max rel. error {worst:.1e}", worst < 1e-10


def _quotient_rows():
    from qshock import manifolds

    for name in ("ScaleQuotient", "RescaleQuotient", "TranslationQuotient", "PermutationQuotient",
                 "FactorisedQuotient", "MeanFieldQuotient", "RadialQuotient"):
        cls = getattr(manifolds, name)

        def fn(ctx, cls=cls):
            import jax
            import jax.numpy as jnp

            q = cls()
            dim = int(getattr(q, "total_dim", None) or q.dim)
            worst = 0.0
            for seed in range(3):
                k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
                theta = jax.random.normal(k1, (dim,))
                gel = q.random_group_element(k2)
                a, b = q.project(q.group_action(theta, gel)), q.project(theta)
                worst = max(worst, float(jnp.max(jnp.abs(a - b))))
            return f"max |Δ| {worst:.1e}", worst < 1e-9

        check(f"Quotient invariance: {name}", "project(g·θ) = project(θ) for random g, θ", "< 1e-9")(fn)


_quotient_rows()


def _c_spectral(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import burgers_sin_bessel
    from qshock.solver.stepping import solve

    g = Grid(0, TWO_PI, 64)
    x = g.centres()
    s = solve(Burgers(0.1), g, jnp.sin(x), 0.5, scheme=ctx.scheme("spectral"))
    err = float(jnp.max(jnp.abs(s.u[-1] - burgers_sin_bessel(x, 0.5, 0.1))))
    return f"{err:.1e}", err < 1e-6


check("Spectral solver (Cole–Hopf)", "Fourier pseudo-spectral, viscous Burgers u0 = sin x, ν = 0.1, t = 0.5",
      "max error < 1e-6")(_c_spectral)


# ----------------------------------------------------------------------------- runner
def run_checks(quick: bool = True, overrides: Optional[dict] = None, only: Optional[list] = None,
               ctx: Optional[Context] = None) -> list[Row]:
    """Run the registered checks (``quick`` subset or all); an exception makes a failing row."""
    import jax

    jax.config.update("jax_enable_x64", True)
    ctx = ctx or Context(quick=quick, overrides=dict(overrides or {}))
    rows = []
    for c in CHECKS:
        if quick and not c.quick:
            continue
        if only is not None and c.name not in only:
            continue
        t0 = time.perf_counter()
        try:
            measured, ok = c.fn(ctx)
        except Exception as exc:  # a crashing check is a failing row
            measured, ok = f"error: {type(exc).__name__}: {exc}"[:160], False
        rows.append(Row(c.name, c.formula, c.expected, str(measured), bool(ok), time.perf_counter() - t0))
    return rows


def _table(rows: list[Row]) -> str:
    cols = ["Check", "Formula or theorem", "Expected", "Measured", "Pass"]
    data = [[r.check, r.formula, r.expected, r.measured, "PASS" if r.passed else "FAIL"] for r in rows]
    widths = [min(max(len(cols[i]), *(len(d[i]) for d in data)), 60) for i in range(5)]

    def line(cells):
        return " | ".join(str(c)[:widths[i]].ljust(widths[i]) for i, c in enumerate(cells))

    out = [line(cols), "-+-".join("-" * w for w in widths)] + [line(d) for d in data]
    return "\n".join(out)


def write_figures(ctx: Context, folder: str) -> list[str]:
    """Convergence plot, x–t diagram with characteristics, predicted vs detected shock times."""
    from qshock.experiments.lab.plotting import figure, save

    paths = []
    conv = ctx.figdata.get("conv", {})
    if conv:
        fig, ax = figure()
        for label, (ns, errs) in conv.items():
            ax.loglog(ns, errs, "o-", label=label)
        ns = np.array([20, 320])
        for p, ls in ((1, ":"), (2, "--"), (5, "-.")):
            ax.loglog(ns, 0.5 * (ns / 20.0) ** (-p), "k" + ls, lw=0.8, label=f"order {p}")
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xticks([20, 40, 80, 160, 320])
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("cells N")
        ax.set_ylabel("error")
        ax.set_title("Convergence of the finite-volume schemes")
        ax.legend(ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        paths += save(fig, f"{folder}/convergence")
    if "xt" in ctx.figdata:
        x, ts, u, pred = ctx.figdata["xt"]
        fig, ax = figure()
        im = ax.pcolormesh(x, ts, u, shading="auto", cmap="RdBu_r")
        fig.colorbar(im, ax=ax, label="u(x, t)")
        for x0 in np.linspace(0, TWO_PI, 25, endpoint=False):
            tt = np.linspace(0, min(ts[-1], pred.time), 50)
            ax.plot((x0 + tt * np.sin(x0)) % TWO_PI, tt, "k-", lw=0.5, alpha=0.6)
        ax.plot([], [], "k-", lw=0.5, label="characteristics")
        ax.plot([pred.location[0]], [pred.time], "*", color="gold", ms=12, mec="k", label="predicted shock")
        ax.set_xlabel("x")
        ax.set_ylabel("t")
        ax.set_title("Burgers, u0 = sin x")
        ax.legend(loc="upper right")
        paths += save(fig, f"{folder}/xt_burgers")
    if "random" in ctx.figdata:
        tp, td = ctx.figdata["random"]
        fig, ax = figure()
        ax.plot(tp, td, "o", label="random Fourier data (WENO5)")
        lim = [0, 1.1 * np.nanmax([tp.max(), np.nanmax(td)])]
        ax.plot(lim, lim, "k--", lw=0.8, label="t_det = t_pred")
        ax.set_xlabel("predicted shock time  -1/min u0'")
        ax.set_ylabel("detected shock time")
        ax.set_title("Predicted vs detected shock times")
        ax.legend()
        paths += save(fig, f"{folder}/shock_times")
    return paths


def run(args) -> int:
    """``qshock verify [--quick] [--json] [--figures DIR]``: exit 0 iff every row passes."""
    quick = bool(getattr(args, "quick", False))
    ctx = Context(quick=quick)
    rows = run_checks(quick=quick, ctx=ctx)
    figs = write_figures(ctx, args.figures) if getattr(args, "figures", None) else []
    passed = sum(r.passed for r in rows)
    failed = len(rows) - passed
    if getattr(args, "json", False):
        print(json.dumps({"rows": [r.to_json() for r in rows], "passed": passed, "failed": failed}))
    else:
        print(_table(rows))
        print(f"\n{passed} passed, {failed} failed" + (f"; figures: {', '.join(figs)}" if figs else ""))
    return 0 if failed == 0 else 1
