"""Edge of stability (alias ``eos``): full-batch GD on an MLP (digits).

The GD map x ↦ x − η∇L folds where ηλ_max = 1 (I − ηH singular: oscillation along the top
eigenvector starts) and diverges where ηλ_max = 2 (docs/theory.md §2, §4). Per η the study
measures the sharpness λ_max(H) by Lanczos and reports max λ / (2/η), the first observed steps
with ηλ > 1 and > 2, and the detected oscillation-onset and loss-spike steps.

Figures: ``eos_sharpness`` (λ_max(H) against step, with 2/η and 1/η) and ``eos_loss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .stats import first_step, fmt, mean_std
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures"]

NAME = "edge-of-stability"
ALIASES = ("eos",)


@dataclass(frozen=True)
class Config(StudyConfig):
    model: str = "mlp"
    data: str = "digits"
    width: int = 32
    depth: int = 2
    activation: str = "tanh"
    lrs: tuple = (0.3, 0.6, 1.2)
    steps: int = 400
    sharpness_every: int = 10
    lanczos_iters: int = 20
    dtype: str = "float32"

    @classmethod
    def quick(cls):
        return cls(lrs=(0.3, 1.2), steps=200)

    def validate(self):
        for lr in self.lrs:
            if not (isinstance(lr, (int, float)) and lr > 0):
                raise QShockInputError(f"--config: lrs must be positive numbers, got {lr!r}")
        if self.steps < 1 or self.sharpness_every < 1:
            raise QShockInputError("--config: steps and sharpness_every must be >= 1")


def _eos_item(p, lr, seed):
    from qshock.experiments.lab import training
    from qshock.experiments.lab.events import loss_spikes, oscillation_onset

    cfg = training.TrainConfig(model=p.model, data=p.data, lr=float(lr), steps=int(p.steps),
                               full_batch=True, sharpness_every=int(p.sharpness_every), quotient_sharpness=False,
                               width=int(p.width), depth=int(p.depth), activation=p.activation,
                               n_eigs=1, sharpness_batch=10**9, lanczos_iters=int(p.lanczos_iters),
                               dtype=p.dtype, seeds=(int(seed),))
    r = training.train(cfg)
    lam = np.asarray(r.obs["sharpness"][0, :, 0], float)
    osteps = np.asarray(r.obs_steps)
    loss = np.asarray(r.step_metrics["loss"][0], float)
    osc = oscillation_onset(r.step_metrics["update_proj"][0])
    spikes = loss_spikes(loss)
    fin = np.isfinite(lam)
    return dict(lr=float(lr), seed=int(seed), edge=2.0 / lr, lambda0=float(lam[0]),
                max_sharpness=float(np.nanmax(lam)) if fin.any() else float("nan"),
                max_ratio=float(np.nanmax(lam) * lr / 2) if fin.any() else float("nan"),
                final_sharpness=float(lam[-1]), final_loss=float(loss[-1]),
                step_eta_lambda_gt1=first_step(lr * lam > 1, osteps), step_eta_lambda_gt2=first_step(lr * lam > 2, osteps),
                oscillation_onset=None if osc is None else osc["step"],
                loss_spikes=[s["step"] for s in spikes],
                series=dict(obs_steps=osteps, sharpness=lam, loss=loss), wall=float(r.wall_time))


def run(p, seeds, store, log) -> StudyResult:
    """One item per (η, seed); the table has one row per η (mean ± std over seeds)."""
    items = []
    for lr in p.lrs:
        for s in seeds:
            ip = dict(p.params(), lrs=None, lr=float(lr), seed=int(s))
            items.append(store.item(f"lr{lr:g}_seed{s}", ip, lambda: _eos_item(p, lr, s)))
    rows = []
    for lr in p.lrs:
        its = [d for d in items if d["lr"] == float(lr)]
        g = lambda k: [d[k] for d in its]  # noqa: E731
        rows.append({"lr": float(lr), "2/lr": 2.0 / lr, "max_lambda": mean_std(g("max_sharpness"))[:2],
                     "max_lambda/(2/lr)": mean_std(g("max_ratio"))[:2],
                     "step eta*lam>1": mean_std(g("step_eta_lambda_gt1"))[:2],
                     "step eta*lam>2": mean_std(g("step_eta_lambda_gt2"))[:2],
                     "osc onset": mean_std(g("oscillation_onset"))[:2],
                     "first spike": mean_std([d["loss_spikes"][0] if d["loss_spikes"] else None for d in its])[:2],
                     "final loss": mean_std(g("final_loss"))[:2],
                     "lambda0": mean_std(g("lambda0"))[:2],
                     "_fmt": [f"{lr:g}", f"{2 / lr:.3g}", fmt(g("lambda0")), fmt(g("max_sharpness")), fmt(g("max_ratio")),
                              fmt(g("step_eta_lambda_gt1")), fmt(g("step_eta_lambda_gt2")),
                              fmt(g("oscillation_onset")),
                              fmt([d["loss_spikes"][0] if d["loss_spikes"] else None for d in its]),
                              fmt(g("final_loss"))]})
    header = ["eta", "2/eta", "lam0", "max lam", "max lam/(2/eta)", "step eta*lam>1", "step eta*lam>2",
              "osc onset", "loss spike", "final loss"]
    return StudyResult(header, rows, items)


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw ``eos_sharpness`` and ``eos_loss`` from the results document ``doc``."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    items, stem = doc["items"], figure_stem(run_dir)
    written = []
    lrs = sorted({d["lr"] for d in items})
    fig, ax = figure()
    for i, lr in enumerate(lrs):
        col = COLORS[i % len(COLORS)]
        for j, d in enumerate(x for x in items if x["lr"] == lr):
            s = d["series"]
            ax.plot(s["obs_steps"], arr(s["sharpness"]), color=col, lw=1,
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
            ax.plot(arr(d["series"]["loss"]), color=COLORS[i % len(COLORS)], lw=0.8,
                    label=f"η = {lr:g}" if j == 0 else None)
    ax.set(xlabel="step", ylabel="full-batch training loss", yscale="log")
    ax.legend()
    written += save(fig, stem("eos_loss"), formats)
    return written
