"""Periodic spikes of normalised networks with weight decay, forecast from the conservation laws.

Each run trains through the lab trainer (``training.train`` with ``log_groups``): per step the
squared norm x = ‖w‖², ‖g‖² and the update ‖Δθ‖² of every scale-invariant group; every
``sharpness_every`` steps the unit-norm (sphere) sharpness λ_s of each group by Lanczos, the raw
sharpness and the loss. At every observation step k₀ the forecaster
(``qshock.experiments.lab.forecast``) predicts when η_eff λ_s = η λ_s/x reaches the edge
(2, or 2(1 + β) for heavy ball) from data up to k₀ only:

* ``hybrid``       iterate the identity / recurrence with λ_s following the trend of the current
                   cycle (``forecast.last_spike_forecasts``; level and lag tuned; the constant
                   period while no cycle is measurable);
* ``iterate``      iterate the exact identity (SGD) / the (x, p) recurrence (heavy ball), with λ_s
                   growing at its recent (clipped ≥ 0) sharpening rate;
* ``closed``       the closed form ln(edge x/(ηλ_s)) / rate (gradient term neglected, λ_s frozen);
* ``equilibrium``  relaxation to the equilibrium ‖w‖⁴ = η‖g̃‖²/(2λ) (baseline);
* ``raw``          raw sharpness against 2/η, linear trend of the last observations (raw baseline);
* ``constant``     last spike + the median period of the tuning seeds;
* ``periodic``     last spike + the previous interval.

An edge crossing precedes the detected loss spike by the growth time of the instability, so the
spike forecast is (first crossing observed since the last spike, else the predicted crossing)
+ a lag; the lag, the detector threshold z and the constant period are tuned on the first
``tune_seeds`` seeds of each setting and every number in the table is measured on the others.
A method whose median relative lead-time error is not below the constant baseline's is marked
"not predictive".

Models: ``mlp`` (layer norm, digits), ``cnn`` (conv + layer norm, MNIST-1D), ``transformer``
(pre-LN, modular addition, with the ``mlp_norm`` scale-invariant group of ``lab.models``).

Figures: ``periodic_spikes_run_MODEL_OPT`` (‖w‖², η_eff λ_s against the edge, loss, forecast
arrows) and ``periodic_spikes_scatter`` (forecast against observed spike step, with y = x).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures", "METHODS", "evaluate", "write_doc_data", "headline", "write_headline"]

NAME = "periodic-spikes"
ALIASES = ()
DATA = {"mlp": "digits", "cnn": "mnist1d", "transformer": "sequence"}
THEORY = ("iterate", "closed", "equilibrium", "raw")
METHODS = ("hybrid",) + THEORY + ("constant", "periodic")


@dataclass(frozen=True)
class Config(StudyConfig):
    models: tuple = ("mlp", "cnn", "transformer")  # digits, MNIST-1D, modular addition (mlp_norm)
    optimizers: tuple = ("sgd", "momentum")
    lrs: tuple = (0.2, 0.1, 0.4)  # SGD (eta, lambda) pairs
    weight_decays: tuple = (0.005, 0.01, 0.0025)
    momentum_lrs: tuple = (0.19, 0.38, 0.095)  # heavy-ball pairs (overdamped: (1-b)^2 > 4 eta lambda (1+b))
    momentum_weight_decays: tuple = (0.004, 0.002, 0.008)
    cnn_lr_scale: float = 4.0  # the CNN's and the Transformer's pairs are the pairs above times these
    cnn_wd_scale: float = 1.0
    transformer_lr_scale: float = 2.5
    transformer_wd_scale: float = 2.0
    # heavy-ball pairs of the Transformer (the scaled ones lose training to chance loss; probes)
    transformer_momentum_lrs: tuple = (0.05, 0.025, 0.07)
    transformer_momentum_weight_decays: tuple = (0.01, 0.01, 0.007)
    beta: float = 0.9
    seeds: int = 5
    tune_seeds: int = 2
    steps: int = 2100
    width: int = 32
    cnn_width: int = 8
    transformer_width: int = 16
    sharpness_every: int = 6
    lanczos_iters: int = 16
    sharpness_batch: int = 256
    window: int = 5
    lam_window: int = 2
    rate_window: int = 6
    raw_window: int = 6
    horizon: int = 4000
    hit_window: int = 10
    z_grid: tuple = (4.0, 6.0, 8.0, 12.0)
    level: float = 0.8  # forecast intervals: quantiles of the tuning residuals at this level

    @classmethod
    def quick(cls):
        return cls(models=("mlp",), optimizers=("sgd",), lrs=(0.2,), weight_decays=(0.005,), seeds=3,
                   tune_seeds=1, steps=1200)

    def validate(self):
        bad = [m for m in self.models if m not in DATA]
        if bad or not self.models:
            raise QShockInputError(f"--config: models must be among {', '.join(DATA)} (models with a "
                                   f"scale-invariant group), got {list(self.models)}")
        if not self.optimizers or any(o not in ("sgd", "momentum") for o in self.optimizers):
            raise QShockInputError(f"--config: optimizers must be among sgd, momentum, got {list(self.optimizers)}")
        for a, b in (("lrs", "weight_decays"), ("momentum_lrs", "momentum_weight_decays"),
                     ("transformer_momentum_lrs", "transformer_momentum_weight_decays")):
            lr, wd = getattr(self, a), getattr(self, b)
            if len(lr) != len(wd) or (not lr and a != "transformer_momentum_lrs"):
                raise QShockInputError(f"--config: {a} and {b} must be non-empty lists of equal length (pairs)")
            if any(not (v > 0) for v in lr + wd):
                raise QShockInputError(f"--config: {a} and {b} must be > 0 (no weight decay, no cycles)")
        if min(self.cnn_lr_scale, self.cnn_wd_scale, self.transformer_lr_scale, self.transformer_wd_scale) <= 0:
            raise QShockInputError("--config: the cnn_/transformer_ lr and wd scales must be > 0")
        if not 0 < self.level < 1:
            raise QShockInputError(f"--config: level (forecast interval) must be in (0, 1), got {self.level}")
        if not 0 <= self.beta < 1:
            raise QShockInputError(f"--config: beta must be in [0, 1), got {self.beta}")
        if not 1 <= self.tune_seeds < self.seeds:
            raise QShockInputError(f"--config: need 1 <= tune_seeds < seeds, got {self.tune_seeds}, {self.seeds}")
        if self.steps < 10 * self.sharpness_every or self.steps % self.sharpness_every:
            raise QShockInputError("--config: sharpness_every must divide steps, and steps >= 10 sharpness_every")
        if min(self.window, self.lam_window, self.raw_window, self.horizon, self.hit_window, self.lanczos_iters) < 1:
            raise QShockInputError("--config: window, lam_window, raw_window, horizon, hit_window, lanczos_iters "
                                   "must be >= 1")


def _pairs(p, model, opt):
    """The (η, λ) pairs of ``model`` under ``opt``: heavy ball has its own pairs (its norm decays
    at the rate 2ηλ/(1−β) per step and its edge is 2(1+β)/η); CNN and Transformer scale them,
    except the Transformer's heavy-ball pairs when ``transformer_momentum_lrs`` is not empty."""
    if model == "transformer" and opt == "momentum" and p.transformer_momentum_lrs:
        return [(float(lr), float(wd)) for lr, wd in zip(p.transformer_momentum_lrs, p.transformer_momentum_weight_decays)]
    lrs, wds = (p.momentum_lrs, p.momentum_weight_decays) if opt == "momentum" else (p.lrs, p.weight_decays)
    a, b = {"cnn": (p.cnn_lr_scale, p.cnn_wd_scale), "transformer": (p.transformer_lr_scale, p.transformer_wd_scale)}.get(
        model, (1.0, 1.0))
    return [(float(lr) * a, float(wd) * b) for lr, wd in zip(lrs, wds)]


