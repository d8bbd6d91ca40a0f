"""One publication style for every qshock figure: vector PDF plus PNG, labelled axes, legends.

Use :func:`figure` to get a styled ``(fig, ax)`` and :func:`save` to write ``stem.pdf`` and
``stem.png`` atomically next to each other.
"""

from __future__ import annotations

import os
from typing import Iterable

__all__ = ["STYLE", "figure", "save", "COLORS"]

#: matplotlib rcParams shared by all qshock figures
STYLE = {
    "figure.figsize": (4.8, 3.4), "figure.dpi": 110, "savefig.dpi": 200, "savefig.bbox": "tight",
    "font.size": 9, "axes.labelsize": 9, "axes.titlesize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3,
    "lines.linewidth": 1.4, "lines.markersize": 4, "legend.frameon": False,
    "pdf.fonttype": 42, "ps.fonttype": 42, "axes.spines.top": False, "axes.spines.right": False,
}
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]


def figure(nrows: int = 1, ncols: int = 1, **kw):
    """A styled figure (non-interactive Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cycler import cycler

    plt.rcParams.update(STYLE)
    plt.rcParams["axes.prop_cycle"] = cycler(color=COLORS)
    return plt.subplots(nrows, ncols, **kw)


def save(fig, stem: str, formats: Iterable[str] = ("pdf", "png")) -> list[str]:
    """Write ``stem.<fmt>`` for each format (through a temporary file); returns the paths."""
    import matplotlib.pyplot as plt

    folder = os.path.dirname(os.path.abspath(stem))
    os.makedirs(folder, exist_ok=True)
    paths = []
    for fmt in formats:
        path = f"{stem}.{fmt}"
        tmp = os.path.join(folder, f".tmp-{os.path.basename(path)}")
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, path)
        paths.append(path)
    plt.close(fig)
    return paths
