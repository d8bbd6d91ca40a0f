"""How well does the training monitor forecast instabilities? (``qshock experiment monitor-eval``)

Corpus: lab runs (``training.train`` with the group logs, quotient and per-group sphere
sharpness, Adam's preconditioned sharpness) over ``settings`` × seeds. A setting is
``"MODEL[+norm]/OPTIMIZER/LR/WEIGHT_DECAY/BATCH"`` (BATCH ``full`` or a size); the default mixes
normalised and plain MLPs, with and without weight decay, learning rates on both sides of the
edge, heavy ball and Adam, and the normalised CNN. Each run's forecasts are made exactly as
``qshock monitor`` makes them (:func:`qshock.experiments.monitor.runlog.records_from_run`,
causal).

Events ("instabilities"): loss spikes of the per-step mini-batch loss
(:func:`qshock.experiments.lab.events.loss_spikes`, robust z > ``event_z``) and the first
non-finite loss (the run is cut there).

Predictors, each an alarm rule "score ≥ threshold" at its evaluation points:

* ``monitor``:   at observations, score = −(forecast step − k) (alarm: an instability forecast
                 within θ steps);
* ``quotient-ratio``: at observations, η_eff·λ_q / 2 (the monitor's distance to the edge alone);
* ``raw-sharpness``: at observations, η λ_max(H) / 2 (raw sharpness against 2/η: the
                 raw-coordinate version of ``quotient-ratio``);
* ``grad-growth``:   every step, ‖g_k‖ / median ‖g‖ over the previous ``ref_window`` steps;
* ``loss-z``:        every step, the robust z-score of the loss against the previous
                     ``ref_window`` steps (the event detector itself: lead time 0 by construction);
* ``constant``:      an alarm at every observation (precision = base rate).

Scores at one evaluation point k use data up to k only. An alarm at k is correct when an event
falls in [k, k + W]; an event is caught when an alarm falls in [e − W, e], with lead time e − (the
first such alarm). Metrics: precision, recall, median lead time, false alarms per 1000 steps.
Thresholds maximise F1 on the tuning half of the seeds of every setting (the first ⌊seeds/2⌋) and
every reported number is measured on the other half. Figure: precision–recall curves on the
held-out half (threshold sweep), with the tuned points marked.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures", "PREDICTORS", "parse_setting", "evaluate_runs"]

NAME = "monitor-eval"
ALIASES = ()
DATA = {"mlp": "digits", "cnn": "mnist1d"}
PREDICTORS = ("monitor", "quotient-ratio", "raw-sharpness", "grad-growth", "loss-z", "constant")
GRIDS = {"monitor": -np.asarray([0, 2, 5, 10, 20, 35, 50, 75, 100, 150, 200, 300, 500, 1000], float),
         "raw-sharpness": np.asarray([0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4, 1.7, 2.0, 3.0]),
         "quotient-ratio": np.asarray([0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2, 1.4, 1.7, 2.0, 3.0]),
         "grad-growth": np.asarray([1.1, 1.2, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0]),
         "loss-z": np.asarray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0]),
         "constant": np.asarray([0.0])}


@dataclass(frozen=True)
class Config(StudyConfig):
    settings: tuple = ("mlp/sgd/2.0/0.0/full", "mlp/sgd/1.0/0.0/full", "mlp/sgd/0.1/0.0/full", "mlp/sgd/1.0/0.001/64",
                       "mlp+norm/sgd/0.2/0.05/full", "mlp+norm/sgd/0.4/0.02/full", "mlp+norm/momentum/0.05/0.01/full",
                       "mlp/adam/0.01/0.0/full", "mlp+norm/adam/0.01/0.01/full", "cnn+norm/sgd/0.2/0.01/64")
    seeds: int = 10
    steps: int = 400
    sharpness_every: int = 5
    width: int = 16
    cnn_width: int = 8
    lanczos_iters: int = 12
    sharpness_batch: int = 256
    beta: float = 0.9
    window: int = 50
    event_z: float = 6.0
    ref_window: int = 20
    horizon: int = 2000

    @classmethod
    def quick(cls):
        return cls(settings=("mlp/sgd/2.0/0.0/full", "mlp+norm/sgd/0.2/0.05/full"), seeds=4, steps=300,
                   sharpness_every=10, width=16, lanczos_iters=10, sharpness_batch=128)

    def validate(self):
        for s in self.settings:
            parse_setting(s)
        if self.seeds < 2:
            raise QShockInputError(f"--config: seeds must be >= 2 (tuning and held-out halves), got {self.seeds}")
        if self.steps % self.sharpness_every or self.steps < 10 * self.sharpness_every:
            raise QShockInputError("--config: sharpness_every must divide steps, and steps >= 10 sharpness_every")
        if min(self.window, self.ref_window, self.horizon, self.lanczos_iters, self.width) < 1:
            raise QShockInputError("--config: window, ref_window, horizon, lanczos_iters, width must be >= 1")


def parse_setting(s: str) -> dict:
    """``"mlp+norm/sgd/0.2/0.005/full"`` → dict(model, norm, optimizer, lr, weight_decay, batch)."""
    parts = str(s).split("/")
    try:
        model, opt, lr, wd, batch = parts
        norm = model.endswith("+norm")
        model = model.removesuffix("+norm")
        out = dict(model=model, norm=norm, optimizer=opt, lr=float(lr), weight_decay=float(wd),
                   batch=None if batch == "full" else int(batch))
    except ValueError:
        raise QShockInputError(f"--config: setting {s!r} is not MODEL[+norm]/OPTIMIZER/LR/WD/BATCH") from None
    if model not in DATA or opt not in ("sgd", "momentum", "adam") or not out["lr"] > 0 or out["weight_decay"] < 0:
        raise QShockInputError(f"--config: setting {s!r}: model in {list(DATA)}, optimizer sgd/momentum/adam, "
                               "lr > 0, weight decay >= 0")
    if model == "cnn" and not norm:
        raise QShockInputError(f"--config: setting {s!r}: the lab CNN is normalised; write cnn+norm")
    return out


def _train(p, st, seeds):
    from qshock.experiments.lab import training

    cfg = training.TrainConfig(model=st["model"], data=DATA[st["model"]], lr=st["lr"], weight_decay=st["weight_decay"],
                               optimizer=st["optimizer"], momentum=float(p.beta), steps=int(p.steps),
                               full_batch=st["batch"] is None, batch=st["batch"] or 1,
                               norm=st["norm"] and st["model"] == "mlp",
                               width=int(p.cnn_width if st["model"] == "cnn" else p.width), depth=1,
                               seeds=tuple(int(s) for s in seeds), sharpness_every=int(p.sharpness_every), n_eigs=1,
                               lanczos_iters=int(p.lanczos_iters), sharpness_batch=int(p.sharpness_batch),
                               log_groups=True, dtype="float32")
    return training.train(cfg)


def _item(p, setting, seeds):
    """Train one setting (seeds vmapped) and record per run: losses, gradient norms, observations, forecasts."""
    import dataclasses

    from qshock.experiments.monitor.runlog import records_from_run

    t0 = time.perf_counter()
    st = parse_setting(setting)
    r = _train(p, st, seeds)
    cfg = dataclasses.asdict(r.config)
    recs = records_from_run("", cfg, r.obs, r.obs_steps, r.step_metrics, horizon=int(p.horizon))
    runs = []
    for i, s in enumerate(seeds):
        rs = [x for x in recs if x["seed"] == int(s)]
        runs.append(dict(seed=int(s), loss=np.asarray(r.step_metrics["loss"][i], float),
                         grad_norm=np.asarray(r.step_metrics["grad_norm"][i], float),
                         obs_steps=[x["step"] for x in rs], predicted=[x["predicted_step"] for x in rs],
                         source=[x["source"] for x in rs], ratio=[x["ratio"] for x in rs],
                         raw=[float(st["lr"]) * x["lambda_raw"] / 2.0 for x in rs]))
    return dict(setting=setting, **st, runs=runs, train_wall=float(r.wall_time), wall=time.perf_counter() - t0)


# ------------------------------------------------------------------ evaluation
def _events(loss, z):
    from qshock.experiments.lab.events import loss_spikes

    loss = arr(list(loss))
    bad = np.nonzero(~np.isfinite(loss))[0]
    end = int(bad[0]) + 1 if bad.size else len(loss)
    ev = [e["step"] for e in loss_spikes(loss[:end], z_thresh=float(z))]
    return np.asarray(sorted(set(ev)), float), end


def _robust_ratio(x, k, w):
    ref = x[max(0, k - w):k]
    ref = ref[np.isfinite(ref)]
    return x[k] / np.median(ref) if ref.size >= 3 and np.median(ref) > 0 else math.nan


def _scores(run, p, end):
    """(points, scores) of every predictor for one run, cut at ``end`` (module docstring)."""
    from qshock.experiments.lab.events import robust_z

    k = np.asarray(run["obs_steps"], float)
    keep = k < end
    pred = arr(run["predicted"])
    out = {"monitor": (k[keep], -(pred - k)[keep]), "raw-sharpness": (k[keep], arr(run["raw"])[keep]),
           "quotient-ratio": (k[keep], arr(run["ratio"])[keep] / 2.0),
           "constant": (k[keep], np.zeros(int(keep.sum())))}
    loss, g = arr(run["loss"])[:end], arr(run["grad_norm"])[:end]
    steps = np.arange(end, dtype=float)
    w = int(p.ref_window)
    out["grad-growth"] = (steps, np.asarray([_robust_ratio(g, t, w) for t in range(end)]))
    lz = [float(robust_z(loss[t], loss[max(0, t - w):t][np.isfinite(loss[max(0, t - w):t])])[0])
          if t >= 5 and np.isfinite(loss[t]) else (math.inf if t >= 5 else math.nan) for t in range(end)]
    out["loss-z"] = (steps, np.asarray(lz))
    return out


def _metrics(pts, alarms, events, n_steps, W):
    """Counts for one run: (alarms, correct alarms, events, caught events, lead times)."""
    a = pts[alarms]
    ok = np.asarray([np.any((events >= t) & (events <= t + W)) for t in a], bool)
    leads = []
    for e in events:
        sel = a[(a >= e - W) & (a <= e)]
        if sel.size:
            leads.append(e - sel.min())
    return np.asarray([a.size, ok.sum(), events.size, len(leads), n_steps], float), leads


def _pool(runs_scores, name, thr, W):
    tot, leads = np.zeros(5), []
    for sc, events, n in runs_scores:
        pts, s = sc[name]
        c, ld = _metrics(pts, np.nan_to_num(s, nan=-np.inf) >= thr, events, n, W)
        tot += c
        leads += ld
    prec = tot[1] / tot[0] if tot[0] else math.nan
    rec = tot[3] / tot[2] if tot[2] else math.nan
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return dict(precision=prec, recall=rec, f1=f1, median_lead=float(np.median(leads)) if leads else math.nan,
                false_alarms_per_1000=1000.0 * (tot[0] - tot[1]) / max(tot[4], 1.0), alarms=int(tot[0]),
                events=int(tot[2]), threshold=float(thr))


def evaluate_runs(tune, held, p) -> dict:
    """Tune each predictor's threshold (max F1) on ``tune`` and score it on ``held``; with PR curves."""
    out = {}
    for name in PREDICTORS:
        grid = GRIDS[name]
        f1s = [(_pool(tune, name, t, p.window)["f1"], -i) for i, t in enumerate(grid)]
        best = grid[-max(f1s)[1]] if tune else grid[0]
        res = _pool(held, name, best, p.window)
        res["pr_curve"] = [(d["recall"], d["precision"]) for d in (_pool(held, name, t, p.window) for t in grid)]
        out[name] = res
    return out