def _train(p, model, opt, eta, wd, seeds):
    from qshock.experiments.lab import training

    cfg = training.TrainConfig(model=model, data=DATA[model], lr=eta, weight_decay=wd, optimizer=opt,
                               momentum=float(p.beta), steps=int(p.steps), full_batch=True, norm=True,
                               width=int({"cnn": p.cnn_width, "transformer": p.transformer_width}.get(model, p.width)),
                               depth=2 if model == "transformer" else 1, heads=2,
                               seeds=tuple(int(s) for s in seeds), sharpness_every=int(p.sharpness_every),
                               quotient_sharpness=False, n_eigs=1, lanczos_iters=int(p.lanczos_iters),
                               sharpness_batch=int(p.sharpness_batch), log_groups=True, dtype="float32")
    return training.train(cfg), eta


def _seed_forecasts(p, r, i, eta, wd, beta):
    """Crossing forecasts of seed index ``i`` at every observation step (forecast.forecast_run)."""
    from qshock.experiments.lab import forecast as F

    sc = np.nonzero(_scale_mask(r))[0]
    sm, osteps = r.step_metrics, np.asarray(r.obs_steps)
    sq, gsq, usq = (np.asarray(sm[k][i], float)[:, sc] for k in ("grp_sq", "grp_gsq", "grp_usq"))
    ls = np.asarray(r.obs["group_sharpness"][i], float)
    fc = F.forecast_run(sq, gsq, usq, ls, osteps, eta, wd, beta, horizon=int(p.horizon), window=int(p.window),
                        lam_window=int(p.lam_window), rate_window=int(p.rate_window))
    k0 = fc["k0"]
    ratio = eta * ls[:len(k0)] / sq[k0]  # eta_eff * lambda_s per group at each k0
    raw = eta * np.asarray(r.obs["sharpness"][i][:, 0], float)
    rawfc = [k + F.raw_trend_crossing(osteps[max(0, j - p.raw_window + 1):j + 1], raw[max(0, j - p.raw_window + 1):j + 1],
                                      k, F.edge(beta)) for j, k in enumerate(k0)]
    return dict(k0=k0, iterate=fc["iterate"], closed=fc["closed"], equilibrium=fc["equilibrium"],
                raw=np.asarray(rawfc, float), ratio=ratio.max(1), raw_ratio=raw[:len(k0)],
                sq_obs=sq[k0].T, lam_s=fc["lam_s"].T, lam_s_raw=ls[:len(k0)].T, p_obs=fc["p"].T, ut2_obs=fc["ut2"].T,
                ratio_groups=ratio.T)


