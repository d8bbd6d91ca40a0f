"""``qshock demo``: the main job on embedded defaults (a few minutes on 2 CPU cores).

1. Inviscid Burgers ``u0 = sin x`` on the circle: WENO5 solve through the shock, the shock time
   predicted from the initial data (t* = -1/min u0' = 1) and detected in the solution, the
   L1 error against the exact Lax–Oleinik entropy solution, and an x–t figure.
2. Viscous HJ on the sphere S² (spherical chart) against the exact Cole–Hopf solution
   ``u = -2ν log(1 + ε e^{-2νt} x₁)``.
3. A short SGD run past the edge of stability on the digits data, with loss-spike events
   and sharpness against the threshold 2/η (the GD map folds at ηλ = 1, diverges at 2).
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
    try:
        from qshock.solver.shocks import detect, predict

        pr = predict(Burgers(), u0, g)
        de = detect(sol)
        res["predicted"] = {"time": float(pr.time), "location": [float(c) for c in pr.location]}
        res["detected"] = {"time": float(de.time), "location": [float(c) for c in de.location]} \
            if de.time is not None else None
    except ImportError:
        res["predicted"] = {"time": float(-1.0 / np.min(np.gradient(np.asarray(u0), g.dx[0]))), "location": [np.pi]}
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


def _training_part(out_dir: str, log) -> dict | None:
    try:
        from qshock.experiments import train_cli
        from qshock.experiments.lab.runstore import read_metrics
    except ImportError:
        return None
    import argparse

    p = argparse.ArgumentParser()
    train_cli.add_arguments(p)
    run_dir = os.path.join(out_dir, "train_mlp_digits")
    lr = 0.5
    args = p.parse_args(["--model", "mlp", "--data", "digits", "--optimizer", "sgd", "--lr", str(lr), "--batch",
                         "128", "--steps", "300", "--seed", "0", "--out", run_dir, "--quiet"])
    train_cli.run(args)
    ds = read_metrics(run_dir)
    sharp = np.asarray(ds["obs_sharpness"])[0, :, 0]
    qsharp = np.asarray(ds["obs_quotient_sharpness"])[0]
    events = json.load(open(os.path.join(run_dir, "events.json")))
    obs_steps = np.asarray(ds["obs_step"])

    def first_step(mask):
        idx = np.flatnonzero(mask)
        return int(obs_steps[idx[0]]) if idx.size else None

    fold, diverge = first_step(lr * sharp >= 1.0), first_step(lr * sharp >= 2.0)
    res = {
        "final_train_loss": float(np.asarray(ds["obs_train_loss"])[0, -1]),
        "final_test_accuracy": float(np.asarray(ds["obs_test_accuracy"])[0, -1]),
        "max_sharpness": float(sharp.max()), "edge_of_stability_2_over_lr": 2.0 / lr,
        "max_quotient_sharpness": float(qsharp.max()),
        "events": [{k: e[k] for k in ("kind", "step", "size")} for e in events],
        "gd_map_fold_step": fold, "gd_map_unstable_step": diverge,
    }
    log(f"[3] SGD on digits (MLP, lr {lr}, batch 128, 300 steps): test accuracy {res['final_test_accuracy']:.3f}; "
        f"max sharpness {res['max_sharpness']:.2f} vs 2/lr = {2 / lr:.1f}; quotient sharpness max "
        f"{res['max_quotient_sharpness']:.2f}")
    log(f"    GD map x -> x - lr grad L folds (lr*lambda_max >= 1) by step {fold} and is unstable along the top "
        f"eigenvector (lr*lambda_max >= 2) by step {diverge} (sharpness sampled every {int(obs_steps[1] - obs_steps[0])} steps)")
    log("    events: " + ("; ".join(f"{e['kind']} at step {e['step']} (size {e['size']:.3g})" for e in events)
                          or "none"))
    return res


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
    train = _training_part(out_dir, log)
    if train is not None:
        results["training"] = train
    cat = _catapult_part(out_dir, log)
    if cat is not None:
        results["catapult"] = cat
    with open(os.path.join(out_dir, "demo.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    log(f"done in {time.perf_counter() - t0:.0f} s; figures in {out_dir}/figures/, numbers in {out_dir}/demo.json")
    return 0
