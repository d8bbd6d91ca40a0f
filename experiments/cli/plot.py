"""``qshock plot FILE.nc [--out FIG.pdf] [--shocks]``: draw any solution file of ``qshock solve``.

* 1-D: an x–t diagram of ``u`` (rasterised mesh inside the vector file) and snapshots; with
  ``--shocks`` the shock predicted from the initial data (``ic`` attribute, flat 1-D files) is
  drawn as a dashed line at ``t*`` and a marker at its place, plus the detected one when the
  file comes from ``qshock shocks --out``;
* 2-D flat (or chart) boxes: snapshots of ``u`` (the speed ``|v|`` for N-D Burgers);
* the sphere S² (chart coordinates ``theta``, ``phi``): Mollweide maps (longitude ``phi - π``,
  latitude ``π/2 - theta``) at the first and last times.

One figure style for the project (:mod:`qshock.experiments.lab.plotting`); every axis labelled
with the coordinate name and its units from the file.
"""

from __future__ import annotations

import math
import os

import numpy as np

from qshock.errors import QShockInputError

__all__ = ["run", "draw", "add_arguments"]

MAX_SNAPSHOTS = 6


def add_arguments(s) -> None:
    s.add_argument("file", metavar="FILE.nc", help="a solution written by qshock solve / shocks --out")
    s.add_argument("--out", metavar="FIG.pdf", help="figure file (.pdf, .png or .svg; default FILE.pdf)")
    s.add_argument("--shocks", action="store_true", help="1-D: draw the predicted (and detected) shock")


def _open(path: str):
    import xarray as xr

    if not os.path.isfile(path):
        raise QShockInputError(f"{path}: no such file")
    try:
        ds = xr.load_dataset(path)
    except (OSError, ValueError) as e:
        raise QShockInputError(f"{path} is not a readable NetCDF file (truncated or corrupt?): "
                               f"{type(e).__name__}") from None
    if "u" not in ds or "t" not in ds.coords:
        raise QShockInputError(f"{path} is not a qshock solution (needs variable u and coordinate t)")
    if ds["u"].size == 0 or ds.sizes["t"] == 0:
        raise QShockInputError(f"{path} holds no values of u (empty time or space axis)")
    if not np.isfinite(ds["u"].values).any():
        raise QShockInputError(f"{path}: u has no finite value (NaN or infinite everywhere); nothing to draw")
    return ds


def _label(ds, name: str) -> str:
    units = ds[name].attrs.get("units", "1") if name in ds.variables else "1"
    return name if units in ("1", "") else f"{name} [{units}]"


def _field(ds) -> tuple[np.ndarray, list, str]:
    """u as (t, *space), the spatial dims, and the colour-bar label."""
    u = ds["u"]
    space = [d for d in u.dims if d not in ("t", "component")]
    if "component" in u.dims:
        return np.sqrt((u.transpose("t", "component", *space).values ** 2).sum(axis=1)), space, "|v|"
    return u.transpose("t", *space).values, space, "u"


def _snapshot_indices(nt: int, k: int = MAX_SNAPSHOTS) -> list:
    return sorted(set(np.linspace(0, nt - 1, min(k, nt)).round().astype(int).tolist()))


def _draw_1d(ds, shocks: bool):
    from qshock.experiments.lab.plotting import figure

    u, (xn,), clabel = _field(ds)
    x, t = ds[xn].values, ds["t"].values
    fig, (a0, a1) = figure(1, 2, figsize=(9.0, 3.4), constrained_layout=True)
    if t.size > 1:
        im = a0.pcolormesh(x, t, u, shading="auto", cmap="RdBu_r", rasterized=True)
        fig.colorbar(im, ax=a0, label=clabel)
    else:
        a0.plot(x, u[0])
    a0.set(xlabel=_label(ds, xn), ylabel="t", title="x-t diagram")
    for i in _snapshot_indices(t.size):
        a1.plot(x, u[i], label=f"t = {t[i]:.3g}")
    a1.set(xlabel=_label(ds, xn), ylabel=clabel, title="snapshots")
    a1.legend()
    if shocks:
        _draw_shocks(ds, a0, a1)
    return fig


def _draw_shocks(ds, a0, a1) -> None:
    pred = _predicted(ds)
    if pred is not None and math.isfinite(pred[0]):
        a0.axhline(pred[0], color="k", ls="--", lw=1, label=f"predicted t* = {pred[0]:.4g}")
        a0.plot([pred[1]], [pred[0]], "k*", ms=8)
        a1.axvline(pred[1], color="k", ls="--", lw=0.8)
    det = ds.attrs.get("detected_shock_time")
    if isinstance(det, (int, float, np.floating)) and math.isfinite(float(det)):
        a0.axhline(float(det), color="k", ls=":", lw=1, label=f"detected t = {float(det):.4g}")
    a0.legend(loc="upper right")