def _scale_mask(r):
    from qshock.experiments.lab import training

    return training.get_trainer(r.config).groups["scale"]


def _item(p, model, opt, eta, lam, seeds):
    t0 = time.perf_counter()
    r, eta = _train(p, model, opt, eta, lam, seeds)
    beta = float(p.beta) if opt == "momentum" else 0.0
    runs = []
    for i, s in enumerate(seeds):
        fc = _seed_forecasts(p, r, i, eta, lam, beta)
        runs.append(dict(seed=int(s), loss=np.asarray(r.step_metrics["loss"][i], float), **fc))
    return dict(model=model, data=DATA[model], optimizer=opt, lr=eta, eta=eta, weight_decay=lam, lam=lam,
                beta=beta, edge=2.0 * (1.0 + beta), runs=runs, train_wall=float(r.wall_time),
                wall=time.perf_counter() - t0, n_groups=int(np.sum(_scale_mask(r))))


# ------------------------------------------------------------------ evaluation (host-side numpy)
def _spikes(loss, z):
    from qshock.experiments.lab.events import loss_spikes

    return np.asarray([e["step"] for e in loss_spikes(arr(loss), z_thresh=float(z))], float)


def _tracked(run, key, spikes, edge_val, lag):
    """Spike forecast: (first observed crossing of the edge, else ``key``'s predicted crossing) + lag.

    The first crossing is forgotten at each detected spike and whenever the observed ratio has been
    below the edge at two consecutive observations (the ratio stays high while a spike decays, and
    single observations scatter around the edge)."""
    k0, fc = np.asarray(run["k0"], float), arr(run[key])
    ratio = arr(run["raw_ratio" if key == "raw" else "ratio"])
    out = np.empty_like(fc)
    first, armed, below, last_seen = math.nan, True, 0, -1.0
    for j, k in enumerate(k0):
        last = spikes[spikes <= k].max() if np.any(spikes <= k) else -1.0
        if last > last_seen:
            first, armed, below, last_seen = math.nan, False, 0, last
        below = below + 1 if ratio[j] < edge_val else 0
        if below >= 2:
            first, armed = math.nan, True
        if armed and math.isnan(first) and ratio[j] >= edge_val:
            first = k
        out[j] = (fc[j] if math.isnan(first) else first) + lag
    return np.maximum(out, k0 + 1)


def _next_spike(k0, spikes):
    if len(spikes) == 0:
        return np.full(np.shape(k0), np.nan)
    idx = np.searchsorted(spikes, k0, side="right")
    return np.where(idx < len(spikes), spikes[np.minimum(idx, len(spikes) - 1)], np.nan)


def _untuned(item, run, m, spikes, horizon, lag=0.0, hist=None, thr=None):
    """Forecast of method ``m`` plus ``lag``: ``_tracked`` for the theory methods. ``hybrid``:
    ``forecast.last_spike_forecasts`` (the identity iterated with the λ_s trend of the current
    cycle, fitted from the post-spike minimum of the ratio once the cycle has ``min_obs`` = 4
    observations), tracked like the others (the first observed crossing of the cycle, else the
    forecast, plus the lag); where the cycle is not yet measurable (during and right after a spike,
    before the first spike) the constant-period forecast of ``hist`` = (period, first), or NaN.
    ``thr``: the level of η_eff λ_s it forecasts and tracks (default the edge; tuned)."""
    from qshock.experiments.lab.forecast import history_forecasts, last_spike_forecasts

    if m != "hybrid":
        return _tracked(run, m, spikes, item["edge"], lag)
    k0 = np.asarray(run["k0"], float)
    g = lambda key: arr(run[key]).reshape(-1, len(k0)).T  # noqa: E731
    fc = last_spike_forecasts(k0, g("sq_obs"), g("p_obs"), g("ut2_obs"), g("lam_s_raw"), g("ratio_groups"), spikes,
                              item["eta"], item["lam"], item["beta"], int(horizon), fallback=np.full(len(k0), np.nan),
                              min_obs=4, thr=thr)
    out = _tracked(dict(k0=k0, hybrid=list(fc), ratio=run["ratio"]), "hybrid", spikes, thr or item["edge"], lag)
    if hist is not None:
        out = np.where(np.isnan(out), history_forecasts(k0, spikes, *hist)["constant"], out)
    return out


