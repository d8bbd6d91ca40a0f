"""Figures of ``qshock verify --figures DIR``: convergence, the Burgers x–t diagram, shock times."""

from __future__ import annotations

import numpy as np

from .common import TWO_PI
from .registry import Context

__all__ = ["write_figures"]


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