def _predicted(ds):
    """(time, place) of the first shock predicted from the file's ``ic`` (flat 1-D), or None."""
    from qshock.experiments.cli.expr import compile_expression
    from qshock.solver import Burgers, Grid, HamiltonJacobi
    from qshock.solver.shocks import predict

    ic, xn = ds.attrs.get("ic"), _field(ds)[1][0]
    if not ic or ds.attrs.get("manifold", "euclidean") != "euclidean":
        raise QShockInputError("--shocks needs a flat 1-D file with an 'ic' attribute (written by qshock solve)")
    lo, hi = (float(v) for v in str(ds.attrs.get("domain", f"{ds[xn].values[0]}:{ds[xn].values[-1]}")).split(":"))
    bc = str(ds.attrs.get("bc", "periodic")).split("/")[0]
    grid = Grid(lo, hi, int(ds.sizes[xn]), [bc], (xn,))
    nu = float(ds.attrs.get("nu", 0.0))
    eq = Burgers(nu=nu) if ds.attrs.get("equation") == "burgers" else HamiltonJacobi(nu=nu)
    est = predict(eq, compile_expression(str(ic), (xn,), option="ic"), grid)
    return (float(est.time), float(est.location[0])) if est.location is not None else None


def _draw_2d(ds):
    from qshock.experiments.lab.plotting import figure

    u, (an, bn), clabel = _field(ds)
    t = ds["t"].values
    idx = _snapshot_indices(t.size, 4)
    fig, axes = figure(1, len(idx), figsize=(3.4 * len(idx), 3.2), squeeze=False, constrained_layout=True)
    vmin, vmax = np.nanmin(u), np.nanmax(u)
    for ax, i in zip(axes[0], idx):
        im = ax.pcolormesh(ds[an].values, ds[bn].values, u[i].T, shading="auto", vmin=vmin, vmax=vmax,
                           cmap="RdBu_r", rasterized=True)
        ax.set(xlabel=_label(ds, an), ylabel=_label(ds, bn), title=f"t = {t[i]:.3g}")
        ax.grid(False)
    fig.colorbar(im, ax=list(axes[0]), label=clabel)
    return fig


def _draw_sphere(ds):
    from qshock.experiments.lab.plotting import figure

    u, _, clabel = _field(ds)
    u = ds["u"].transpose("t", "theta", "phi").values
    th, ph, t = ds["theta"].values, ds["phi"].values, ds["t"].values
    idx = [0, t.size - 1] if t.size > 1 else [0]
    fig, axes = figure(1, len(idx), figsize=(4.6 * len(idx), 2.9), squeeze=False, constrained_layout=True,
                       subplot_kw={"projection": "mollweide"})
    lon = np.mod(ph + np.pi, 2 * np.pi) - np.pi  # phi in [0, 2pi) -> longitude in [-pi, pi)
    order = np.argsort(lon)
    vmin, vmax = np.nanmin(u), np.nanmax(u)
    for ax, i in zip(axes[0], idx):
        im = ax.pcolormesh(lon[order], np.pi / 2 - th, u[i][:, order], shading="auto", vmin=vmin, vmax=vmax,
                           cmap="RdBu_r", rasterized=True)
        ax.set(xlabel="longitude phi - pi", ylabel="latitude pi/2 - theta", title=f"t = {t[i]:.3g}")
        ax.tick_params(labelsize=6)
    fig.colorbar(im, ax=list(axes[0]), label=clabel, shrink=0.7)
    return fig


def draw(ds, shocks: bool = False):
    """The figure of a solution dataset (see the module docstring)."""
    space = _field(ds)[1]
    if set(space) == {"theta", "phi"} and str(ds.attrs.get("manifold", "")).lower() in ("sphere", "scale"):
        return _draw_sphere(ds)
    if shocks and len(space) != 1:
        raise QShockInputError("--shocks is drawn on 1-D solutions only")
    if len(space) == 1:
        return _draw_1d(ds, shocks)
    if len(space) == 2:
        return _draw_2d(ds)
    raise QShockInputError(f"plot draws 1-D, 2-D and S^2 solutions; this one has axes {', '.join(space)}")


def run(args) -> int:
    """CLI entry: check the figure path, read the file, draw, write atomically."""
    import matplotlib.pyplot as plt

    from qshock.experiments.cli.guard import check_output_file
    from qshock.experiments.lab.runstore import atomic_savefig, track_output

    out = args.out or os.path.splitext(args.file)[0] + ".pdf"
    check_output_file(out, "--out", suffixes=(".pdf", ".png", ".svg"))
    ds = _open(args.file)
    fig = draw(ds, shocks=bool(args.shocks))
    track_output(out)
    atomic_savefig(fig, out, dpi=200)
    plt.close(fig)
    print(f"wrote {out}")
    return 0