def _prepare(items, p):
    tune, held, base = [], [], []
    for it in items:
        for j, r in enumerate(it["runs"]):
            events, end = _events(r["loss"], p.event_z)
            (tune if j < len(it["runs"]) // 2 else held).append((_scores(r, p, end), events, end))
            base.append(events.size)
    return tune, held, base


def _f(v, d=3):
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else (
        f"{v:.{d}g}" if isinstance(v, float) else str(v))


def run(p, seeds, store, log) -> StudyResult:
    """One item per setting (seeds vmapped); thresholds tuned on the first half of the seeds."""
    if len(seeds) < 2:
        raise QShockInputError("--seeds must be >= 2 (tuning and held-out halves)")
    items = []
    for setting in p.settings:
        ip = dict(p.params(), settings=None, setting=setting, seeds=list(seeds))
        key = setting.replace("/", "_").replace("+", "")
        items.append(store.item(key, ip, lambda setting=setting: _item(p, setting, seeds)))
    tune, held, ev = _prepare(items, p)
    res = evaluate_runs(tune, held, p)
    rows = []
    for name, a in res.items():
        rows.append(dict(predictor=name, **{k: v for k, v in a.items() if k != "pr_curve"},
                         _fmt=[name, f"lead<={-a['threshold']:g}" if name == "monitor" else _f(a["threshold"]), _f(a["precision"]), _f(a["recall"]), _f(a["f1"]),
                               _f(a["median_lead"]), _f(a["false_alarms_per_1000"]), str(a["alarms"]),
                               str(a["events"])]))
    header = ["predictor", "threshold", "precision", "recall", "F1", "median lead (steps)", "false alarms/1000 steps",
              "alarms", "events"]
    summary = dict(runs=sum(len(it["runs"]) for it in items), held_out_runs=len(held), events_total=int(sum(ev)),
                   window=p.window, predictors={n: {k: v for k, v in a.items() if k != "pr_curve"} for n, a in res.items()},
                   pr_curves={n: a["pr_curve"] for n, a in res.items()},
                   train_wall_s=float(sum(it["train_wall"] for it in items)), item_wall_s=float(sum(it["wall"] for it in items)))
    return StudyResult(header, rows, items, summary)


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """``monitor_eval_pr``: precision–recall curves on the held-out half, tuned thresholds marked."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    stem = figure_stem(run_dir)
    fig, ax = figure(figsize=(5.5, 4.2))
    for i, (name, curve) in enumerate(doc["summary"].get("pr_curves", {}).items()):
        c = arr([v for pt in curve for v in pt]).reshape(-1, 2) if curve else np.zeros((0, 2))
        ok = np.isfinite(c).all(1)
        ax.plot(c[ok, 0], c[ok, 1], "o-", ms=3, lw=1, color=COLORS[i % len(COLORS)], label=name)
        t = doc["summary"]["predictors"][name]
        if t["recall"] is not None and t["precision"] is not None:
            ax.plot([t["recall"]], [t["precision"]], "*", ms=11, color=COLORS[i % len(COLORS)])
    ax.set(xlabel="recall (events caught within W steps)", ylabel="precision (alarms followed by an event)",
           xlim=(-0.02, 1.02), ylim=(-0.02, 1.02),
           title=f"held-out half, W = {doc['params']['window']} steps (★ tuned threshold)")
    ax.legend(fontsize=7)
    return save(fig, stem("monitor_eval_pr"), formats)


def write_doc_data(run_dir: str, dest: str, prefix: str = "") -> list:
    """The documentation's numbers from ``run_dir/results.json`` into ``dest`` (names prefixed by
    ``prefix``): ``table.txt`` (the held-out table), ``summary.md`` (corpus, events, wall time) and
    ``config.txt`` (settings and seeds); the PR figure is copied as ``pr.png``."""
    import json
    import os
    import shutil

    from .stats import text_table

    with open(os.path.join(run_dir, "results.json")) as f:
        doc = json.load(f)
    os.makedirs(dest, exist_ok=True)
    paths = [os.path.join(dest, prefix + n) for n in ("table.txt", "summary.md", "config.txt", "pr.png")]
    with open(paths[0], "w") as f:
        f.write(text_table(doc["header"], [r["_fmt"] for r in doc["rows"]]) + "\n")
    s, p = doc["summary"], doc["params"]
    with open(paths[1], "w") as f:
        f.write(f"Corpus: {s['runs']} runs ({len(p['settings'])} settings x {len(doc['seeds'])} seeds), "
                f"{s['events_total']} events; thresholds tuned on the first half of the seeds of every setting, "
                f"reported on the other {s['held_out_runs']} runs; W = {p['window']} steps. Computing the items (compile, "
                f"train, measure, forecast) took {s.get('item_wall_s', s['train_wall_s']) / 60:.1f} min; the "
                f"invocation that wrote this table {doc['wall_time'] / 60:.1f} min "
                f"({doc['computed']} item(s) computed, {doc['reused']} reused) on 2 shared cores.\n")
    with open(paths[2], "w") as f:
        f.write(f"quick={doc['quick']} seeds={doc['seeds']} settings={p['settings']} steps={p['steps']} "
                f"sharpness_every={p['sharpness_every']} width={p['width']} lanczos_iters={p['lanczos_iters']} "
                f"event_z={p['event_z']} window={p['window']}\n")
    fig = os.path.join(run_dir, "figures", "monitor_eval_pr.png")
    if os.path.isfile(fig):
        shutil.copyfile(fig, paths[3])
    return paths
