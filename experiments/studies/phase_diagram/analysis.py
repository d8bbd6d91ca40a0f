r"""Classification, scaling checks and the Langevin comparison of the phase-diagram study.

**Classification** of one run (W₂ = the square hidden matrix, measured on the window by
``runs.run_metrics``), in this order:

* ``unstable``  the loss is not finite or ends above its initial value;
* ``noise``     temperature-dominated: the top singular values of W₂ (the learnt directions)
                 fluctuate by more than ``noise_ratio`` of their mean spacing (``top_ratio``);
* ``glassy``    disorder-dominated slow dynamics: the bulk of W₂ is still drifting, its drift
                 Péclet number (trend over the window / detrended fluctuation width) exceeds ``pe_glassy``;
* ``learning``  otherwise: the spectrum is stationary on the window and its top levels keep their order.

The label of a grid point is the majority over its seeds and (η, B) pairs; the confidence is the
fraction of those runs carrying it. The thresholds are Config fields fixed before the full run
(from a one-seed exploration of the same grid, stated in the study guide), so the classification
is reproducible from ``results.json``. The names are ours: that these regimes are the three
phases of Park, Lucini and Aarts is a reading, not a check.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from qshock.experiments.lab import dyson

__all__ = ["classify", "point_table", "collapse", "width_exponent", "mp_at_init", "surmise_summary",
           "langevin_compare"]

PHASES = ("learning", "glassy", "noise", "unstable")


def _spacing_ratio(run):
    lay = run["layers"][1]
    sbar = np.sort(np.asarray(lay["sbar"], float))[::-1]
    d = -np.diff(sbar)
    mean_gap = float(np.mean(d)) if d.size else math.nan
    return float(lay["width"]) / mean_gap if mean_gap > 0 else math.inf


def classify(run, p) -> str:
    """The phase of one run (module docstring)."""
    if not run["finite"] or not (run["loss_end"] <= run["loss0"]):
        return "unstable"
    lay = run["layers"][1]
    if lay["top_ratio"] is not None and lay["top_ratio"] > p.noise_ratio:
        return "noise"
    if lay["pe"] > p.pe_glassy:
        return "glassy"
    return "learning"


def _key(s2, t):
    return f"{float(s2):g}_{float(t):g}"


def point_table(items, p):
    """Per (σ², T): majority phase, confidence, per-phase counts and the medians of the measurements."""
    by = {}
    for it in items:
        for r in it["runs"]:
            r["phase"] = classify(r, p)
            r["spacing_ratio"] = _spacing_ratio(r) if r["finite"] else None
            by.setdefault(_key(r["sigma2"], r["temp"]), []).append(r)
    table = {}
    for k, rs in by.items():
        c = Counter(r["phase"] for r in rs)
        lab, n = c.most_common(1)[0]
        fin = [r for r in rs if r["finite"]]
        med = lambda f: float(np.median([f(r) for r in fin])) if fin else None  # noqa: E731
        table[k] = dict(sigma2=rs[0]["sigma2"], temp=rs[0]["temp"], phase=lab, confidence=n / len(rs),
                        counts=dict(c), n=len(rs), loss_rel=med(lambda r: r["loss_rel"]),
                        width=med(lambda r: r["layers"][1]["width"]), pe=med(lambda r: r["layers"][1]["pe"]),
                        spacing_ratio=med(lambda r: r["spacing_ratio"]),
                        top_ratio=med(lambda r: r["layers"][1]["top_ratio"] or 0.0), ks_fit=med(lambda r: r["ks_fit"]),
                        ks_init=med(lambda r: r["ks_init"]))
    return table


def _spectrum(run):
    return np.concatenate([np.asarray(lay["sbar"], float) for lay in run["layers"]])


def collapse(items):
    """η/B collapse: relative distance between the time-averaged spectra (all matrices) of the two
    (η, B) pairs at equal (σ², T, seed), against the same distance between seeds (same pair) and
    between neighbouring temperatures (same pair, same seed).

    Returns medians ``pair``, ``seed``, ``temp`` and per-point ``pair`` values."""
    idx = {(r["sigma2"], r["temp"], r["seed"], it["batch"]): r for it in items for r in it["runs"] if r["finite"]}
    batches = sorted({it["batch"] for it in items})
    temps = sorted({k[1] for k in idx})
    seeds = sorted({k[2] for k in idx})
    dist = lambda a, b: float(np.linalg.norm(_spectrum(a) - _spectrum(b)) / np.linalg.norm(_spectrum(a)))  # noqa: E731
    pair, seed, temp, per = [], [], [], {}
    for (s2, t, sd, b), r in idx.items():
        if b == batches[0]:
            for b2 in batches[1:]:
                o = idx.get((s2, t, sd, b2))
                if o is not None:
                    pair.append(dist(r, o))
                    per.setdefault(_key(s2, t), []).append(pair[-1])
        j = temps.index(t)
        if j + 1 < len(temps) and (s2, temps[j + 1], sd, b) in idx:
            temp.append(dist(r, idx[(s2, temps[j + 1], sd, b)]))
        if sd == seeds[0] and len(seeds) > 1 and (s2, t, seeds[1], b) in idx:
            seed.append(dist(r, idx[(s2, t, seeds[1], b)]))
    med = lambda v: float(np.median(v)) if v else None  # noqa: E731
    return dict(pair=med(pair), seed=med(seed), temp=med(temp), n_pairs=len(pair),
                per_point={k: float(np.median(v)) for k, v in per.items()})


def width_exponent(items, phases=None):
    """Fit log(width of W₂'s bulk) = α log T + c_σ² (common α, one intercept per σ²) by least
    squares over the runs (both pairs, every seed); also α per σ². ``phases``: restrict to runs
    whose label is in this set. Returns ``{"alpha", "alpha_se", "per_sigma2", "n"}``."""
    rows = [r for it in items for r in it["runs"] if r["finite"] and (phases is None or r["phase"] in phases)
            and r["layers"][1]["width"] > 0]
    if len(rows) < 3:
        return dict(alpha=None, alpha_se=None, per_sigma2={}, n=len(rows))
    s2s = sorted({r["sigma2"] for r in rows})
    x = np.log([r["temp"] for r in rows])
    y = np.log([r["layers"][1]["width"] for r in rows])
    a = np.column_stack([x] + [[1.0 if r["sigma2"] == s else 0.0 for r in rows] for s in s2s])
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    resid = y - a @ coef
    dof = max(1, len(y) - a.shape[1])
    cov = np.linalg.pinv(a.T @ a) * float(resid @ resid) / dof
    per = {}
    for s in s2s:
        sel = np.array([r["sigma2"] == s for r in rows])
        if len(set(x[sel])) >= 2:
            per[f"{s:g}"] = float(np.polyfit(x[sel], y[sel], 1)[0])
    return dict(alpha=float(coef[0]), alpha_se=float(math.sqrt(cov[0, 0])), per_sigma2=per, n=len(rows))


def mp_at_init(items, shapes, seed: int = 0):
    """KS distance of W₂'s initial singular values (pooled over runs per σ²) to Marchenko–Pastur,
    with the KS distance of an equally large sample of Gaussian matrices as the finite-size reference."""
    it = items[0]
    m, n = shapes[1]
    rng = np.random.default_rng(seed)
    out = {}
    for k, sv in it["init_sv"].items():
        s2 = float(k)
        sv = np.asarray(sv, float)
        count = max(1, sv.size // min(m, n))
        ref = np.linalg.svd(rng.normal(size=(count, m, n)) * math.sqrt(s2 / n), compute_uv=False)
        out[k] = dict(ks=dyson.ks_mp(sv, m, n, s2 / n), ks_gaussian_reference=dyson.ks_mp(ref, m, n, s2 / n),
                      n=int(sv.size))
    return out


def surmise_summary(items):
    """Median (over grid points and pairs) of the fitted surmise β and of the KS distance to GOE."""
    betas = [v["beta"] for it in items for v in it["surmise"].values() if v]
    kss = [v["ks_goe"] for it in items for v in it["surmise"].values() if v]
    return dict(beta_median=float(np.median(betas)) if betas else None,
                beta_q=[float(np.quantile(betas, q)) for q in (0.25, 0.75)] if betas else None,
                ks_goe_median=float(np.median(kss)) if kss else None, n_points=len(betas))


def _detrended_std(c):
    """Per path and column, the std of the residual of a linear fit in time (axis 1); mean over paths."""
    t = np.linspace(-0.5, 0.5, c.shape[1])
    cc = c - c.mean(1, keepdims=True)
    slope = np.einsum("t,ptk->pk", t, cc) / (t @ t)
    return (cc - t[None, :, None] * slope[:, None, :]).std(axis=1).mean(0)


def langevin_compare(run, shape, key_seed: int, paths: int, t1: float, dt: float, window_tau: float) -> dict:
    """Simulate the Dyson Langevin equation for W₂ of ``run`` with the fitted linear drift model
    and compare stationary means, widths and spacings with the measured window.

    Time is measured in units of 1/κ̄ (κ̄ the median fitted κ_i > 0); κ_i ≤ 0.05 κ̄ are raised to
    0.05 κ̄ (a confining floor; their count is reported). The SGD width is a detrended standard
    deviation over a window of SGD time ``window_tau``; the SDE width is measured the same way over
    windows of the same length κ̄·window_tau (``width_sim``), and also over the whole stationary
    half of the paths (``width_sim_stationary``)."""
    import jax
    import jax.numpy as jnp

    m, n = shape
    kappa = np.asarray(run["kappa"], float)
    mu, vs2 = np.asarray(run["mu"], float), np.asarray(run["varsigma2"], float)
    pos = kappa[np.isfinite(kappa) & (kappa > 0)]
    if pos.size == 0 or not np.all(np.isfinite(mu)):
        return dict(ok=False)
    kbar = float(np.median(pos))
    floor = 0.05 * kbar
    clamped = int(np.sum(~(kappa > floor)))
    k_eff = np.where(kappa > floor, kappa, floor) / kbar
    mu = np.where(kappa > floor, mu, np.asarray(run["layers"][1]["sbar"], float))
    t_eff = float(run["temp"]) / kbar
    vs = float(np.mean(vs2))
    s0 = jnp.asarray(np.sort(np.asarray(run["layers"][1]["sbar"], float))[::-1])
    keys = jax.random.split(jax.random.PRNGKey(key_seed), paths)
    n_save = 200
    s = np.asarray(dyson.linear_dyson_paths(keys, s0, jnp.asarray(k_eff), jnp.asarray(mu), t_eff, vs, m_rows=m,
                                            n_cols=n, t1=float(t1), dt=float(dt), n_save=n_save))[:, n_save // 2:]
    mean_sim, width_stat = s.mean(axis=(0, 1)), s.std(axis=1).mean(0)
    w_len = int(min(s.shape[1], max(4, round(kbar * window_tau / (t1 / n_save)))))
    chunks = [s[:, i:i + w_len] for i in range(0, s.shape[1] - w_len + 1, w_len)]
    width_sim = np.mean([_detrended_std(c) for c in chunks], axis=0)
    mean_obs = np.asarray(run["layers"][1]["sbar"], float)
    width_obs = np.asarray(run["layers"][1]["width_i"], float)
    sp_sim = np.concatenate([dyson.unfold_pooled(path[::5]) for path in s])  # as the SGD window: one fit per path
    return dict(ok=True, clamped=clamped, kappa_bar=kbar, varsigma2=vs, T=float(run["temp"]),
                window_kappa=kbar * window_tau, width_sim_stationary=width_stat,
                stationary_over_window=float(np.median(width_stat / np.maximum(width_sim, 1e-12))),
                mean_rel_err=float(np.median(np.abs(mean_sim - mean_obs) / mean_obs)),
                width_ratio=float(np.median(width_sim / np.maximum(width_obs, 1e-12))),
                mean_sim=mean_sim, mean_obs=mean_obs, width_sim=width_sim, width_obs=width_obs,
                surmise_sim=dyson.fit_surmise_beta(sp_sim))
