"""Observed events, threshold tuning on the tuning seeds, and the per-architecture statistics.

Observed events (``qshock.experiments.lab.events``), the first of each kind per run:
oscillation onset (``update_proj`` sign alternation), loss spike (robust z of the mini-batch
loss), sudden drop after a plateau (running-mean loss), jump of a quotient observable (the
quotient sharpness λ_q(θ_k) at the checkpoints).

Thresholds: per architecture, each detector's threshold is chosen from a grid on the *tuning*
seeds only, by a predictor-agnostic stability rule: the value whose detections agree (both
none, or within ±w steps) with those at its grid neighbours on the largest fraction of tuning
runs (ties: the larger, more conservative value). The constant baseline predicts the median
observed step of the tuning runs. Statistics are computed on the *held-out* seeds: Spearman
rank correlation and median relative error |k̂ − k|/max(k, every) over the runs where both
exist, hit rate (|k̂ − k| ≤ w among runs with an observed event), false events (predicted, not
observed) and missed events (observed, not predicted). A predictor whose median relative
error is not below the constant predictor's on the same event is labelled not predictive.
"""

from __future__ import annotations

import math

import numpy as np

from qshock.experiments.lab.events import first_event, loss_spikes, oscillation_onset, plateau_drops, quotient_jumps

from .predict import CALIBRATED, PREDICTORS

__all__ = ["GRIDS", "observe", "tune", "statistics", "TARGETS"]

TARGETS = ("oscillation", "spike", "drop", "jump")
GRIDS = {"oscillation": (8, 12, 16, 24), "spike": (4.0, 6.0, 8.0, 12.0), "drop": (0.2, 0.3, 0.4, 0.5),
         "jump": (4.0, 6.0, 8.0, 12.0)}


def _step(e):
    e = first_event(e)
    return None if e is None else int(e["step"])


def observe(run: dict, th: dict) -> dict:
    """First observed step of every target of one run under thresholds ``th``."""
    loss = np.asarray([np.nan if v is None else v for v in run["loss"]], float)
    proj = np.asarray([0.0 if v is None else v for v in run["update_proj"]], float)
    lam_q = np.asarray([np.nan if r["lam_q"] is None else r["lam_q"] for r in run["track"]], float)
    return {"oscillation": _step(oscillation_onset(proj, min_run=int(th["oscillation"]))),
            "spike": _step(loss_spikes(loss, z_thresh=float(th["spike"]))),
            "drop": _step(plateau_drops(loss, drop_frac=float(th["drop"]))),
            "jump": _step(quotient_jumps(lam_q, [r["step"] for r in run["track"]], z_thresh=float(th["jump"]),
                                         name="quotient_sharpness"))}


def _agree(a, b, w):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= w)


def tune(runs: list, w: int) -> dict:
    """Thresholds per target from the tuning ``runs`` (module docstring) and their scores."""
    out = {}
    for tgt, grid in GRIDS.items():
        det = [[observe(r, {t: (g if t == tgt else GRIDS[t][0]) for t in GRIDS})[tgt] for r in runs] for g in grid]
        scores = []
        for i in range(len(grid)):
            nb = [j for j in (i - 1, i + 1) if 0 <= j < len(grid)]
            ok = [all(_agree(det[i][r], det[j][r], w) for j in nb) for r in range(len(runs))]
            scores.append(float(np.mean(ok)) if ok else 0.0)
        best = max(range(len(grid)), key=lambda i: (scores[i], i))
        out[tgt] = {"value": grid[best], "scores": scores, "grid": list(grid)}
    return out


def _spearman(x, y):
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    r = spearmanr(x, y).statistic
    return float(r) if math.isfinite(r) else None


def predictor_stats(pred, obs, w: int, every: int) -> dict:
    """spearman, median_rel_error, hit_rate, n (+ false, missed, n_observed) of paired lists."""
    pairs = [(p, o) for p, o in zip(pred, obs) if p is not None and o is not None]
    n_obs = sum(o is not None for o in obs)
    rel = [abs(p - o) / max(o, every) for p, o in pairs]
    hits = sum(1 for p, o in pairs if abs(p - o) <= w)
    return {"spearman": _spearman([p for p, _ in pairs], [o for _, o in pairs]),
            "median_rel_error": float(np.median(rel)) if rel else None,
            "hit_rate": hits / n_obs if n_obs else None, "n": len(pairs), "n_observed": n_obs,
            "false": sum(1 for p, o in zip(pred, obs) if p is not None and o is None),
            "missed": sum(1 for p, o in zip(pred, obs) if p is None and o is not None)}


