"""Figures of the phase-diagram study (drawn only from ``results.json``) and its documentation data."""

from __future__ import annotations

import json
import math
import os

import numpy as np

from ..figures_common import arr, figure_stem

__all__ = ["draw_all", "write_doc_data"]

PHASE_COLORS = {"learning": "#1b9e77", "glassy": "#7570b3", "noise": "#d95f02", "unstable": "#999999"}


def _grid(doc):
    p = doc["params"]
    return sorted(float(s) for s in p["sigma2s"]), sorted(float(t) for t in p["temps"])


def _parts(doc):
    items = doc["items"]
    train = [it for it in items if "runs" in it]
    lang = next((it for it in items if "points" in it), None)
    fp = next((it for it in items if "marg_fp" in it), None)
    return train, lang, fp


def phase_figure(run_dir, doc, formats):
    from matplotlib.patches import Patch

    from qshock.experiments.lab.plotting import figure, save

    s2s, temps = _grid(doc)
    rows = {(r["sigma2"], r["temp"]): r for r in doc["rows"]}
    fig, ax = figure(figsize=(6.5, 5))
    for i, t in enumerate(temps):
        for j, s in enumerate(s2s):
            r = rows.get((s, t))
            if r is None:
                continue
            ax.add_patch(__import__("matplotlib.patches", fromlist=["Rectangle"]).Rectangle(
                (i - 0.5, j - 0.5), 1, 1, color=PHASE_COLORS[r["phase"]], alpha=0.35 + 0.65 * r["confidence"]))
            ax.text(i, j, f"{r['confidence']:.2f}", ha="center", va="center", fontsize=7)
    ax.set(xlim=(-0.5, len(temps) - 0.5), ylim=(-0.5, len(s2s) - 0.5), xticks=range(len(temps)),
           yticks=range(len(s2s)), xlabel="T = η/B", ylabel="σ_w²")
    ax.set_xticklabels([f"{t:.2g}" for t in temps], rotation=45, fontsize=7)
    ax.set_yticklabels([f"{s:.3g}" for s in s2s], fontsize=7)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in PHASE_COLORS.items()], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    ax.set_title("majority phase (opacity, number: fraction of seeds × (η, B) pairs agreeing)", fontsize=8)
    return save(fig, figure_stem(run_dir)("phase_diagram"), formats)