def _tune(item, tune, grid, horizon, level=0.8):
    """z (most regular intervals), median period / first spike, per-method lag, and per-method
    forecast interval (``_intervals``) on ``tune`` runs."""
    def cv(z):
        iv = [np.diff(_spikes(r["loss"], z)) for r in tune]
        iv = np.concatenate(iv) if iv else np.zeros(0)
        return (np.std(iv) / np.mean(iv)) if iv.size >= 3 else np.inf
    z = min(grid, key=cv)
    sp = [_spikes(r["loss"], z) for r in tune]
    iv = np.concatenate([np.diff(s) for s in sp])
    period = float(np.median(iv)) if iv.size else float(item["runs"][0]["k0"][-1])
    first = float(np.median([s[0] for s in sp if s.size])) if any(s.size for s in sp) else period
    lags = {}
    for m in THEORY:
        d = [(_next_spike(np.asarray(r["k0"], float), s) - _untuned(item, r, m, s, horizon)) for r, s in zip(tune, sp)]
        d = np.concatenate(d)
        d = d[np.isfinite(d)]
        lags[m] = float(np.median(d)) if d.size else 0.0
    thr, lags["hybrid"] = _tune_hybrid(item, tune, sp, horizon)
    tuned = dict(z=float(z), period=period, first=first, lags=lags, hybrid_thr=thr)
    tuned["intervals"] = _intervals(item, tune, sp, tuned, horizon, level)
    return tuned


def _intervals(item, tune, sp, tuned, horizon, level):
    """Per method, (q_lo, q_hi) of the residuals (next spike − tuned forecast) over every
    observation of the ``tune`` runs (``forecast.residual_interval``): the forecast's interval is
    [forecast + q_lo, forecast + q_hi]."""
    from qshock.experiments.lab.forecast import residual_interval

    res = {m: [] for m in METHODS}
    for r, s in zip(tune, sp):
        k0, fcs = _forecasts(item, r, s, tuned, horizon)
        for m, fc in fcs.items():
            res[m].append(_next_spike(k0, s) - fc)
    return {m: list(residual_interval(np.concatenate(v), level)) for m, v in res.items()}


def _tune_hybrid(item, tune, sp, horizon, factors=(1.0, 1.1, 1.2, 1.35, 1.5)):
    """Level (edge × factor) and lag of ``hybrid`` with the smallest median relative lead-time
    error on the tuning runs (where the hybrid itself forecasts)."""
    best = (np.inf, item["edge"], 0.0)
    for f in factors:
        thr = item["edge"] * f
        d, ld = [], []
        for r, s in zip(tune, sp):
            k0 = np.asarray(r["k0"], float)
            nx = _next_spike(k0, s)
            d.append(nx - _untuned(item, r, "hybrid", s, horizon, thr=thr))
            ld.append(nx - k0)
        d, ld = np.concatenate(d), np.concatenate(ld)
        ok = np.isfinite(d)
        if not ok.any():
            continue
        lag = float(np.median(d[ok]))
        score = float(np.median(np.abs(d[ok] - lag) / ld[ok]))
        if score < best[0]:
            best = (score, thr, lag)
    return float(best[1]), float(best[2])


def _forecasts(item, run, spikes, tuned, horizon):
    from qshock.experiments.lab.forecast import history_forecasts

    k0 = np.asarray(run["k0"], float)
    out = {m: _untuned(item, run, m, spikes, horizon, tuned["lags"][m], (tuned["period"], tuned["first"]),
                       tuned["hybrid_thr"] if m == "hybrid" else None) for m in ("hybrid",) + THEORY}
    out.update(history_forecasts(k0, spikes, tuned["period"], tuned["first"]))
    return k0, out


def _scores(k0, fc, spikes, period, w):
    """Scores of one method over evaluation runs (arrays concatenated over runs)."""
    from scipy.stats import spearmanr

    nxt = _next_spike(k0, spikes)
    ok = np.isfinite(nxt) & np.isfinite(fc)
    lead, err = nxt - k0, fc - nxt
    res = dict(n=int(ok.sum()))
    res["med_rel_err"] = float(np.median(np.abs(err[ok]) / lead[ok])) if ok.any() else None
    res["hit_rate"] = float(np.mean(np.abs(err[ok]) <= w)) if ok.any() else None
    rho = spearmanr(fc[ok] - k0[ok], lead[ok]).statistic if ok.sum() > 2 else math.nan
    res["spearman"] = float(rho) if np.isfinite(rho) else None
    for name, f in (("q1", 0.25), ("q2", 0.5), ("q3", 0.75)):
        sel = ok & (np.abs(lead - f * period) <= 2.5 + 0.02 * period)
        res[f"err_{name}"] = float(np.median(np.abs(err[sel]))) if sel.any() else None
    alarm = np.isfinite(fc) & (fc - k0 <= w)
    res["false_alarm"] = float(np.mean(~(np.nan_to_num(lead, nan=np.inf)[alarm] <= 3 * w))) if alarm.any() else None
    return res, err, lead, ok