def statistics(rows: list, tune_rows: list, w: int, every: int) -> tuple[dict, dict]:
    """Per-predictor statistics of the held-out ``rows`` of one architecture, and the constant
    predictions (median observed step of ``tune_rows``) per target."""
    const = {}
    for tgt in TARGETS:
        v = [r["observed"][tgt] for r in tune_rows if r["observed"][tgt] is not None]
        const[tgt] = int(np.median(v)) if v else None
    stats = {}
    for name, tgt in PREDICTORS.items():
        stats[name] = predictor_stats([r["predicted"].get(name) for r in rows], [r["observed"][tgt] for r in rows], w, every)
        stats[name]["event"] = tgt
    for tgt in TARGETS:
        stats[f"constant_{tgt}"] = dict(predictor_stats([const[tgt]] * len(rows), [r["observed"][tgt] for r in rows],
                                                        w, every), event=tgt)
    for name, s in stats.items():
        if name.startswith("constant_"):
            s["predictive"] = None
            continue
        s.update(_against_constant(s, stats[f"constant_{s['event']}"],
                                   [r["predicted"].get(name) for r in rows], [r["observed"][s["event"]] for r in rows],
                                   const[s["event"]], every))
    return stats, const


def _against_constant(s, c, pred, obs, const, every) -> dict:
    """``predictive``: the predictor's median relative error is below the constant predictor's
    on the *same* paired runs (``constant_same_runs``) and its hit rate (hits over all observed
    events, so missed events count against it) is at least the constant's. A predictor that
    forecasts only a few runs can then not win by its choice of runs."""
    pairs = [(p, o) for p, o in zip(pred, obs) if p is not None and o is not None]
    same = float(np.median([abs(const - o) / max(o, every) for _, o in pairs])) if pairs and const is not None else None
    ok = (s["median_rel_error"] is not None and same is not None and s["median_rel_error"] < same
          and (s["hit_rate"] or 0.0) >= (c["hit_rate"] or 0.0))
    return {"constant_same_runs": same, "predictive": bool(ok), **_sign_test(pairs, const)}


def _sign_test(pairs, const) -> dict:
    """Paired comparison with the constant on the same runs: ``wins`` / ``losses`` (runs where
    the predictor's absolute error is smaller / larger; ties dropped) and the one-sided sign-test
    p-value P(≥ wins | no difference), so a "predictive" label on few runs can be read with its
    chance level."""
    from scipy.stats import binomtest

    if const is None or not pairs:
        return {"wins": 0, "losses": 0, "sign_p": None}
    d = [abs(p - o) - abs(const - o) for p, o in pairs]
    wins, losses = sum(x < 0 for x in d), sum(x > 0 for x in d)
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else None
    return {"wins": int(wins), "losses": int(losses), "sign_p": None if p is None else float(p)}


def calibrate(tune_rows: list, rows: list) -> dict:
    """Reading (i) with its clock fitted: for each predictor of ``CALIBRATED``, the factor
    c = median over the tuning runs of k_observed / k_predicted (predictions are made at step 0,
    so c rescales the PDE-time-to-step rule of THEORY §7), and the calibrated prediction
    round(c·k̂) written into every row's ``predicted``. Uses the tuning seeds only, like the
    constant predictor; separates "the PDE orders the events" from "the PDE gets the clock".
    Returns {calibrated predictor: c or None}."""
    factors = {}
    for cal, base in CALIBRATED.items():
        tgt = PREDICTORS[base]
        ratios = [r["observed"][tgt] / r["predicted"][base] for r in tune_rows
                  if r["observed"][tgt] is not None and (r["predicted"].get(base) or 0) > 0]
        c = float(np.median(ratios)) if ratios else None
        factors[cal] = c
        for r in rows:
            k = r["predicted"].get(base)
            r["predicted"][cal] = None if c is None or k is None else int(round(c * k))
    return factors
