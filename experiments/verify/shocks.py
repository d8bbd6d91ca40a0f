"""Verify rows: shock and kink times — flat closed forms, curved (Jacobi/Riccati) times, detection."""

from __future__ import annotations

import math

import numpy as np

from qshock.solver.shocks import point_fn

from .common import TWO_PI, sin_cell_average
from .registry import check


@check("Burgers shock time (flat)", "t* = -1/min u0'; u0 = sin x", "t* = 1 at x = π; |t_det - t*| <= 2 Δt_out + Δx")
def burgers_shock_time(ctx):
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import solve

    g = Grid(0, TWO_PI, ctx.sizes(128, 256))
    p = predict(Burgers(), jnp.sin, g)
    ts = np.linspace(0, 1.5, 31)
    s = solve(Burgers(), g, sin_cell_average(g), 1.5, scheme=ctx.scheme("weno5"), save_at=ts)
    d = detect(s)
    ctx.figdata["xt"] = (np.asarray(g.centres()), ts, np.asarray(s.u), p)
    ok = abs(p.time - 1) < 1e-9 and abs(p.location[0] - math.pi) < 1e-6 and d.found and \
        abs(d.time - 1) <= 2 * (ts[1] - ts[0]) + g.dx[0]
    return f"pred {p.time:.6f} at {p.location[0]:.4f}; det {d.time if d.found else float('nan'):.4f}", ok


@check("HJ kink time (flat, Hessian)", "t* = 1/max(-λ_min(Hess u0)); convex H: I + t H_pp Hess u0 singular",
       "cos x + cos(y)/2: 1; Osher–Shu: 1/π²")
def hj_kink_time(ctx):
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.shocks import predict

    r1 = predict(HamiltonJacobi(), lambda x, y: jnp.cos(x) + 0.5 * jnp.cos(y), Grid((0, 0), (TWO_PI, TWO_PI), (32, 32)))
    r2 = predict(HamiltonJacobi(lambda x, p: 0.5 * (p[0] + 1) ** 2), lambda x: -jnp.cos(jnp.pi * x), Grid(-1, 1, 64))
    ok = abs(r1.time - 1) < 1e-6 and abs(r2.time - 1 / math.pi ** 2) < 1e-9
    return f"{r1.time:.8f}; {r2.time * math.pi ** 2:.8f}/π²", ok


@check("Curved shock time (closed form)", "s' + s² + k = 0: t* = [π/2 + arctan(λ0/√k)]/√k",
       "= diffrax Riccati to 1e-8; < -1/λ0; finite for λ0 >= 0")
def riccati_closed_form(ctx):
    from qshock.solver.shocks import constant_curvature_blowup, riccati_scalar_blowup

    worst, ok = 0.0, True
    for lam0, k in ((-1.0, 1.0), (1.0, 4.0)):
        a, b = constant_curvature_blowup(lam0, k), riccati_scalar_blowup(lam0, k)
        worst = max(worst, abs(a - b) / a)
        ok &= 0 < a < math.inf and (lam0 >= 0 or a < -1 / lam0)
    return f"max rel. diff {worst:.1e}; t*(-1, 1) = {constant_curvature_blowup(-1.0, 1.0):.6f}", ok and worst < 1e-8


@check("Curved shock time on S² (Jacobi/Riccati)", "geodesic characteristics, det ∂x/∂x0 = 0 (diffrax) vs closed form",
       "lens foot: π/4 (flat: 1); convex u0 = X1: (π-ψ)/sin ψ")