def evaluate(item, p) -> dict:
    """Tune on the first ``tune_seeds`` runs of ``item``, score every method on the others."""
    runs = item["runs"]
    tune, ev = runs[:p.tune_seeds], runs[p.tune_seeds:]
    tuned = _tune(item, tune, p.z_grid, p.horizon, p.level)
    per = {m: dict(k0=[], fc=[], sp=[]) for m in METHODS}
    nsp, period_err, scatter, own = [], {m: [] for m in METHODS}, {m: [] for m in METHODS}, []
    for r in ev:
        spikes = _spikes(r["loss"], tuned["z"])
        nsp.append(len(spikes))
        own.append(np.isfinite(_untuned(item, r, "hybrid", spikes, p.horizon, thr=tuned["hybrid_thr"])))
        k0, fcs = _forecasts(item, r, spikes, tuned, p.horizon)
        for m, fc in fcs.items():
            # one forecast per spike, made at the first observation after the previous spike
            for a, b in zip(spikes[:-1], spikes[1:]):
                j = np.searchsorted(k0, a, side="right")
                if j < len(k0) and k0[j] < b and np.isfinite(fc[j]):
                    period_err[m].append(abs((fc[j] - a) - (b - a)) / (b - a))
                    scatter[m].append((float(b), float(fc[j])))
            per[m]["k0"].append(k0)
            per[m]["fc"].append(fc)
            per[m]["sp"].append(spikes)
    out = dict(tuned=tuned, spikes_per_seed=float(np.mean(nsp)) if nsp else 0.0, methods={},
               hybrid_own=float(np.mean(np.concatenate(own))) if own else None)  # not the constant fallback
    for m in METHODS:
        res = [_scores(k, f, s, tuned["period"], p.hit_window) for k, f, s in zip(per[m]["k0"], per[m]["fc"], per[m]["sp"])]
        if not res:
            continue
        e = np.concatenate([x[1][x[3]] for x in res])
        ld = np.concatenate([x[2][x[3]] for x in res])
        agg = _scores(np.zeros(0), np.zeros(0), np.zeros(0), 1.0, 1)[0] if e.size == 0 else _pooled(res, e, ld, p, tuned)
        agg["period_rel_err"] = float(np.median(period_err[m])) if period_err[m] else None
        agg.update(_coverage(res, tuned["intervals"].get(m)))
        agg["scatter"] = scatter[m]
        out["methods"][m] = agg
    base = out["methods"].get("constant", {}).get("med_rel_err")
    for m, a in out["methods"].items():
        a["predictive"] = bool(a["med_rel_err"] is not None and base is not None and a["med_rel_err"] < base)
    return out


def _coverage(res, interval):
    """Held-out coverage of the tuned interval (share of observations whose next spike is inside)
    and its width in steps; None without an interval or a scored observation."""
    from qshock.experiments.lab.forecast import interval_coverage

    if interval is None or not all(v is not None and math.isfinite(v) for v in interval):
        return dict(coverage=None, width=None)
    e = np.concatenate([x[1][x[3]] for x in res]) if res else np.zeros(0)
    return dict(coverage=interval_coverage(-e, np.zeros_like(e), interval), width=float(interval[1] - interval[0]))


def _pooled(res, e, ld, p, tuned):
    """Pool per-run scores: errors over all runs, per-run Spearman/false alarms averaged."""
    from scipy.stats import spearmanr

    w, P = p.hit_window, tuned["period"]
    agg = dict(n=int(e.size), med_rel_err=float(np.median(np.abs(e) / ld)), hit_rate=float(np.mean(np.abs(e) <= w)))
    rho = spearmanr(e + ld, ld).statistic if e.size > 2 else math.nan
    agg["spearman"] = float(rho) if np.isfinite(rho) else None
    for name, f in (("q1", 0.25), ("q2", 0.5), ("q3", 0.75)):
        sel = np.abs(ld - f * P) <= 2.5 + 0.02 * P
        agg[f"err_{name}"] = float(np.median(np.abs(e[sel]))) if sel.any() else None
    fa = [x[0]["false_alarm"] for x in res if x[0]["false_alarm"] is not None]
    agg["false_alarm"] = float(np.mean(fa)) if fa else None
    return agg


def _f(v, d=3):
    return "-" if v is None else (f"{v:.{d}g}" if isinstance(v, float) else str(v))


