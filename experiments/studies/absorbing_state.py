"""Absorbing-state transition of SGD on overlapping spheres (Zhang & Martiniani 2024, docs/theory.md §6).

For each dynamics (SGD at α, batch probability b, step η = kick/(2b); BRO with kick ε = kick),
each kick and each packing fraction φ, ``seeds`` systems of N spheres start from Poisson
positions and run ``ceil(steps_scale / kick)`` steps (:func:`qshock.experiments.lab.particles.simulate`).

Per (dynamics, kick):

* f_a(t) and the long-time active fraction f_∞ (mean of f_a over the last quarter of the run);
* φ_c per seed = midpoint between the largest absorbed φ and the smallest φ still active at the
  end (bisection bracket on the grid); φ_c = mean over seeds, uncertainty
  sqrt(std²/S + Δφ²/12) (seed scatter and grid resolution);
* φ_c(kick → 0) by a weighted linear fit in the kick, compared with 0.64;
* Manna checks at the smallest kick: β from f_∞ ∝ (φ − φ_c)^β for φ_c < φ ≤ φ_c + ``fit_window``,
  ν∥ from the median absorption time τ ∝ (φ_c − φ)^{−ν∥} for φ_c − ``fit_window`` ≤ φ < φ_c;
  least-squares standard errors, plus the spread from moving φ_c by its uncertainty.

A finite run length labels slowly absorbing systems as active, so φ_c is biased low by an amount
that shrinks with ``steps_scale``; a finite N rounds the transition. Both are reported, not hidden.

Figures: ``absorbing_fa_phi`` (f_∞ against φ, SGD against BRO), ``absorbing_fa_t`` (f_a(t) at the
smallest kick), ``absorbing_phic`` (φ_c against kick with the extrapolation) and
``absorbing_scaling`` (log–log critical scaling).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures", "phi_c_estimate", "extrapolate_phi_c", "power_fit", "MANNA"]

NAME = "absorbing-state"
ALIASES = ()

#: literature 3-D Manna exponents (docs/theory.md §6)
MANNA = {"beta": 0.84, "nu_perp": 0.59, "nu_par": 1.08}


@dataclass(frozen=True)
class Config(StudyConfig):
    n: int = 1000
    alpha: int = 1
    b: float = 0.75
    dynamics: tuple = ("sgd", "bro")
    kicks: tuple = (0.05, 0.03, 0.02, 0.01)
    phis: tuple = (0.52, 0.54, 0.56, 0.57, 0.58, 0.59, 0.6, 0.61, 0.62, 0.63, 0.64, 0.66)
    steps_scale: float = 100.0
    records: int = 50
    seeds: int = 3
    skin: float = 0.3
    fit_window: float = 0.06
    dtype: str = "float32"

    @classmethod
    def quick(cls):
        return cls(n=200, kicks=(0.2, 0.1, 0.05), phis=(0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65),
                   steps_scale=20.0, records=20, fit_window=0.1)

    def validate(self):
        if self.n < 100:
            raise QShockInputError(f"--config: n must be >= 100 (the cell list needs 3 cells per side), got {self.n}")
        if self.alpha not in (1, 2):
            raise QShockInputError(f"--config: alpha must be 1 or 2, got {self.alpha}")
        if not 0 < self.b <= 1:
            raise QShockInputError(f"--config: b must lie in (0, 1], got {self.b}")
        if not self.dynamics or any(d not in ("sgd", "bro") for d in self.dynamics):
            raise QShockInputError(f"--config: dynamics must be a non-empty list of 'sgd'/'bro', got {self.dynamics}")
        if not self.kicks or any(k <= 0 or k >= 1 for k in self.kicks):
            raise QShockInputError(f"--config: kicks must lie in (0, 1), got {self.kicks}")
        if len(self.phis) < 3 or any(not 0 < p < 1 for p in self.phis) or list(self.phis) != sorted(set(self.phis)):
            raise QShockInputError(f"--config: phis must be >= 3 increasing values in (0, 1), got {self.phis}")
        if self.steps_scale <= 0 or self.records < 4 or self.skin <= 0 or self.fit_window <= 0:
            raise QShockInputError("--config: need steps_scale > 0, records >= 4, skin > 0, fit_window > 0")
        if self.dtype not in ("float32", "float64"):
            raise QShockInputError(f"--config: dtype must be float32 or float64, got {self.dtype!r}")

    def steps_for(self, kick: float) -> int:
        """Run length for ``kick``: ceil(steps_scale / kick) rounded up to a multiple of ``records``."""
        r = int(self.records)
        return int(math.ceil(math.ceil(self.steps_scale / kick) / r) * r)


def _item(p, dyn, kick, phi, seeds):
    import time

    from qshock.experiments.lab import particles

    steps = p.steps_for(kick)
    L = particles.box_side(int(p.n), max(p.phis))
    t0 = time.perf_counter()
    r = particles.simulate(int(p.n), [phi] * len(seeds), seeds, mode=dyn, eta=kick / (2 * p.b), b=float(p.b),
                           eps=float(kick), alpha=int(p.alpha), steps=steps, record_every=steps // int(p.records),
                           skin=float(p.skin), L=L, dtype=p.dtype)
    fa = r["f_a"]
    q = max(1, fa.shape[1] // 4)
    return dict(dynamics=dyn, kick=float(kick), phi=float(phi), seeds=list(seeds), steps=steps,
                f_inf=fa[:, -q:].mean(axis=1), t_absorb=r["t_absorb"], active=(r["t_absorb"] < 0).astype(int),
                wall=time.perf_counter() - t0, steps_done=r["steps_done"], builds=r["builds"],
                series=dict(f_a=fa, record_steps=r["record_steps"], energy=r["energy"]))


def phi_c_estimate(phis, active) -> tuple[float | None, float | None, list]:
    """φ_c from a grid: ``active[s, i]`` (seed s, φ_i, 1 = still active). Per seed, the midpoint
    between the smallest active φ and the largest absorbed φ below it; returns (mean,
    sqrt(std²/S + Δφ²/12) with Δφ the mean bracket width, per-seed values). ``None`` if no seed
    has both an absorbed and an active φ."""
    phis, active = np.asarray(phis, float), np.asarray(active, bool)
    per, widths = [], []
    for row in active:
        on = np.nonzero(row)[0]
        if on.size == 0 or on[0] == 0:
            per.append(None)
            continue
        i = on[0]
        per.append(0.5 * (phis[i - 1] + phis[i]))
        widths.append(phis[i] - phis[i - 1])
    v = np.array([x for x in per if x is not None])
    if v.size == 0:
        return None, None, per
    err = math.sqrt((v.std(ddof=1) ** 2 / v.size if v.size > 1 else 0.0) + np.mean(widths) ** 2 / 12)
    return float(v.mean()), float(err), per


def extrapolate_phi_c(kicks, phic, err) -> dict:
    """Weighted least squares φ_c(k) = φ_0 + a k; returns φ_0, its standard error (scaled by the
    reduced χ² when that exceeds 1), the slope and χ²/dof."""
    k, y, e = (np.asarray(v, float) for v in (kicks, phic, err))
    ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
    k, y, e = k[ok], y[ok], e[ok]
    if k.size < 2:
        return dict(phi0=None, phi0_err=None, slope=None, chi2_dof=None, points=int(k.size))
    A = np.stack([np.ones_like(k), k], 1) / e[:, None]
    coef, *_ = np.linalg.lstsq(A, y / e, rcond=None)
    cov = np.linalg.inv(A.T @ A)
    dof = k.size - 2
    chi2 = float(np.sum(((y - coef[0] - coef[1] * k) / e) ** 2))
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    return dict(phi0=float(coef[0]), phi0_err=float(math.sqrt(cov[0, 0] * scale)), slope=float(coef[1]),
                chi2_dof=chi2 / dof if dof > 0 else None, points=int(k.size))


def power_fit(x, y) -> tuple[float | None, float | None, int]:
    """Slope of log y against log x by least squares: (exponent, standard error, points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    x, y = np.log(x[ok]), np.log(y[ok])
    if x.size < 2:
        return None, None, int(x.size)
    A = np.stack([x, np.ones_like(x)], 1)
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    if x.size < 3:
        return float(coef[0]), None, 2
    s2 = float(np.sum((y - A @ coef) ** 2)) / (x.size - 2)
    return float(coef[0]), float(math.sqrt(s2 * np.linalg.inv(A.T @ A)[0, 0])), int(x.size)


def _exponent(xs, ys, phic, err, side):
    """Power-law exponent in |φ − φ_c| with the fit error and the spread under φ_c ± err."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    fits = [power_fit(side * (xs - c), ys) for c in (phic, phic - err, phic + err)]
    e0, se, npts = fits[0]
    if e0 is None:
        return dict(value=None, err=None, points=npts)
    shifts = [f[0] for f in fits[1:] if f[0] is not None]
    spread = 0.5 * (max(shifts) - min(shifts)) if len(shifts) == 2 else 0.0
    return dict(value=e0, err=math.sqrt((se or 0.0) ** 2 + spread ** 2), fit_err=se, phi_c_spread=spread,
                points=npts)


def _manna(p, its, phic, err):
    """β from f_∞ above φ_c and ν∥ from the absorption time below φ_c (one dynamics, one kick)."""
    w = float(p.fit_window)
    phis = np.array([d["phi"] for d in its])
    finf = np.array([np.mean(d["f_inf"]) for d in its])
    above = (phis > phic) & (phis <= phic + w) & (finf > 0)
    tau = np.array([np.median(d["t_absorb"]) if min(d["t_absorb"]) >= 0 else np.nan for d in its])
    below = (phis < phic) & (phis >= phic - w) & np.isfinite(tau)
    beta = _exponent(phis[above], finf[above], phic, err, +1)
    nu = _exponent(phis[below], tau[below], phic, err, -1)
    if nu["value"] is not None:  # tau ~ (phi_c - phi)^(-nu_par)
        nu["value"] = -nu["value"]
    return dict(beta=beta, nu_par=nu, nu_perp=dict(value=None, err=None, points=0,
                                                    note="needs finite-size scaling over several N; not measured"))


def _group(p, items, dyn, kick):
    its = sorted((d for d in items if d["dynamics"] == dyn and d["kick"] == float(kick)), key=lambda d: d["phi"])
    active = np.array([d["active"] for d in its]).T  # (seeds, phis)
    phic, err, per = phi_c_estimate([d["phi"] for d in its], active)
    return its, phic, err, per


def run(p, seeds, store, log) -> StudyResult:
    """One item per (dynamics, kick, φ) holding all seeds (vmapped); one row per (dynamics, kick)."""
    items = []
    for dyn in p.dynamics:
        for kick in p.kicks:
            for phi in p.phis:
                ip = dict(p.params(), dynamics=dyn, kicks=None, phis=None, kick=float(kick), phi=float(phi),
                          seeds=list(seeds))
                items.append(store.item(f"{dyn}_k{kick:g}_phi{phi:g}", ip, lambda: _item(p, dyn, kick, phi, seeds)))
    rows, groups, summary = [], {}, {"dynamics": {}, "equivalence": [], "manna_reference": MANNA}
    for dyn in p.dynamics:
        for kick in p.kicks:
            its, phic, err, per = _group(p, items, dyn, kick)
            groups[(dyn, kick)] = (its, phic, err)
            rows.append(dict(dynamics=dyn, kick=float(kick), eta=kick / (2 * p.b) if dyn == "sgd" else None,
                             steps=its[0]["steps"], phi_c=phic, phi_c_err=err, phi_c_seeds=per,
                             f_inf=[float(np.mean(d["f_inf"])) for d in its], phis=[d["phi"] for d in its],
                             wall=float(sum(d["wall"] for d in its))))
        ks = [r["kick"] for r in rows if r["dynamics"] == dyn]
        ext = extrapolate_phi_c(ks, [r["phi_c"] if r["phi_c"] is not None else np.nan for r in rows
                                     if r["dynamics"] == dyn], [r["phi_c_err"] or np.nan for r in rows
                                                                if r["dynamics"] == dyn])
        if ext["phi0"] is not None:
            ext["z_vs_0.64"] = (ext["phi0"] - 0.64) / ext["phi0_err"] if ext["phi0_err"] else None
        kmin = min(p.kicks)
        its, phic, err = groups[(dyn, kmin)]
        man = _manna(p, its, phic, err) if phic is not None else {}
        summary["dynamics"][dyn] = dict(extrapolation=ext, manna_kick=float(kmin), manna=man)
    if {"sgd", "bro"} <= set(p.dynamics):
        for kick in p.kicks:
            (a, pa, ea), (b_, pb, eb) = groups[("sgd", kick)], groups[("bro", kick)]
            fd = [abs(float(np.mean(x["f_inf"]) - np.mean(y["f_inf"]))) for x, y in zip(a, b_)]
            dz = None if pa is None or pb is None else (pa - pb) / math.hypot(ea, eb)
            summary["equivalence"].append(dict(kick=float(kick), max_abs_df_inf=max(fd), phi_c_sgd=pa,
                                               phi_c_bro=pb, z=dz))
    for r in rows:
        r["_fmt"] = [r["dynamics"], f"{r['kick']:g}", "-" if r["eta"] is None else f"{r['eta']:.3g}", str(r["steps"]),
                     "-" if r["phi_c"] is None else f"{r['phi_c']:.4f}±{r['phi_c_err']:.4f}",
                     f"{r['f_inf'][-1]:.3f}", f"{r['wall']:.0f}"]
    header = ["dynamics", "kick", "eta", "steps", "phi_c", "f_inf(phi_max)", "wall s"]
    return StudyResult(header, rows, items, summary)


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw the four figures (module docstring) from the results document ``doc``."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    stem, rows, items = figure_stem(run_dir), doc["rows"], doc["items"]
    kicks = sorted({r["kick"] for r in rows})
    written = []
    fig, ax = figure()
    for i, k in enumerate(kicks):
        for r in (r for r in rows if r["kick"] == k):
            ls = "-o" if r["dynamics"] == "sgd" else "--s"
            ax.plot(r["phis"], arr(r["f_inf"]), ls, ms=3, color=COLORS[i % len(COLORS)], lw=1,
                    label=f"{r['dynamics'].upper()} kick {k:g}")
    ax.axvline(0.64, color="k", ls=":", lw=0.8)
    ax.set(xlabel="φ", ylabel="long-time active fraction f∞", title="SGD (solid) vs BRO (dashed)")
    ax.legend(fontsize=7)
    written += save(fig, stem("absorbing_fa_phi"), formats)
    fig, ax = figure()
    kmin = kicks[0]
    phis = sorted({d["phi"] for d in items})
    for d in items:
        if d["kick"] == kmin and d["dynamics"] == rows[0]["dynamics"]:
            s = d["series"]
            col = COLORS[phis.index(d["phi"]) % len(COLORS)]
            for j, fa in enumerate(s["f_a"]):
                ax.plot(s["record_steps"], arr(fa), color=col, lw=0.8, label=f"φ = {d['phi']:g}" if j == 0 else None)
    ax.set(xlabel="step", ylabel="f_a", xscale="log", title=f"{rows[0]['dynamics'].upper()}, kick {kmin:g}")
    ax.legend(fontsize=6, ncol=2)
    written += save(fig, stem("absorbing_fa_t"), formats)
    written += _phic_figure(stem, doc, formats)
    written += _scaling_figure(stem, doc, formats)
    path = os.path.join(run_dir, "summary.md")
    with open(path, "w") as f:
        f.write(summary_markdown(doc))
    return written + [path]


def _pm(v, e, d=4):
    return "–" if v is None else (f"{v:.{d}f}" if e is None else f"{v:.{d}f} ± {e:.{d}f}")


def summary_markdown(doc: dict) -> str:
    """``summary.md``: φ_c per (dynamics, kick), the kick → 0 extrapolation, the SGD–BRO comparison
    and the Manna exponents, all from the results document (the guide quotes this file)."""
    p = doc["params"]
    out = [f"N = {p['n']}, α = {p['alpha']}, b = {p['b']}, seeds = {len(doc['seeds'])}, steps = "
           f"⌈{p['steps_scale']:g}/kick⌉, φ grid {p['phis'][0]:g}..{p['phis'][-1]:g} ({len(p['phis'])} values), "
           f"wall time {doc['wall_time']:.0f} s\n",
           "| dynamics | kick | η | steps | φ_c | f∞ at φ_max |", "|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        eta = "–" if r["eta"] is None else f"{r['eta']:.4g}"
        out.append(f"| {r['dynamics']} | {r['kick']:g} | {eta} | {r['steps']} | {_pm(r['phi_c'], r['phi_c_err'])} | "
                   f"{r['f_inf'][-1]:.3f} |")
    out += ["", "| dynamics | φ_c(kick → 0) | z vs 0.64 | χ²/dof | β (Manna 0.84) | ν∥ (Manna 1.08) | ν⊥ (Manna 0.59) |",
            "|---|---|---|---|---|---|---|"]
    for dyn, s in doc["summary"].get("dynamics", {}).items():
        e, m = s["extrapolation"], s.get("manna", {})
        z = e.get("z_vs_0.64")
        c2 = e.get("chi2_dof")
        ex = {k: m.get(k, {}) for k in ("beta", "nu_par", "nu_perp")}
        fitted = [f"{_pm(v.get('value'), v.get('err'), 2)} ({v.get('points', 0)} pts)" if v.get("value") is not None
                  else "not measured" for v in ex.values()]
        out.append(f"| {dyn} | {_pm(e.get('phi0'), e.get('phi0_err'))} | {'–' if z is None else f'{z:+.1f}'} | "
                   f"{'–' if c2 is None else f'{c2:.2g}'} | " + " | ".join(fitted) + " |")
    if doc["summary"].get("equivalence"):
        out += ["", "| kick | φ_c SGD | φ_c BRO | (SGD − BRO)/σ | max over φ of abs(f∞ SGD − f∞ BRO) |",
                "|---|---|---|---|---|"]
        for q in doc["summary"]["equivalence"]:
            z = "–" if q["z"] is None else f"{q['z']:+.1f}"
            out.append(f"| {q['kick']:g} | {_pm(q['phi_c_sgd'], None)} | {_pm(q['phi_c_bro'], None)} | {z} | "
                       f"{q['max_abs_df_inf']:.3f} |")
    return "\n".join(out) + "\n"


def _phic_figure(stem, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    fig, ax = figure()
    for i, dyn in enumerate(doc["summary"].get("dynamics", {})):
        rs = [r for r in doc["rows"] if r["dynamics"] == dyn and r["phi_c"] is not None]
        ax.errorbar([r["kick"] for r in rs], [r["phi_c"] for r in rs], [r["phi_c_err"] for r in rs], fmt="o",
                    color=COLORS[i], label=dyn.upper(), capsize=2)
        ext = doc["summary"]["dynamics"][dyn]["extrapolation"]
        if ext.get("phi0") is not None and rs:
            kk = np.linspace(0, max(r["kick"] for r in rs), 20)
            ax.plot(kk, ext["phi0"] + ext["slope"] * kk, "-", color=COLORS[i], lw=0.8)
            ax.errorbar([0], [ext["phi0"]], [ext["phi0_err"]], fmt="*", color=COLORS[i], capsize=2)
    ax.axhline(0.64, color="k", ls=":", lw=0.8, label="0.64")
    ax.set(xlabel="kick ε (SGD: η = ε/(2b))", ylabel="φ_c")
    ax.legend()
    return save(fig, stem("absorbing_phic"), formats)


def _scaling_figure(stem, doc, formats):
    from qshock.experiments.lab.plotting import COLORS, figure, save

    fig, (a1, a2) = figure(1, 2)
    for i, (dyn, s) in enumerate(doc["summary"].get("dynamics", {}).items()):
        r = next((r for r in doc["rows"] if r["dynamics"] == dyn and r["kick"] == s["manna_kick"]), None)
        if r is None or r["phi_c"] is None:
            continue
        ph, fi = np.asarray(r["phis"]), arr(r["f_inf"])
        up = (ph > r["phi_c"]) & (fi > 0)
        a1.loglog(ph[up] - r["phi_c"], fi[up], "o", color=COLORS[i], label=dyn.upper())
        its = sorted((d for d in doc["items"] if d["dynamics"] == dyn and d["kick"] == s["manna_kick"]),
                     key=lambda d: d["phi"])
        tau = [(d["phi"], np.median(d["t_absorb"])) for d in its if d["phi"] < r["phi_c"] and min(d["t_absorb"]) >= 0]
        if tau:
            a2.loglog([r["phi_c"] - t[0] for t in tau], [t[1] for t in tau], "o", color=COLORS[i], label=dyn.upper())
    x = np.array([0.005, 0.1])
    a1.loglog(x, 0.5 * (x / 0.1) ** MANNA["beta"], "k:", label="β = 0.84")
    a2.loglog(x, 1e3 * (x / 0.1) ** -MANNA["nu_par"], "k:", label="ν∥ = 1.08")
    a1.set(xlabel="φ − φ_c", ylabel="f∞")
    a2.set(xlabel="φ_c − φ", ylabel="absorption step τ")
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    return save(fig, stem("absorbing_scaling"), formats)
