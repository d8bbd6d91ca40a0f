"""``qshock demo``: the main job on embedded defaults (a few minutes on 2 CPU cores).

1. Inviscid Burgers ``u0 = sin x`` on the circle: WENO5 solve through the shock, the shock time
   predicted from the initial data (t* = -1/min u0' = 1) and detected in the solution, the
   L1 error against the exact Lax–Oleinik entropy solution, and an x–t figure.
2. Viscous HJ on the sphere S² (spherical chart) against the exact Cole–Hopf solution
   ``u = -2ν log(1 + ε e^{-2νt} x₁)``.
3. The shock-times study at demo size (``qshock experiment shock-times``): SGD runs of two
   architectures, events predicted from the solver's fold and shock times on quotient charts of
   the checkpoints against the observed events, with the raw-coordinate and constant baselines;
   the headline table (held-out seeds) and the predicted-vs-observed scatter figure.
4. The catapult study: regime predicted from η·λ₀ (lazy < 2, catapult, divergent) against
   the observed training of a two-layer network.

Everything is written below ``--out`` (default ``demo_out/``).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

__all__ = ["run"]


def _burgers_part(out_dir: str, log) -> dict:
    import jax.numpy as jnp

    from qshock.solver import Burgers, Grid
    from qshock.solver.exact import cell_average, lax_oleinik_burgers
    from qshock.solver.stepping import solve

    g = Grid(0.0, 2 * np.pi, 512)
    u0 = cell_average(jnp.sin, g, n_gauss=4)
    times = np.linspace(0.0, 2.0, 81)
    t0 = time.perf_counter()
    sol = solve(Burgers(), g, u0, 2.0, scheme="weno5", cfl=0.5, save_at=times)
    wall = time.perf_counter() - t0
    ref = np.asarray(cell_average(lambda x: lax_oleinik_burgers(jnp.sin, x, 2.0), g, n_gauss=4))
    err = float(np.sum(np.abs(np.asarray(sol.u[-1]) - ref)) * g.dx[0])
    mass = float(abs(jnp.sum(sol.u[-1]) - jnp.sum(sol.u[0])) * g.dx[0])
    res = {"N": 512, "steps": int(sol.n_steps), "wall_s": round(wall, 2), "L1_error_t2": err, "mass_drift": mass}
    from qshock.solver.shocks import detect, predict

    pr = predict(Burgers(), u0, g)
    de = detect(sol)
    res["predicted"] = {"time": float(pr.time), "location": [float(c) for c in pr.location]}
    res["detected"] = {"time": float(de.time), "location": [float(c) for c in de.location]} \
        if de.time is not None else None
    sol.to_netcdf(os.path.join(out_dir, "burgers_sin.nc"), attrs={"ic": "sin(x)"})
    _xt_figure(sol, res, os.path.join(out_dir, "figures", "burgers_xt"))
    log(f"[1] Burgers u0=sin x, WENO5, N=512, t=2: {res['steps']} steps in {wall:.1f}s; "
        f"L1 error vs Lax-Oleinik {err:.2e}; mass drift {mass:.1e}")
    log(f"    shock predicted at t={res['predicted']['time']:.4f}"
        + (f", detected at t={res['detected']['time']:.4f}" if res.get("detected") else "")
        + " (exact t*=1, x=pi)")
    return res


def _xt_figure(sol, res, stem):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(stem), exist_ok=True)
    x = np.asarray(sol.grid.centres())
    t = np.asarray(sol.t)
    fig, ax = plt.subplots(figsize=(5.0, 3.6), constrained_layout=True)
    im = ax.pcolormesh(x, t, np.asarray(sol.u), cmap="RdBu_r", shading="auto", vmin=-1, vmax=1,
                       rasterized=True)  # the mesh as an image inside the vector PDF (was 1.3 MB)
    for y in np.linspace(0, 2 * np.pi, 33)[1:-1]:  # characteristics x = y + t sin y until they meet the shock at pi
        s = np.sin(y)
        t_hit = (np.pi - y) / s if abs(s) > 1e-12 else 2.0
        tt = np.linspace(0, min(2.0, t_hit), 50)
        ax.plot(y + tt * s, tt, "-", color="k", lw=0.5, alpha=0.45)
    ax.axhline(res["predicted"]["time"], color="k", ls="--", lw=1, label="predicted $t^*$")
    if res.get("detected"):
        ax.plot(res["detected"]["location"][0], res["detected"]["time"], "o", mfc="none", color="C2",
                label="detected")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$t$")
    ax.set_title(r"Burgers $u_0=\sin x$ (WENO5, $N=512$)")
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(im, ax=ax, label="$u$")
    for ext in ("pdf", "png"):
        fig.savefig(f"{stem}.{ext}", dpi=150)
    plt.close(fig)


def _sphere_part(out_dir: str, log) -> dict:
    import jax.numpy as jnp

    from qshock.solver import HamiltonJacobi, Grid
    from qshock.solver.charts import chart_setup
    from qshock.solver.stepping import solve

    nu, eps, t1 = 0.1, 0.5, 0.5
    m, names, dom, bcs, _, _ = chart_setup("sphere", "spherical", 2)
    errs = []
    for n in (16, 32):
        g = Grid(dom[0], dom[1], (n, 2 * n), bcs, names)
        th, ph = g.mesh()
        x1 = jnp.sin(th) * jnp.cos(ph)
        u0 = -2 * nu * jnp.log1p(eps * x1)
        sol = solve(HamiltonJacobi(nu=nu, manifold=m), g, u0, t1, scheme="weno5", cfl=0.5)
        ex = -2 * nu * jnp.log1p(eps * np.exp(-2 * nu * t1) * x1)
        errs.append(float(jnp.max(jnp.abs(sol.u[-1] - ex))))
    order = float(np.log2(errs[0] / errs[1]))
    log(f"[2] viscous HJ on S^2 (spherical chart), exact u=-2nu log(1+eps e^(-2nu t) x1): "
        f"max error {errs[0]:.2e} (16x32) -> {errs[1]:.2e} (32x64), order {order:.2f}")
    return {"errors": errs, "order": order}


#: the demo-sized shock-times configuration (two architectures, two seeds; the full study is
#: ``qshock experiment shock-times``, its --quick version ``--quick``)
SHOCK_TIMES_DEMO = """archs = ["mlp-digits", "tanh-teacher"]
gauge_alphas = [1.0]
seeds = 2
tune_seeds = 1
steps = 60
every = 20
warmup = 60
batches = [64]
n_lrs = 2
chart_n = 25
n_out = 31
ensemble = 256
ensemble_steps = 20
"""


def _shock_times_part(out_dir: str, log) -> dict | None:
    """Step [3]: the shock-times study on a demo-sized configuration: headline table and scatter."""
    from qshock.experiments.studies import run_study
    from qshock.experiments.studies.shock_times import headline_table

    run_dir = os.path.join(out_dir, "study_shock_times")
    os.makedirs(run_dir, exist_ok=True)
    cfg = os.path.join(run_dir, "demo.toml")
    with open(cfg, "w") as fh:
        fh.write(SHOCK_TIMES_DEMO)
    doc = run_study("shock-times", config=cfg, out=run_dir, quiet=True)
    log("[3] shock-times study, demo size (predicted vs observed event steps on held-out seeds; "
        "qshock experiment shock-times [--quick]):")
    for line in headline_table(doc["summary"]).splitlines():
        log("    " + line)
    log(f"    scatter (predicted vs observed, y = x): {os.path.join(run_dir, 'figures', 'shock_times_scatter.png')}")
    return {"summary": doc["summary"], "wall_time": doc["wall_time"]}


def _catapult_part(out_dir: str, log) -> dict | None:
    from qshock.experiments.studies import run_study

    doc = run_study("catapult", out=os.path.join(out_dir, "study_catapult"), quiet=True)
    log("[4] catapult study (predicted regime from eta*lambda_0 vs observed training; qshock experiment catapult):")
    for line in doc["table"].splitlines():
        log("    " + line)
    return {"header": doc["header"], "rows": doc["rows"]}


def run(args) -> int:
    """Entry point of ``qshock demo``."""
    out_dir = getattr(args, "out", None) or "demo_out"
    os.makedirs(os.path.join(out_dir, "figures"), exist_ok=True)
    t0 = time.perf_counter()

    def log(msg):
        print(msg, flush=True)

    log(f"qshock demo: writing to {out_dir}/")
    results = {"burgers": _burgers_part(out_dir, log), "sphere": _sphere_part(out_dir, log)}
    st = _shock_times_part(out_dir, log)
    if st is not None:
        results["shock_times"] = st
    cat = _catapult_part(out_dir, log)
    if cat is not None:
        results["catapult"] = cat
    with open(os.path.join(out_dir, "demo.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    log(f"done in {time.perf_counter() - t0:.0f} s; figures in {out_dir}/figures/, numbers in {out_dir}/demo.json")
    return 0