def run(p, seeds, store, log) -> StudyResult:
    """One item per (model, optimiser, η, λ) with every seed vmapped; rows per method."""
    if len(seeds) <= p.tune_seeds:
        raise QShockInputError(f"--seeds must exceed tune_seeds = {p.tune_seeds} (tuning and evaluation seeds)")
    items, rows = [], []
    for model in p.models:
        for opt in p.optimizers:
            for lr, wd in _pairs(p, model, opt):
                ip = dict(p.params(), models=None, optimizers=None, lrs=None, weight_decays=None, momentum_lrs=None,
                          momentum_weight_decays=None, cnn_lr_scale=None, cnn_wd_scale=None, transformer_lr_scale=None,
                          transformer_wd_scale=None, model=model, optimizer=opt, lr=lr, weight_decay=wd,
                          seeds=list(seeds))
                for k in ("transformer_momentum_lrs", "transformer_momentum_weight_decays", "level"):
                    ip.pop(k)  # pairs are in lr/weight_decay; level is evaluation only
                key = f"{model}_{opt}_lr{lr:g}_wd{wd:g}"
                it = store.item(key, ip, lambda: _item(p, model, opt, lr, wd, seeds))
                it["evaluation"] = evaluate(it, p)
                items.append(it)
                ev = it["evaluation"]
                for m, a in ev["methods"].items():
                    lam = it.get("lam", wd)
                    rows.append(dict(model=model, optimizer=opt, eta=it["eta"], weight_decay=lam, method=m,
                                     spikes_per_seed=ev["spikes_per_seed"], period=ev["tuned"]["period"],
                                     **{k: v for k, v in a.items() if k != "scatter"},
                                     _fmt=[f"{model}/{opt}", f"{it['eta']:.3g}", f"{lam:.3g}", m,
                                           f"{ev['spikes_per_seed']:.3g}", f"{ev['tuned']['period']:.4g}",
                                           _f(a["err_q1"]), _f(a["err_q2"]), _f(a["err_q3"]), _f(a["med_rel_err"]),
                                           _f(a["period_rel_err"]), _f(a["hit_rate"]), _f(a["spearman"]),
                                           _f(a["false_alarm"]), _f(a.get("coverage"), 2), _f(a.get("width")),
                                           "yes" if a["predictive"] else "no"]))
    header = ["model/opt", "eta", "lambda", "method", "spikes/seed", "period", "err@1/4", "err@1/2", "err@3/4",
              "med rel lead err", "rel period err", f"hit(+-{p.hit_window})", "spearman", "false alarms",
              f"cover{100 * p.level:.0f}", f"width{100 * p.level:.0f}", "beats constant"]
    return StudyResult(header, rows, items, _summary(items))


def _summary(items):
    """Per (model, optimiser): median over settings of the ½-period error of each method, times."""
    out = {}
    for it in items:
        key = f"{it['model']}/{it['optimizer']}"
        d = out.setdefault(key, {"err_half_period": {}, "med_rel_err": {}, "coverage": {}, "width": {}, "predictive": {},
                                 "wall_s": 0.0})
        d["wall_s"] += it["wall"]
        for m, a in it["evaluation"]["methods"].items():
            d["err_half_period"].setdefault(m, []).append(a["err_q2"])
            d["med_rel_err"].setdefault(m, []).append(a["med_rel_err"])
            d["coverage"].setdefault(m, []).append(a.get("coverage"))
            d["width"].setdefault(m, []).append(a.get("width"))
            d["predictive"].setdefault(m, []).append(a["predictive"])
    for d in out.values():
        for k in ("err_half_period", "med_rel_err", "coverage", "width"):
            d[k] = {m: (float(np.median([v for v in vs if v is not None])) if any(v is not None for v in vs) else None)
                    for m, vs in d[k].items()}
        d["predictive"] = {m: f"{sum(vs)}/{len(vs)}" for m, vs in d["predictive"].items()}
    return out


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """``periodic_spikes_run_MODEL_OPT`` (first evaluation seed of the first setting of each model
    and optimiser; ``periodic_spikes_run`` is the first of them) and ``periodic_spikes_scatter``."""
    items, stem = doc["items"], figure_stem(run_dir)
    if not items:
        return []
    written, seen = [], set()
    for it in items:
        key = (it["model"], it["optimizer"])
        if key not in seen:
            names = [f"periodic_spikes_run_{key[0]}_{key[1]}"] + ([] if seen else ["periodic_spikes_run"])
            seen.add(key)
            for name in names:
                written += _run_figure(it, doc, stem(name), formats)
    return written + _scatter_figure(items, stem("periodic_spikes_scatter"), formats)


