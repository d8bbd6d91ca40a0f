"""Figures of ``qshock verify --figures DIR``: convergence, the Burgers x–t diagram, shock times."""

from __future__ import annotations

import numpy as np

from .common import TWO_PI
from .registry import Context

__all__ = ["write_figures"]


def _convergence(ax, conv: dict) -> None:
    """Error against N for each row, with reference slopes N^-1, N^-2, N^-5."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for label, (ns, errs) in conv.items():
        ax.loglog(ns, errs, "o-", label=label)
    ns = np.array([20, 320])
    for p, ls in ((1, ":"), (2, "--"), (5, "-.")):
        ax.loglog(ns, 0.5 * (ns / 20.0) ** (-p), "k" + ls, lw=0.8, label=f"order {p}")
    ax.set_xticks([20, 40, 80, 160, 320])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="cells N", ylabel="error", title="Convergence of the finite-volume schemes")
    ax.legend(ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _xt_diagram(fig, ax, x, ts, u, pred) -> None:
    """u(x, t) of Burgers u0 = sin x, the characteristics x0 + t sin x0 up to t*, and the predicted shock."""
    im = ax.pcolormesh(x, ts, u, shading="auto", cmap="RdBu_r")
    fig.colorbar(im, ax=ax, label="u(x, t)")
    for x0 in np.linspace(0, TWO_PI, 25, endpoint=False):
        tt = np.linspace(0, min(ts[-1], pred.time), 50)
        ax.plot((x0 + tt * np.sin(x0)) % TWO_PI, tt, "k-", lw=0.5, alpha=0.6)
    ax.plot([], [], "k-", lw=0.5, label="characteristics")
    ax.plot([pred.location[0]], [pred.time], "*", color="gold", ms=12, mec="k", label="predicted shock")
    ax.set(xlabel="x", ylabel="t", title="Burgers, u0 = sin x")
    ax.legend(loc="upper right")


def _shock_times(ax, tp, td) -> None:
    """Detected against predicted shock times, with the diagonal."""
    ax.plot(tp, td, "o", label="random Fourier data (WENO5)")
    lim = [0, 1.1 * np.nanmax([tp.max(), np.nanmax(td)])]
    ax.plot(lim, lim, "k--", lw=0.8, label="t_det = t_pred")
    ax.set(xlabel="predicted shock time  -1/min u0'", ylabel="detected shock time",
           title="Predicted vs detected shock times")
    ax.legend()


def write_figures(ctx: Context, folder: str) -> list[str]:
    """Convergence plot, x–t diagram with characteristics, predicted vs detected shock times.

    Each figure is drawn only when the rows that feed it ran (``ctx.figdata``); returns the paths
    written (PDF and PNG).
    """
    from qshock.experiments.lab.plotting import figure, save

    paths = []
    if ctx.figdata.get("conv"):
        fig, ax = figure()
        _convergence(ax, ctx.figdata["conv"])
        paths += save(fig, f"{folder}/convergence")
    if "xt" in ctx.figdata:
        fig, ax = figure()
        _xt_diagram(fig, ax, *ctx.figdata["xt"])
        paths += save(fig, f"{folder}/xt_burgers")
    if "random" in ctx.figdata:
        fig, ax = figure()
        _shock_times(ax, *ctx.figdata["random"])
        paths += save(fig, f"{folder}/shock_times")
    return paths