def sphere_jacobi_time(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.manifolds import Sphere
    from qshock.solver.shocks import constant_curvature_blowup, jacobi_fold_times
    from qshock.solver.shocks.geodesic import sphere_fold_times

    m = Sphere(3)

    def lens(th, ph):
        X1, X2, X3 = jnp.sin(th) * jnp.cos(ph), jnp.sin(th) * jnp.sin(ph), jnp.cos(th)
        return X2 - 0.5 * X3 ** 2 * ((1 + X1) / 2) ** 4

    def hamiltonian(x, p):
        return 0.5 * p @ m.inverse_metric(x) @ p

    f = point_fn(lens)
    t_ode, *_ = jacobi_fold_times(hamiltonian, jax.grad(f), jax.hessian(f), jnp.asarray([[math.pi / 2, 0.0]]), 2.0,
                                  n_save=257)
    f2 = point_fn(lambda th, ph: jnp.sin(th) * jnp.cos(ph))
    psi = 1.0
    t_geo, _ = sphere_fold_times(m, jax.grad(f2), np.array([[math.pi / 2, math.pi - psi]]), 4.0, n_save=513)
    want2 = constant_curvature_blowup(math.cos(psi), math.sin(psi) ** 2)
    ok = abs(t_ode[0] - math.pi / 4) < 1e-4 and abs(t_geo[0] - want2) < 2e-3 * want2
    return f"{t_ode[0]:.6f} (π/4 = {math.pi / 4:.6f}); convex {t_geo[0]:.4f} vs {want2:.4f}", ok


def _lens_stereographic(al: float):
    """The tilted lens datum of the S² detection row, in stereographic coordinates ``(y1, y2)``."""
    def u0(y1, y2):
        r2 = y1 ** 2 + y2 ** 2
        X1, X2, X3 = 2 * y1 / (1 + r2), 2 * y2 / (1 + r2), (r2 - 1) / (1 + r2)
        A = -np.cos(al) * X3 - np.sin(al) * X2
        B = -np.sin(al) * X3 + np.cos(al) * X2
        return B - 0.5 * X1 ** 2 * ((1 + A) / 2) ** 4
    return u0


@check("Curved shock detected on S²", "FV WENO5 (stereographic chart) vs Jacobi prediction",
       "|t_det - t_curved| < 5 %; flat formula off > 10 %", quick=False)
def sphere_shock_detected(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.solver import Grid, HamiltonJacobi, Solution
    from qshock.solver.charts import chart_setup
    from qshock.solver.exact import cell_average
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import build_stepper

    m, names, _, _, sqrt_det, _ = chart_setup("sphere", "stereographic")
    eq = HamiltonJacobi(manifold=m)
    u0 = _lens_stereographic(0.35)
    w, n = 0.8, 96
    g = Grid((-w, -w), (w, w), (n, n), "outflow", names)
    p = predict(eq, u0, g)
    ts = np.linspace(0, 1.0, 41)
    run_, disc, _ = build_stepper(eq, g, ts, scheme=ctx.scheme("weno5"))
    us, *_ = jax.jit(run_)(jnp.asarray(cell_average(u0, g, n_gauss=3, sqrt_det=sqrt_det)))
    s = Solution(t=jnp.asarray(ts), u=us, grid=g, p=jax.vmap(disc.gradient)(us), metadata={"nu": 0.0})
    d = detect(s, manifold=m)
    tf = p.details["flat_time"]
    ok = d.found and abs(p.time - d.time) < 0.05 * d.time and abs(tf - d.time) > 0.1 * d.time
    return f"curved {p.time:.4f}, detected {d.time if d.found else float('nan'):.4f}, flat {tf:.4f}", ok


def _random_fourier(rng, k: int = 4):
    """A seeded periodic datum Σ_k a_k sin(kx) + b_k cos(kx), coefficients ~ N(0, 1/k²)."""
    import jax.numpy as jnp

    a, b = rng.normal(size=k) / np.arange(1, k + 1), rng.normal(size=k) / np.arange(1, k + 1)
    return lambda x: sum(a[j] * jnp.sin((j + 1) * x) + b[j] * jnp.cos((j + 1) * x) for j in range(k))


@check("Random periodic data: predicted vs detected", "20 seeded Fourier data, WENO5, N = 256",
       "|t_pred - t_det| <= 2 Δt_out + Δx for all", quick=False)
def random_periodic(ctx):
    import jax
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid, Solution
    from qshock.solver.exact import cell_average
    from qshock.solver.shocks import detect, predict
    from qshock.solver.stepping import build_stepper

    g = Grid(0, TWO_PI, 256)
    rng = np.random.default_rng(0)
    fs = [_random_fourier(rng) for _ in range(20)]
    preds = [predict(Burgers(), f, g).time for f in fs]
    # rescaling u0 by t* makes every shock time 1
    u0 = jnp.stack([t * cell_average(f, g, n_gauss=3) for t, f in zip(preds, fs, strict=True)])
    ts = np.linspace(0, 1.5, 31)
    run_, _, _ = build_stepper(Burgers(), g, ts, scheme=ctx.scheme("weno5"))
    us, *_ = jax.jit(jax.vmap(run_))(u0)
    dets = [detect(Solution(t=jnp.asarray(ts), u=us[j], grid=g, metadata={"nu": 0.0})) for j in range(len(fs))]
    dt = [d.time if d.found else math.nan for d in dets]
    ctx.figdata["random"] = (np.array(preds), np.array(dt) * np.array(preds))  # unscaled times
    err = np.abs(np.array(dt) - 1.0)
    ok = bool(np.all(np.isfinite(err)) and np.all(err <= 2 * (ts[1] - ts[0]) + g.dx[0]))
    return f"max |Δt|/t* = {np.nanmax(err):.4f} over {len(fs)}", ok