def _run_figure(it, doc, path, formats):
    """‖w‖² per group, η_eff λ_s and η λ_raw against the edge with the hybrid forecasts as arrows
    (from the step each was made), and the loss with the detected spikes."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    tuned = it["evaluation"]["tuned"]
    r = it["runs"][min(doc["params"]["tune_seeds"], len(it["runs"]) - 1)]
    k0, loss = arr(r["k0"]), arr(r["loss"])
    fig, axes = figure(nrows=3, sharex=True, figsize=(7, 7))
    for g, row in enumerate(r["sq_obs"]):
        axes[0].plot(k0, arr(row), color=COLORS[g % len(COLORS)], lw=1, label=f"‖w‖² group {g}")
    axes[0].set(ylabel="‖w‖²")
    axes[0].legend(fontsize=6, loc="upper right")
    axes[1].plot(k0, arr(r["ratio"]), color=COLORS[0], lw=1, label="η_eff λ_s (max over groups)")
    axes[1].plot(k0, arr(r["raw_ratio"]), color=COLORS[1], lw=0.6, ls=":", label="η λ_raw")
    axes[1].axhline(it["edge"], color="k", ls="--", lw=0.8, label=f"edge {it['edge']:g}")
    spikes = _spikes(r["loss"], tuned["z"])
    fc = _forecasts(it, r, spikes, tuned, doc["params"]["horizon"])[1]["hybrid"]
    step = max(1, len(k0) // 40)
    for j in range(0, len(k0), step):
        if np.isfinite(fc[j]) and fc[j] - k0[j] < 4 * tuned["period"]:
            y = 0.6 * it["edge"] + 0.08 * it["edge"] * ((j // step) % 5)
            axes[1].annotate("", xy=(fc[j], y), xytext=(k0[j], y), arrowprops=dict(arrowstyle="->", lw=0.5, color="0.4"))
    axes[1].set(ylabel="η_eff λ_s")
    axes[1].legend(fontsize=6, loc="upper right")
    axes[2].semilogy(np.arange(len(loss)), loss, color=COLORS[2], lw=0.6)
    for s in spikes:
        axes[2].axvline(s, color="r", lw=0.4, alpha=0.5)
    axes[2].set(xlabel="step", ylabel="loss (full batch)")
    axes[0].set_title(f"{it['model']}/{it['optimizer']} η={it['eta']:g} λ={it['lam']:.3g} seed {r['seed']}: "
                      "hybrid forecasts (arrows, from the step they were made)", fontsize=8)
    return save(fig, path, formats)


def _scatter_figure(items, path, formats):
    """Forecast made right after each spike against the observed next spike, with y = x."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    fig, ax = figure()
    lo, hi = np.inf, -np.inf
    for i, m in enumerate(("hybrid", "iterate", "raw", "constant")):
        pts = [pt for it2 in items for pt in it2["evaluation"]["methods"].get(m, {}).get("scatter", [])]
        if pts:
            a = np.asarray(pts, float)
            ax.scatter(a[:, 0], a[:, 1], s=6, color=COLORS[i % len(COLORS)], label=m, alpha=0.6)
            lo, hi = min(lo, a.min()), max(hi, a.max())
    if np.isfinite(lo):
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--", label="y = x")
    ax.set(xlabel="observed spike step", ylabel="forecast (made right after the previous spike)")
    ax.legend(fontsize=7)
    return save(fig, path, formats)


