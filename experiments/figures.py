"""``qshock figures RUN_DIR``: redraw the figures of a training run or of a study directory.

* training run (``RUN_DIR/metrics.nc``): ``experiments.runstore.write_figures``;
* study directory (``RUN_DIR/results.json`` from ``experiments.studies``): the study figures below,
  drawn from results.json only (no training);
* anything else: QShockInputError.

Study figures (``RUN_DIR/figures/<stem>.<fmt>``):
  edge-of-stability  eos_sharpness (lambda_max(H) vs step, with 2/eta and 1/eta), eos_loss
  catapult           catapult_loss (L/L_0 vs step), catapult_sharpness (eta lambda vs step, 2 marked)
  conservation       conservation_sqnorm (|theta_A|^2 measured vs integral law), conservation_residual
                     (relative error of the discrete identity per step), conservation_translation
"""

from __future__ import annotations

import json
import os

import numpy as np

from solver.errors import QShockInputError

__all__ = ["run", "study_figures"]


def _arr(x):
    return np.asarray([np.nan if v is None else v for v in x], float) if not (x and isinstance(x[0], list)) \
        else np.asarray([[np.nan if v is None else v for v in row] for row in x], float)


def study_figures(run_dir: str, formats=("pdf", "png")) -> list:
    """Draw the figures of the study in ``run_dir/results.json``; returns the files written."""
    from experiments.plotting import COLORS, figure, save

    path = os.path.join(run_dir, "results.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        study, items = doc["study"], doc["items"]
    except (OSError, json.JSONDecodeError, KeyError) as e:
        raise QShockInputError(f"figures: {path!r} is not a readable study results file: {e}") from e
    stem = lambda s: os.path.join(run_dir, "figures", s)  # noqa: E731
    written = []
    if study == "edge-of-stability":
        lrs = sorted({d["lr"] for d in items})
        fig, ax = figure()
        for i, lr in enumerate(lrs):
            col = COLORS[i % len(COLORS)]
            for j, d in enumerate(x for x in items if x["lr"] == lr):
                s = d["series"]
                ax.plot(s["obs_steps"], _arr(s["sharpness"]), color=col, lw=1,
                        label=f"η = {lr:g}" if j == 0 else None)
            ax.axhline(2 / lr, color=col, ls="--", lw=0.8, label=f"2/η = {2 / lr:.3g}")
            ax.axhline(1 / lr, color=col, ls=":", lw=0.8)
        ax.set(xlabel="step", ylabel="sharpness λmax(H)", yscale="log",
               title="full-batch GD: sharpness vs 2/η (dashed) and fold 1/η (dotted)")
        ax.legend(ncol=2)
        written += save(fig, stem("eos_sharpness"), formats)
        fig, ax = figure()
        for i, lr in enumerate(lrs):
            for j, d in enumerate(x for x in items if x["lr"] == lr):
                ax.plot(_arr(d["series"]["loss"]), color=COLORS[i % len(COLORS)], lw=0.8,
                        label=f"η = {lr:g}" if j == 0 else None)
        ax.set(xlabel="step", ylabel="full-batch training loss", yscale="log")
        ax.legend()
        written += save(fig, stem("eos_loss"), formats)
    elif study == "catapult":
        cs = sorted({d["eta_lambda0"] for d in items})
        fig, ax = figure()
        fig2, ax2 = figure()
        for i, c in enumerate(cs):
            col = COLORS[i % len(COLORS)]
            for j, d in enumerate(x for x in items if x["eta_lambda0"] == c):
                lab = f"ηλ₀ = {c:g} ({d['predicted']} → {d['observed']})" if j == 0 else None
                s = d["series"]
                ax.plot(_arr(s["loss"]) / d["L0"], color=col, lw=1, label=lab)
                ax2.plot(s["obs_steps"], d["eta"] * _arr(s["sharpness"]), "o-", ms=2, color=col, lw=1, label=lab)
        ax.set(xlabel="step", ylabel="loss / L₀", yscale="log", title="catapult study")
        ax.legend()
        ax2.axhline(2, color="k", ls="--", lw=0.8, label="ηλ = 2")
        ax2.set(xlabel="step", ylabel="η λmax(H)", yscale="log")
        ax2.legend()
        written += save(fig, stem("catapult_loss"), formats)
        written += save(fig2, stem("catapult_sharpness"), formats)
    elif study == "conservation":
        fig, ax = figure()
        fig2, ax2 = figure()
        fig3, ax3 = figure()
        for j, d in enumerate(items):
            s = d["series"]
            t = _arr(s["t"])
            for g, (sq, fl, de) in enumerate(zip(s["sqnorm"], s["flow"], s["disc_err"])):
                col = COLORS[(g + 2 * j) % len(COLORS)]
                ax.plot(t, _arr(sq), color=col, lw=1.2, label=f"‖θ_A‖² layer {g} (seed {d['seed']})")
                ax.plot(t, _arr(fl), color=col, ls="--", lw=1, label="integral law" if g == 0 and j == 0 else None)
                ax2.semilogy(t[1:], np.maximum(_arr(de), 1e-18), color=col, lw=0.6, label=f"layer {g} (seed {d['seed']})")
            ax3.plot(t, _arr(s["bsum"]), color=COLORS[j % len(COLORS)], lw=1.2, label=f"1ᵀb measured (seed {d['seed']})")
            ax3.plot(t, _arr(s["bsum_pred"]), color="k", ls="--", lw=0.8, label="e^{−λt} 1ᵀb(0)" if j == 0 else None)
        ax.set(xlabel="t = η k", ylabel="‖θ_A‖² (scale-invariant group)", title="measured (solid) vs integral law (dashed)")
        ax.legend(fontsize=6)
        ax2.set(xlabel="t = η k", ylabel="relative error of discrete identity")
        ax2.legend(fontsize=6)
        ax3.set(xlabel="t = η k", ylabel="1ᵀb (logits bias)")
        ax3.legend(fontsize=6)
        written += save(fig, stem("conservation_sqnorm"), formats)
        written += save(fig2, stem("conservation_residual"), formats)
        written += save(fig3, stem("conservation_translation"), formats)
    else:
        raise QShockInputError(f"figures: unknown study {study!r} in {path}")
    return written


def run(args) -> int:
    """CLI entry: ``qshock figures RUN_DIR [--format pdf|png|svg]``."""
    run_dir = args.run_dir
    fmt = getattr(args, "format", None) or "pdf"
    if not os.path.isdir(run_dir):
        raise QShockInputError(f"figures: run directory {run_dir!r} does not exist")
    if os.path.exists(os.path.join(run_dir, "metrics.nc")):
        from experiments.runstore import write_figures

        files = write_figures(run_dir, (fmt,))
    elif os.path.exists(os.path.join(run_dir, "results.json")):
        files = study_figures(run_dir, (fmt,))
    else:
        raise QShockInputError(f"figures: {run_dir!r} is neither a training run (metrics.nc) nor a study "
                               f"directory (results.json)")
    print(f"{len(files)} figure(s) written to {os.path.join(run_dir, 'figures')}")
    return 0