def scaling_figure(run_dir, doc, formats):
    from qshock.experiments.lab.dyson import mp_singular_pdf, surmise_pdf
    from qshock.experiments.lab.plotting import COLORS, figure, save

    train, _, _ = _parts(doc)
    s2s, temps = _grid(doc)
    sm = doc["summary"]
    fig, axes = figure(nrows=2, ncols=2, figsize=(9, 7.5))
    ax = axes[0][0]
    for k, s in enumerate(s2s):
        pts = [(r["temp"], r["layers"][1]["width"]) for it in train for r in it["runs"] if r["sigma2"] == s and r["finite"]]
        if pts:
            a = np.asarray(pts, float)
            ax.loglog(a[:, 0], a[:, 1], "o", ms=2.5, color=COLORS[k % len(COLORS)], label=f"σ_w²={s:.3g}")
    we = sm["width_exponent"]
    if we["alpha"] is not None:
        t = np.asarray(temps)
        ref = np.median([r["layers"][1]["width"] for it in train for r in it["runs"] if r["finite"]])
        ax.loglog(t, ref * np.sqrt(t / np.median(t)), "k--", lw=0.8, label="∝ √T")
        ax.set_title(f"bulk width of W₂ (stable runs): width ∝ T^α, α = {we['alpha']:.3f} ± {we['alpha_se']:.3f}",
                     fontsize=8)
    ax.set(xlabel="T = η/B", ylabel="fluctuation width")
    ax.legend(fontsize=5, ncol=2)
    ax = axes[0][1]
    if len(train) >= 2:
        idx = {(r["sigma2"], r["temp"], r["seed"]): r for r in train[1]["runs"] if r["finite"]}
        xs, ys = [], []
        for r in train[0]["runs"]:
            o = idx.get((r["sigma2"], r["temp"], r["seed"]))
            if r["finite"] and o is not None:
                for la, lb in zip(r["layers"], o["layers"]):
                    xs += list(arr(la["sbar"]))
                    ys += list(arr(lb["sbar"]))
        ax.plot(xs, ys, ".", ms=1.5, color=COLORS[0])
        lim = [0, max(xs + ys) if xs else 1]
        ax.plot(lim, lim, "k--", lw=0.8)
        c = sm["collapse"]
        ax.set_title(f"η/B collapse: pair distance {c['pair']:.3g} (seeds {c['seed']:.3g}, next T {c['temp']:.3g})",
                     fontsize=8)
        ax.set(xlabel=f"time-averaged s_i, B={train[0]['batch']}", ylabel=f"same T, B={train[1]['batch']}")
    ax = axes[1][0]
    h = train[0]["spacing_hist"]
    e = arr(h["edges"])
    c = 0.5 * (e[1:] + e[:-1])
    for key, col, lab in (("trained", COLORS[1], "trained (window)"), ("init", COLORS[2], "initialisation")):
        if h[key] is not None:
            cnt = arr(h[key])
            ax.step(c, cnt / (cnt.sum() * (e[1] - e[0])), where="mid", color=col, label=lab)
    ax.plot(c, surmise_pdf(c, 1.0), "k--", lw=0.8, label="GOE surmise")
    ft = h["fit_trained"] or {}
    ax.set_title(f"unfolded spacings of W₂'s singular values: β = {ft.get('beta', float('nan')):.2f}, "
                 f"KS(GOE) = {ft.get('ks_goe', float('nan')):.3f}", fontsize=8)
    ax.set(xlabel="s / ⟨s⟩", ylabel="density")
    ax.legend(fontsize=7)
    ax = axes[1][1]
    m, n = train[0]["shapes"][1]
    for k, (key, sv) in enumerate(sorted(train[0]["init_sv"].items(), key=lambda kv: float(kv[0]))[::3]):
        s2 = float(key)
        x = np.linspace(0, 2.2 * math.sqrt(s2), 200)
        ax.hist(arr(sv), bins=40, density=True, alpha=0.35, color=COLORS[k % len(COLORS)])
        ax.plot(x, mp_singular_pdf(x, m, n, s2 / n), color=COLORS[k % len(COLORS)],
                label=f"σ_w²={s2:.3g}: KS {sm['mp_init'][key]['ks']:.3f}")
    ax.set(xlabel="singular value of W₂ at initialisation", ylabel="density")
    ax.set_title("Marchenko–Pastur at initialisation", fontsize=8)
    ax.legend(fontsize=7)
    return save(fig, figure_stem(run_dir)("phase_scaling"), formats)