def write_doc_data(run_dir: str, dest: str, prefix: str = "") -> list:
    """Write the documentation's numbers from ``run_dir/results.json`` into ``dest`` (file names
    prefixed with ``prefix``): ``table.txt``
    (the study table), ``summary.md`` (per model/optimiser: ½-period error and median relative
    lead-time error of each method, settings where it beats the constant baseline, wall time),
    ``config.txt`` (the parameters and seeds), ``headline.md`` (one line for the README)."""
    import json
    import os

    from .stats import text_table

    with open(os.path.join(run_dir, "results.json")) as f:
        doc = json.load(f)
    os.makedirs(dest, exist_ok=True)
    paths = [os.path.join(dest, prefix + n) for n in ("table.txt", "summary.md", "config.txt", "headline.md")]
    with open(paths[0], "w") as f:
        f.write(text_table(doc["header"], [r["_fmt"] for r in doc["rows"]]) + "\n")
    lv = f"{100 * doc['params'].get('level', 0.8):.0f}%"
    lines = ["| model/optimiser | method | error at ½-period lead (steps) | median rel. lead-time error | "
             f"{lv} interval coverage (held out) | interval width (steps) | beats constant (settings) |",
             "|---|---|---|---|---|---|---|"]
    for key, d in doc["summary"].items():
        for m in METHODS:
            lines.append(f"| {key} | {m} | {_f(d['err_half_period'].get(m))} | {_f(d['med_rel_err'].get(m))} | "
                         f"{_f(d.get('coverage', {}).get(m), 2)} | {_f(d.get('width', {}).get(m))} | "
                         f"{d['predictive'].get(m, '-')} |")
    lines += ["", f"Interval: the forecast plus the {lv} range of the residuals (next spike − forecast) of the same "
              "forecaster on the tuning seeds; coverage is the share of held-out observations whose next spike "
              "falls inside (median over settings)."]
    own = ", ".join(f"{it['model']}/{it['optimizer']} η={it['eta']:g} λ={it['lam']:g}: "
                    f"{_f(it['evaluation'].get('hybrid_own'), 2)}" for it in doc["items"])
    lines += ["", f"Share of the held-out observations at which `hybrid` makes its own forecast (elsewhere it is "
              f"the constant period): {own}."]
    walls = ", ".join(f"{k}: {d['wall_s'] / 60:.1f} min" for k, d in doc["summary"].items())
    total = sum(it["wall"] for it in doc["items"])
    lines += ["", f"Wall time per model/optimiser (training, sharpness, forecasts; 2 shared cores): {walls}; "
              f"all items {total / 60:.1f} min; the invocation that wrote this table "
              f"{doc['wall_time'] / 60:.1f} min ({doc['computed']} item(s) computed, {doc['reused']} reused)."]
    with open(paths[1], "w") as f:
        f.write("\n".join(lines) + "\n")
    p = doc["params"]
    with open(paths[2], "w") as f:
        f.write(f"quick={doc['quick']} seeds={doc['seeds']} (tuning: the first {p['tune_seeds']}) "
                f"models={p['models']} optimizers={p['optimizers']} lrs={p['lrs']} "
                f"weight_decays={p['weight_decays']} momentum_lrs={p.get('momentum_lrs')} "
                f"momentum_weight_decays={p.get('momentum_weight_decays')} cnn_scales=({p.get('cnn_lr_scale')}, "
                f"{p.get('cnn_wd_scale')}) transformer_scales=({p.get('transformer_lr_scale')}, "
                f"{p.get('transformer_wd_scale')}) transformer_momentum_lrs={p.get('transformer_momentum_lrs')} "
                f"transformer_momentum_weight_decays={p.get('transformer_momentum_weight_decays')} "
                f"beta={p['beta']} steps={p['steps']} level={p.get('level')} "
                f"sharpness_every={p['sharpness_every']} lanczos_iters={p['lanczos_iters']}\n")
    with open(paths[3], "w") as f:
        f.write(headline(doc) + "\n")
    return paths


def write_headline(run_dirs, dest: str) -> str:
    """``dest/headline.md`` from the ``results.json`` of one or more run directories (merged)."""
    import json
    import os

    docs = [json.load(open(os.path.join(d, "results.json"))) for d in run_dirs]
    path = os.path.join(dest, "headline.md")
    with open(path, "w") as f:
        f.write(headline(*docs) + "\n")
    return path


def headline(*docs: dict) -> str:
    """One line for the README's studies block (from one or more results documents): spikes per
    seed, the ½-period-lead error of the hybrid, the iterated identity and the constant baseline
    per model/optimiser, and in how many settings each theory method beats the constant baseline."""
    doc = docs[0]
    items = [it for d in docs for it in d["items"]]
    summ = {k: v for d in docs for k, v in d["summary"].items()}
    sps = [it["evaluation"]["spikes_per_seed"] for it in items]
    shown = ("hybrid", "closed", "iterate", "constant")
    errs = "; ".join(f"{k} " + " / ".join(_f(d["err_half_period"].get(m), 2) for m in shown) for k, d in summ.items())
    beats = {m: sum(it["evaluation"]["methods"].get(m, {}).get("predictive", False) for it in items)
             for m in ("hybrid", "closed", "iterate", "raw")}
    cov = {m: [d.get("coverage", {}).get(m) for d in summ.values()] for m in ("hybrid", "closed", "constant")}
    cov = {m: [v for v in vs if v is not None] for m, vs in cov.items()}
    covs = "; ".join(f"{m} {min(v):.2f}–{max(v):.2f}" for m, v in cov.items() if v)
    lv = f"{100 * doc['params'].get('level', 0.8):.0f}%"
    return (f"**periodic-spikes** ({len(items)} settings (model, optimiser, η, λ), {len(doc['seeds'])} seeds, "
            f"{doc['params']['tune_seeds']} for tuning; {min(sps):.3g}–{max(sps):.3g} spikes per held-out seed): "
            f"error of the next-spike forecast at a ½-period lead, steps (median over settings), hybrid / closed "
            f"form (oscillator for heavy ball) / iterated identity / constant period: {errs}. Median relative "
            f"lead-time error below the constant period's in {beats['hybrid']} (hybrid), {beats['closed']} (closed "
            f"form), {beats['iterate']} (identity), {beats['raw']} (raw sharpness) of {len(items)} settings."
            + (f" Held-out coverage of the {lv} intervals (tuning-seed residuals), range over model/optimiser: "
               f"{covs}." if covs else ""))
