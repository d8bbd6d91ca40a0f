"""Figures of the shock-times study, drawn only from ``results.json``.

* ``shock_times_scatter``: predicted against observed step (held-out runs), y = x, one colour
  per predictor, one panel per event kind.
* ``shock_times_ensemble``: the solver's Burgers solution on a 1-D quotient chart with its
  characteristics, and x–step diagrams of the SGD ensemble below the fold, past it, past 2τ*:
  SGD of the chart's 1-D loss (grey), the same cloud trained as network copies (red), and the
  deterministic step-map characteristics (blue).
* ``shock_times_track``: one run's quotient and raw sharpness against 2/η_eff and 2/η, and
  the solver's 1/τ* where it was computed.
"""

from __future__ import annotations

import numpy as np

from ..figures_common import arr, figure_stem

__all__ = ["draw"]


def _runs(doc):
    return [r for it in doc["items"] if "ck_steps" in it for r in it["runs"]]


def _scatter(doc, stem, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    events = doc["summary"]["events"]
    kinds = ["oscillation", "spike", "drop"]
    fig, axes = figure(1, 3, figsize=(11, 3.6))
    runs = [r for r in _runs(doc) if r.get("split") == "held-out" and r["alpha"] == 1.0]
    for ax, kind in zip(axes, kinds):
        names = [n for n, e in events.items() if e == kind] + [f"constant_{kind}"]
        top = 1.0
        for i, n in enumerate(names):
            pts = [(r["observed"][kind], r["predicted"][n]) for r in runs
                   if r["observed"][kind] is not None and r["predicted"].get(n) is not None]
            if not pts:
                continue
            o, pr = np.asarray(pts, float).T
            top = max(top, o.max(), pr.max())
            ax.scatter(o, pr, s=12, color=COLORS[i % len(COLORS)], alpha=0.75, label=n,
                       marker="x" if n.startswith("constant") else "o")
        ax.plot([0, top], [0, top], "k--", lw=0.8, label="y = x")
        ax.set(xlabel=f"observed {kind} step", ylabel="predicted step", title=f"{kind} (held-out seeds)")
        ax.legend(fontsize=6)
    return save(fig, stem("shock_times_scatter"), formats)


def _window(X, Xn, x):
    """The x-range of the ensemble panels: the 1–99 % range of both clouds over all steps,
    widened by half its width and kept inside the chart box."""
    v = np.concatenate([np.ravel(X), np.ravel(Xn)])
    v = v[np.isfinite(v)]
    if not v.size:
        return float(x[0]), float(x[-1])
    a, b = np.quantile(v, [0.01, 0.99])
    pad = 0.5 * max(b - a, 1e-3 * (x[-1] - x[0]))
    return float(max(a - pad, x[0])), float(min(b + pad, x[-1]))


def _ensemble(doc, stem, formats):
    from qshock.experiments.lab.plotting import figure, save

    ens = next((it for it in doc["items"] if "characteristics" in it), None)
    if ens is None:
        return []
    fig, axes = figure(1, 4, figsize=(13, 3.4))
    x, t = arr(ens["x"]), arr(ens["t"])
    ax = axes[0]
    v = arr(ens["v"])
    lim = np.nanmax(np.abs(v))
    ax.pcolormesh(x, t, v, cmap="RdBu_r", shading="auto", vmin=-lim, vmax=lim)
    ax.plot(arr(ens["characteristics"]), t, "k-", lw=0.5, alpha=0.6)
    tau = ens["tau_star"]
    if tau is not None:
        ax.axhline(tau, color="k", ls="--", lw=1, label=f"fold τ* = {tau:.3g}")
    for rr in ens["panels"]:
        ax.axhline(rr["eta"], color="C1", ls=":", lw=0.8)
    ax.set(xlabel="chart coordinate x", ylabel="PDE time τ")
    ax.set_title(f"solver Burgers, v₀ = −L′\n({ens['arch']} quotient chart)", fontsize=8)
    ax.legend(fontsize=7)
    for ax, rr in zip(axes[1:], ens["panels"]):
        X = arr(rr["x"])
        k = np.arange(X.shape[0])
        ax.plot(X, k, color="0.3", lw=0.3, alpha=0.25)
        lo, hi = _window(X, arr(rr["x_network"]) if "x_network" in rr else X, x)
        feet = np.linspace(lo, hi, 15)
        det = [feet]
        for _ in k[1:]:
            det.append(det[-1] + rr["eta"] * np.interp(det[-1], x, arr(ens["v0"])))
        ax.plot(np.asarray(det), k, color="C0", lw=0.8)
        title = f"η = {rr['ratio']:g} τ*\n{ens['n']} chart-SGD runs (grey)"
        if "x_network" in rr:
            ax.plot(arr(rr["x_network"]), k, color="C3", lw=0.3, alpha=0.2)
            title = f"η = {rr['ratio']:g} τ*\n{ens['n']} SGD runs: chart (grey), network (red)"
        ax.set(xlim=(lo, hi), xlabel="chart coordinate x", ylabel="step k")
        ax.set_title(title, fontsize=8)
    return save(fig, stem("shock_times_ensemble"), formats)


def _track(doc, stem, formats):
    from qshock.experiments.lab.plotting import figure, save

    runs = [r for r in _runs(doc) if r["alpha"] == 1.0]
    if not runs:
        return []
    r = max(runs, key=lambda r: (r["observed"]["oscillation"] is not None, r["lr"]))
    tr = r["track"]
    k = np.asarray([q["step"] for q in tr], float)
    g = lambda key: arr([q[key] for q in tr])  # noqa: E731
    fig, ax = figure()
    ax.plot(k, g("lam_q"), "o-", label="quotient sharpness λ_q")
    ax.plot(k, g("lam_raw"), "s-", label="raw sharpness λ")
    ax.plot(k, 2.0 / g("eta_eff"), "--", label="2/η_eff")
    ax.axhline(2.0 / r["lr"], color="k", ls=":", lw=0.8, label="2/η")
    tq = g("tau_q")
    ax.plot(k, 1.0 / tq, "^", ms=6, label="1/τ* (solver, quotient)")
    obs = r["observed"]["oscillation"]
    if obs is not None:
        ax.axvline(obs, color="C3", lw=0.8, label="observed onset")
    ax.set(xlabel="step", ylabel="curvature", yscale="log",
           title=f"{r['arch']}, η = {r['lr']:g}, B = {r['batch']}, seed {r['seed']}")
    ax.legend(fontsize=6)
    return save(fig, stem("shock_times_track"), formats)


def draw(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """All figures of the study (module docstring)."""
    stem = figure_stem(run_dir)
    return _scatter(doc, stem, formats) + _ensemble(doc, stem, formats) + _track(doc, stem, formats)