def langevin_figure(run_dir, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    _, lang, fp = _parts(doc)
    fig, axes = figure(nrows=2, ncols=2, figsize=(9, 7.5))
    pts = [x for x in (lang or {}).get("points", []) if x.get("ok")]
    for ax, key, lab in ((axes[0][0], "mean", "stationary mean s_i"), (axes[0][1], "width", "stationary width of s_i")):
        for x in pts:
            ax.plot(arr(x[f"{key}_obs"]), arr(x[f"{key}_sim"]), ".", ms=2,
                    color=PHASE_COLORS.get(x["phase"], COLORS[0]))
        allv = [v for x in pts for v in list(arr(x[f"{key}_obs"])) + list(arr(x[f"{key}_sim"])) if np.isfinite(v)]
        if allv:
            lo, hi = max(min(allv), 1e-6), max(allv)
            ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
            if key == "width":
                ax.set(xscale="log", yscale="log")
        ax.set(xlabel=f"SGD: {lab}", ylabel=f"Dyson SDE: {lab}")
    sm = doc["summary"]["langevin"]
    axes[0][0].set_title(f"W₂, seed 0: median rel. mean error {_num(sm['mean_rel_err']):.3g}", fontsize=8)
    axes[0][1].set_title(f"median width ratio SDE/SGD (same window) {_num(sm['width_ratio']):.3g}", fontsize=8)
    if fp is not None:
        c = arr(fp["centres"])
        for i, ax in enumerate((axes[1][0], axes[1][1])):
            ax.plot(c, arr(fp["marg_analytic"][i]), "k-", lw=1, label="analytic ∝ |s₁²−s₂²|e^{−U/D}")
            ax.plot(c, arr(fp["marg_fp"][i]), "--", color=COLORS[0], label="Fokker–Planck (FV)")
            if fp["marg_sde"] is not None:
                ax.step(c, arr(fp["marg_sde"][i]), where="mid", color=COLORS[1], lw=0.8, label="SDE ensemble")
            ax.set(xlabel=f"s{i + 1}", ylabel="marginal density")
            ax.legend(fontsize=6)
        axes[1][0].set_title(f"2×2 chamber: L1(FV, analytic) = {fp['l1_fp_vs_analytic']:.2g} on {fp['cells']}² cells",
                             fontsize=8)
        if fp["max_z_sde"]:
            axes[1][1].set_title(f"SDE vs FV: max |z| = {max(fp['max_z_sde']):.2f} ({fp['n_samples']} samples)",
                                 fontsize=8)
    return save(fig, figure_stem(run_dir)("phase_langevin"), formats)


def _num(v):
    return float("nan") if v is None else float(v)


def trajectory_figure(run_dir, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    train, _, _ = _parts(doc)
    it = train[0]
    steps = np.arange(len(it["runs"][0]["loss_curve"])) * it["log_every"]
    fig, axes = figure(nrows=2, ncols=1, figsize=(7, 6), sharex=True)
    shown = {}
    for r in it["runs"]:
        lab = r.get("phase", "?")
        if r["seed"] != 0 or lab in shown or not r["finite"]:
            continue
        shown[lab] = r
    for k, (lab, r) in enumerate(shown.items()):
        col = PHASE_COLORS.get(lab, COLORS[k])
        tr = arr(r["traj_top"])
        axes[0].plot(steps, tr, color=col, lw=0.7)
        axes[0].plot([], [], color=col, label=f"{lab}: σ_w²={r['sigma2']:.3g}, T={r['temp']:.2g}")
        axes[1].semilogy(steps, arr(r["loss_curve"]), color=col, lw=0.8)
    axes[0].set(ylabel="top 6 singular values of W₂")
    axes[0].legend(fontsize=7)
    axes[1].set(xlabel=f"SGD step (B = {it['batch']})", ylabel="full-batch loss")
    return save(fig, figure_stem(run_dir)("phase_trajectories"), formats)


def draw_all(run_dir, doc, formats=("pdf", "png")) -> list:
    train, _, _ = _parts(doc)
    if not train:
        return []
    out = []
    for f in (phase_figure, scaling_figure, langevin_figure, trajectory_figure):
        out += f(run_dir, doc, formats)
    return out


def _fmt(v, d=3):
    return "-" if v is None else (f"{v:.{d}g}" if isinstance(v, float) else str(v))


def write_doc_data(run_dir: str, dest: str) -> list:
    """``table.txt`` (the study table), ``summary.md`` (headline numbers), ``boundaries.md``,
    ``config.txt``, ``headline.md`` (one line for the README's studies block) and
    ``results_slim.json``, all from ``run_dir/results.json``."""
    from ..stats import text_table

    with open(os.path.join(run_dir, "results.json")) as f:
        doc = json.load(f)
    os.makedirs(dest, exist_ok=True)
    sm, p = doc["summary"], doc["params"]
    paths = [os.path.join(dest, n) for n in ("table.txt", "summary.md", "boundaries.md", "config.txt")]
    with open(paths[0], "w") as f:
        f.write(text_table(doc["header"], [r["_fmt"] for r in doc["rows"]]) + "\n")
    c, we, wn = sm["collapse"], sm["width_exponent"], sm["width_exponent_noise"]
    mp = sm["mp_init"]
    su, lg, fp = sm["surmise"], sm["langevin"], sm["fp"]
    pooled = next(iter(sm["surmise_pooled"].values()))
    lines = [
        "| check | number |", "|---|---|",
        f"| phases (grid points) | {', '.join(f'{k}: {v}' for k, v in sm['phases'].items())} |",
        f"| mean confidence | {sm['mean_confidence']:.3f} |",
        f"| η/B collapse: median spectrum distance between (η, B) pairs | {_fmt(c['pair'])} |",
        f"| … between seeds (same pair) / neighbouring T (same pair) | {_fmt(c['seed'])} / {_fmt(c['temp'])} |",
        f"| width ∝ T^α, all stable runs (learning, glassy, noise) | α = {_fmt(we['alpha'])} ± {_fmt(we['alpha_se'], 2)} (n = {we['n']}) |",
        f"| width ∝ T^α, noise-phase runs | α = {_fmt(wn['alpha'])} ± {_fmt(wn['alpha_se'], 2)} (n = {wn['n']}) |",
        "| MP at init, KS (W₂, pooled per σ_w²; Gaussian reference of equal size) | "
        + "; ".join(f"σ_w²={k}: {v['ks']:.3f} ({v['ks_gaussian_reference']:.3f})" for k, v in mp.items()) + " |",
        f"| GOE surmise β of unfolded W₂ singular-value spacings in the window (median over points, IQR) | {_fmt(su['beta_median'])} "
        f"[{', '.join(_fmt(q) for q in su['beta_q'] or [])}] |",
        f"| pooled spacings: β trained / at init | {_fmt((pooled['trained'] or {}).get('beta'))} / "
        f"{_fmt(pooled['init']['beta'])} (KS to GOE {_fmt((pooled['trained'] or {}).get('ks_goe'))} / "
        f"{_fmt(pooled['init']['ks_goe'])}) |",
        f"| Langevin (W₂, seed 0): median rel. error of stationary means | {_fmt(lg['mean_rel_err'])} |",
        f"| Langevin: median width ratio SDE / SGD (same window, {_fmt(lg['window_kappa'])} relaxation "
        f"times 1/κ̄) | {_fmt(lg['width_ratio'])} |",
        f"| Langevin: SDE stationary width / windowed width | {_fmt(lg.get('stationary_over_window'))} |",
        f"| Langevin: surmise β of simulated spacings | {_fmt(lg['beta_sim'])} |",
        f"| 2×2 Fokker–Planck vs analytic Dyson density (L1, {fp['cells']}² cells) | {fp['l1']:.3g} "
        f"(mass error {fp['mass_err']:.1e}) |",
        f"| 2×2 SDE ensemble vs FP marginals: max |z| | {_fmt(fp['max_z_sde'])} ({fp['n_samples']} samples) |",
        f"| wall time (2 shared cores) | training {', '.join(f'{k}: {v:.0f} s' for k, v in sm['wall']['train'].items())}; "
        f"Langevin {sm['wall']['langevin']:.0f} s; FP {sm['wall']['fp']:.0f} s; whole invocation "
        f"{doc['wall_time'] / 60:.1f} min |",
    ]
    with open(paths[1], "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(paths[2], "w") as f:
        f.write("| σ_w² | phases along T (ascending) | changes |\n|---|---|---|\n")
        for k, v in sm["boundaries"].items():
            f.write(f"| {k} | {' '.join(v['phases'])} | {'; '.join(v['changes']) or '-'} |\n")
    with open(paths[3], "w") as f:
        f.write(f"quick={doc['quick']} seeds={doc['seeds']} " + " ".join(f"{k}={v}" for k, v in p.items()) + "\n")
    paths.append(os.path.join(dest, "headline.md"))
    cnt = ", ".join(f"{k} {v}" for k, v in sm["phases"].items())
    with open(paths[-1], "w") as f:
        f.write(f"**phase-diagram** ({len(p['sigma2s'])} σ_w² × {len(p['temps'])} T = η/B, B = "
                f"{'/'.join(str(b) for b in p['batches'])} at equal SGD time, {len(doc['seeds'])} seeds"
                f"{', --quick' if doc['quick'] else ''}): grid points {cnt}; η/B collapse distance {_fmt(c['pair'])} "
                f"(seeds {_fmt(c['seed'])}, neighbouring T {_fmt(c['temp'])}); width ∝ T^{_fmt(we['alpha'])}"
                f"±{_fmt(we['alpha_se'], 2)} (√T predicted); surmise β trained {_fmt((pooled['trained'] or {}).get('beta'))}; "
                f"2×2 Fokker–Planck L1 {fp['l1']:.2g} vs the analytic Dyson density.\n")
    paths.append(os.path.join(dest, "results_slim.json"))
    with open(paths[-1], "w") as f:
        json.dump(_slim(doc), f, indent=0)
    return paths


def _slim(doc):
    """``results.json`` without the per-run trajectories and per-value arrays (what notebook 05 reads)."""
    heavy = {"traj_top", "loss_curve", "s_init", "s_last", "width_i", "kappa", "mu", "varsigma2", "init_sv"}
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in heavy}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip({k: v for k, v in doc.items() if k != "table"})
