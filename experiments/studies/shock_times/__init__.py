"""``qshock experiment shock-times``: the PDE solver predicts events in real SGD runs (issue 9).

Runs (``runs``): for every architecture of ``ARCHS`` and batch size B, every (η, seed) — and
for every architecture of ``gauge_arch`` every rescaled parametrisation α — is trained by the lab trainer with the
parameters kept every ``every`` steps. Predictions (``predict``): reading (ii) (step-map fold
τ* of the quotient chart against η_eff → oscillation onset and spike), reading (i)
(coarse-graining shock t* → k* = t*/(2η) → sudden drop / quotient jump), their raw-chart
versions, the raw-sharpness threshold 2/η, the linearised saddle escape and the constant
(median) predictor; each uses only checkpoints ≤ k. Observations and statistics
(``evaluate``): detector thresholds tuned on the tuning seeds (stored in ``OUT/split.json``),
statistics on the held-out seeds, per architecture and predictor.

Outputs: ``results.json`` (table: one row per (arch, seed, η, B, α); ``summary`` =
``{"predictors", "per_architecture": {ARCH: {PRED: {spearman, median_rel_error, hit_rate, n, …}}},
…}``), ``statistics.json``, ``headline.md``, ``checkpoints/*.npz``, figures
``shock_times_scatter``, ``shock_times_ensemble``, ``shock_times_track``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from ..driver import StudyConfig, StudyResult
from ..store import atomic_json
from .evaluate import TARGETS, calibrate, observe, statistics, tune
from .predict import PREDICTORS
from .runs import ARCHS

__all__ = ["NAME", "Config", "run", "check_seeds", "figures", "headline", "statistics_markdown", "write_reports",
           "headline_table", "gauge_markdown"]

NAME = "shock-times"
QUICK_ARCHS = ("mlp-digits", "mlp-mnist1d", "transformer-modadd", "meanfield-teacher", "tanh-teacher")


@dataclass(frozen=True)
class Config(StudyConfig):
    archs: tuple = tuple(ARCHS)
    seeds: int = 5
    tune_seeds: int = 2
    steps: int = 240
    every: int = 20
    warmup: int = 240
    batches: tuple = (32, 128)
    n_lrs: int = 3
    gauge_arch: tuple = ("mlp-digits", "transformer-modadd")
    gauge_alphas: tuple = (0.25, 0.5, 1.0, 2.0, 4.0)
    gauge_all_lrs: bool = False
    chart_n: int = 33
    n_out: int = 41
    lanczos_iters: int = 10
    screen: float = 0.5
    hit_window: int = 20
    ensemble: int = 256
    ensemble_steps: int = 40

    @classmethod
    def quick(cls):
        return cls(archs=QUICK_ARCHS, seeds=3, tune_seeds=1, steps=120, every=20, warmup=120, batches=(64,), n_lrs=2,
                   screen=0.6,
                   gauge_alphas=(0.25, 1.0, 4.0), gauge_all_lrs=False, chart_n=25, n_out=31, ensemble_steps=30)

    def validate(self):
        bad = [a for a in self.archs if a not in ARCHS]
        if bad or not self.archs:
            raise QShockInputError(f"--config: archs must be some of {', '.join(ARCHS)}, got {list(self.archs)}")
        if isinstance(self.gauge_arch, str) or any(a not in ARCHS for a in self.gauge_arch):
            raise QShockInputError(f"--config: gauge_arch must be a list of some of {', '.join(ARCHS)}, "
                                   f"got {self.gauge_arch!r}")
        if self.every < 1 or self.steps < self.every or self.steps % self.every:
            raise QShockInputError("--config: steps must be a positive multiple of every")
        if not (1 <= self.n_lrs <= 3):
            raise QShockInputError(f"--config: n_lrs must be 1, 2 or 3, got {self.n_lrs}")
        if any(not (isinstance(b, int) and b >= 1) for b in self.batches) or not self.batches:
            raise QShockInputError(f"--config: batches must be positive integers, got {list(self.batches)}")
        if any(not a > 0 for a in self.gauge_alphas):
            raise QShockInputError(f"--config: gauge_alphas must be positive, got {list(self.gauge_alphas)}")
        if self.warmup < 0:
            raise QShockInputError(f"--config: warmup must be >= 0 steps, got {self.warmup}")
        if self.tune_seeds < 1 or self.hit_window < 0 or self.ensemble < 0:
            raise QShockInputError("--config: tune_seeds must be >= 1, hit_window and ensemble >= 0")
        self._validate_numerics()

    def _validate_numerics(self):
        from qshock.experiments.lab.slices import CHART_CELLS

        for key, lo, hi in (("chart_n", *CHART_CELLS), ("n_out", 5, 10_000), ("lanczos_iters", 1, 1000),
                            ("ensemble_steps", 1, 100_000)):
            v = getattr(self, key)
            if not lo <= v <= hi:
                raise QShockInputError(f"--config: {key} must be an integer in [{lo}, {hi}], got {v}")
        if not 0.0 < self.screen <= 1.0:  # also refuses NaN
            raise QShockInputError(f"--config: screen must be in (0, 1] (a fraction of the threshold), got {self.screen}")

    def check_batches(self):
        """Every (architecture, batch size) passes the trainer's own checks (before any training)."""
        from .runs import group_config

        for arch in self.archs:
            for b in self.batches:
                try:
                    group_config(arch, b, self.every, self.lanczos_iters)
                except QShockInputError as exc:
                    raise QShockInputError(f"--config: batches: {arch}: {exc}") from None


def check_seeds(p, k: int) -> None:
    """At least 2 seeds: detector thresholds are tuned on some and the statistics reported on the others."""
    if k < 2:
        raise QShockInputError(f"shock-times needs --seeds >= 2 (thresholds are tuned on some seeds and the "
                               f"statistics reported on the others), got {k}")
    p.check_batches()


def lrs_of(arch: str, n_lrs: int) -> tuple:
    """The learning rates of ``arch`` (first and last when n_lrs = 2, the first when 1)."""
    lrs = ARCHS[arch]["lrs"]
    return {1: lrs[:1], 2: (lrs[0], lrs[-1]), 3: lrs}[n_lrs]


def combos_of(p, arch: str, batch: int, seeds) -> list:
    """(lr, α, seed) rows of a group: every η at α = 1; the gauge runs (α ≠ 1) only for
    the architectures of ``gauge_arch`` at the first batch size, at every η (``gauge_all_lrs``)
    or the middle one (the last of two)."""
    lrs = lrs_of(arch, p.n_lrs)
    rows = [(float(lr), 1.0, int(s)) for lr in lrs for s in seeds]
    if arch in p.gauge_arch and batch == p.batches[0]:
        glrs = lrs if p.gauge_all_lrs else lrs[len(lrs) // 2:len(lrs) // 2 + 1]
        rows += [(float(lr), float(a), int(s)) for a in p.gauge_alphas if a != 1.0 for lr in glrs for s in seeds]
    return rows


def _group_item(p, arch, batch, seeds, out):
    from .predict import ReadingEngine, combo_predictions
    from .runs import group_trainer, train_group

    import time

    t0 = time.perf_counter()
    tr = group_trainer(arch, batch, p.every, p.lanczos_iters)
    combos = combos_of(p, arch, batch, seeds)
    g = train_group(tr, combos, p.steps, p.every, ARCHS[arch].get("init_scale", 1.0), p.lanczos_iters, p.warmup)
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    np.savez_compressed(os.path.join(out, "checkpoints", f"{arch}_B{batch}.npz"), thetas=g["thetas"],
                        steps=g["ck_steps"], combos=np.asarray(combos, float))
    t1 = time.perf_counter()
    eng = ReadingEngine(tr, batch, p.chart_n, p.n_out, p.lanczos_iters, p.screen)
    # screening one row at a time (a batch of 1, as in combo_predictions): the vmapped GL section of
    # the transformer over several rows stalled XLA on the shared machine
    scr = [[eng.screen(th[c:c + 1], [combos[c][2]]) for th in g["thetas"]] for c in range(len(combos))]
    lam_q = np.asarray([[s[0][0] for s in row] for row in scr])  # (C, n_ck)
    eff = np.asarray([[s[1][0] for s in row] for row in scr])
    runs = []
    for c, (lr, alpha, seed) in enumerate(combos):
        pr = combo_predictions(eng, g["thetas"][:, c], g["ck_steps"], lr, seed, g["sharpness"][c],
                               (lam_q[c], eff[c]), warmup=p.warmup)
        runs.append(dict(arch=arch, seed=seed, lr=lr, batch=int(batch), alpha=alpha, loss=g["loss"][c],
                         update_proj=g["update_proj"][c], sharpness=g["sharpness"][c], **pr))
    return {"runs": runs, "ck_steps": g["ck_steps"], "n_params": tr.n_params,
            "wall": {"train": t1 - t0, "predict": time.perf_counter() - t1}}


def _ensemble(p, seeds):
    from .ensemble import ensemble_item
    from .predict import ReadingEngine
    from .runs import group_trainer, train_group

    arch = ([a for a in p.gauge_arch if a in p.archs] or list(p.archs))[0]
    tr = group_trainer(arch, p.batches[0], p.every, p.lanczos_iters)
    lr = lrs_of(arch, p.n_lrs)[0]
    g = train_group(tr, [(lr, 1.0, seeds[0])], p.every, p.every, ARCHS[arch].get("init_scale", 1.0), p.lanczos_iters)
    eng = ReadingEngine(tr, p.batches[0], max(p.chart_n, 65), p.n_out, p.lanczos_iters, p.screen)
    data = (tr.arrays["X"], tr.arrays["Y"])
    return dict(ensemble_item(eng, g["thetas"][0, 0], lr, seeds[0], p.ensemble, p.ensemble_steps, data=data),
                arch=arch)


def _split(p, seeds):
    k = min(p.tune_seeds, max(1, len(seeds) // 2)) if len(seeds) > 1 else 0
    return list(seeds[:k]), list(seeds[k:]) if k else list(seeds)


_NOT_GROUP = ("archs", "batches", "ensemble", "ensemble_steps", "hit_window", "tune_seeds")


def run(p, seeds, store, log) -> StudyResult:
    """One item per (architecture, B) group plus the ensemble item; statistics on held-out seeds."""
    groups = []
    for arch in p.archs:
        for b in p.batches:
            # the group's parameters: the keys that do not change a group's runs are left out, so
            # groups computed under other archs / ensemble / statistics settings are reused (--resume)
            ip = dict({k: v for k, v in p.params().items() if k not in _NOT_GROUP}, arch=arch, batch=int(b),
                      seeds=list(seeds))
            log(f"  {arch}, B = {b}")
            groups.append(store.item(f"{arch}_B{b}", ip, lambda a=arch, b=b: _group_item(p, a, b, seeds, store.out)))
    ens = store.item("ensemble", dict(p.params(), seeds=list(seeds)), lambda: _ensemble(p, seeds)) \
        if p.ensemble else None
    tune_s, held = _split(p, seeds)
    runs = [r for g in groups for r in g["runs"]]
    thresholds, per_arch, consts, factors = {}, {}, {}, {}
    for arch in p.archs:
        ar = [r for r in runs if r["arch"] == arch]
        tr_runs = [r for r in ar if r["seed"] in tune_s and r["alpha"] == 1.0] or [r for r in ar if r["alpha"] == 1.0]
        thresholds[arch] = tune(tr_runs, p.hit_window)
        th = {t: v["value"] for t, v in thresholds[arch].items()}
        for r in ar:
            r["observed"] = observe(r, th)
            r["split"] = "tune" if r["seed"] in tune_s else "held-out"
        factors[arch] = calibrate(tr_runs, ar)
        held_rows = [r for r in ar if r["split"] == "held-out" and r["alpha"] == 1.0]
        per_arch[arch], consts[arch] = statistics(held_rows, [r for r in tr_runs], p.hit_window, p.every)
    for r in runs:
        for tgt in TARGETS:
            r["predicted"][f"constant_{tgt}"] = consts[r["arch"]][tgt]
    split = {"tuning_seeds": tune_s, "held_out_seeds": held, "thresholds": thresholds, "hit_window": p.hit_window}
    atomic_json(os.path.join(store.out, "split.json"), split)
    summary = dict(_summary(p, per_arch, runs, split), calibration=factors)
    header, rows = _table(runs)
    write_reports(store.out, summary, rows)
    with open(os.path.join(store.out, "timing.md"), "w") as fh:
        fh.write(timing_markdown(groups))
    items = groups + ([ens] if ens else [])
    return StudyResult(header, rows, items, summary)


def timing_markdown(groups) -> str:
    """Per (architecture, B) item: runs, parameters, and the wall seconds of its training and
    predictions as the item recorded them (``OUT/timing.md``; items reused by ``--resume``
    keep the times of the process that computed them)."""
    lines = ["| architecture | B | runs | parameters | train (s) | predict (s) |", "|---|---|---|---|---|---|"]
    for g in groups:
        r0 = g["runs"][0] if g["runs"] else {}
        lines.append(f"| {r0.get('arch', '–')} | {r0.get('batch', '–')} | {len(g['runs'])} | {g['n_params']} | "
                     f"{g['wall']['train']:.0f} | {g['wall']['predict']:.0f} |")
    return "\n".join(lines) + "\n"


def predictor_names() -> list:
    return list(PREDICTORS) + [f"constant_{t}" for t in TARGETS]


def _med(v):
    v = [x for x in v if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.median(v)) if v else None


GAUGE_KEYS = ("ii_onset_quotient", "ii_onset_quotient_noc", "ii_onset_raw", "ii_spike_quotient",
              "ii_spike_quotient_noc", "ii_spike_raw", "sharpness_2/eta")


def _gauge(p, runs):
    """Median over seeds, per (architecture of ``gauge_arch``, α, η) at the first B, of the
    observed and predicted steps, with the initial raw and quotient sharpness and the factor
    η_eff/η = ‖J_σᵀd‖² that carries the leaf label c (the quotient-without-c predictor uses η)."""
    out = []
    for arch in [a for a in p.gauge_arch if a in p.archs]:
        ar = [r for r in runs if r["arch"] == arch and r["batch"] == p.batches[0]]
        for lr in sorted({r["lr"] for r in ar if r["alpha"] != 1.0}):
            for alpha in sorted({r["alpha"] for r in ar}):
                rs = [r for r in ar if r["alpha"] == alpha and r["lr"] == lr]
                if not rs:
                    continue
                row = {"arch": arch, "alpha": alpha, "lr": lr, "n": len(rs),
                       "observed_oscillation": _med([r["observed"]["oscillation"] for r in rs]),
                       "observed_spike": _med([r["observed"]["spike"] for r in rs]),
                       "lambda_raw_0": _med([r["track"][0]["lam_raw"] for r in rs]),
                       "lambda_quotient_0": _med([r["track"][0]["lam_q"] for r in rs]),
                       "eta_eff_over_eta_0": _med([r["track"][0]["eta_eff"] / r["lr"] for r in rs])}
                row.update({k: _med([r["predicted"].get(k) for r in rs]) for k in GAUGE_KEYS})
                out.append(row)
    return out


def gauge_markdown(summary: dict) -> str:
    """The gauge table (architecture, η, α × observed, raw, quotient, quotient without c) in Markdown."""
    f = lambda v: "–" if v is None else f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"  # noqa: E731
    lines = ["| architecture | η | α | λ_raw(0) | λ_q(0) | η_eff/η (c) | obs. oscillation | raw (ii) | quotient (ii) | "
             "quotient w/o c | obs. spike | raw 2/η | raw (ii) | quotient (ii) | quotient w/o c | seeds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.get("gauge", []):
        g = {k: r.get(k) for k in ("lambda_raw_0", "lambda_quotient_0", "eta_eff_over_eta_0", "observed_oscillation",
                                   "observed_spike") + GAUGE_KEYS}  # files written before a key existed: –
        lines.append(f"| {r.get('arch', '–')} | {r['lr']:g} | {r['alpha']:g} | {f(g['lambda_raw_0'])} | "
                     f"{f(g['lambda_quotient_0'])} "
                     f"| {f(g['eta_eff_over_eta_0'])} | {f(g['observed_oscillation'])} | {f(g['ii_onset_raw'])} | "
                     f"{f(g['ii_onset_quotient'])} | {f(g['ii_onset_quotient_noc'])} | {f(g['observed_spike'])} | "
                     f"{f(g['sharpness_2/eta'])} | {f(g['ii_spike_raw'])} | {f(g['ii_spike_quotient'])} | "
                     f"{f(g['ii_spike_quotient_noc'])} | {r['n']} |")
    return "\n".join(lines) + "\n"


def _summary(p, per_arch, runs, split):
    return {"predictors": predictor_names(), "events": {k: v for k, v in PREDICTORS.items()},
            "per_architecture": per_arch, "split": {k: split[k] for k in ("tuning_seeds", "held_out_seeds")},
            "thresholds": {a: {t: v["value"] for t, v in th.items()} for a, th in split["thresholds"].items()},
            "gauge": _gauge(p, runs),
            "n_runs": len(runs), "hit_window": p.hit_window, "every": p.every}


def _fs(v):
    return "-" if v is None else f"{v:g}" if isinstance(v, (int, float)) else str(v)


COLUMNS = [("obs osc", "observed", "oscillation"), ("ii_q", "predicted", "ii_onset_quotient"),
           ("ii_raw", "predicted", "ii_onset_raw"), ("obs spike", "observed", "spike"),
           ("ii2_q", "predicted", "ii_spike_quotient"), ("ii2_raw", "predicted", "ii_spike_raw"),
           ("2/eta", "predicted", "sharpness_2/eta"), ("obs drop", "observed", "drop"),
           ("i_q", "predicted", "i_drop_quotient"), ("i_raw", "predicted", "i_drop_raw"),
           ("escape", "predicted", "escape_linearised"), ("obs jump", "observed", "jump")]


def _table(runs):
    header = ["arch", "seed", "split", "eta", "B", "alpha"] + [c[0] for c in COLUMNS]
    rows = []
    for r in runs:
        row = {k: r[k] for k in ("arch", "seed", "split", "lr", "batch", "alpha")}
        row["observed"] = dict(r["observed"])
        row["predicted"] = dict(r["predicted"])
        row["error"] = {k: (None if v is None or r["observed"][PREDICTORS.get(k, k.replace("constant_", ""))] is None
                            else v - r["observed"][PREDICTORS.get(k, k.replace("constant_", ""))])
                        for k, v in r["predicted"].items()}
        row["_fmt"] = [r["arch"], str(r["seed"]), r["split"], f"{r['lr']:g}", str(r["batch"]), f"{r['alpha']:g}"] + \
            [_fs(r[a][b]) for _, a, b in COLUMNS]
        rows.append(row)
    return header, rows


BASELINES = ("sharpness_2/eta", "escape_linearised")


def _wins(pa):
    """(arch, predictor, stats) of the non-constant predictors with held-out pairs, and those
    that beat the constant (``evaluate._against_constant``)."""
    rows = [(a, n, s) for a, st in pa.items() for n, s in st.items() if not n.startswith("constant_") and s["n"] > 0]
    return rows, [r for r in rows if r[2]["predictive"]]


def _quotient_vs_raw(pa):
    """(quotient better, equal, comparisons): each quotient predictor against its raw version, per
    architecture, where both have held-out pairs (median relative error)."""
    better = equal = total = 0
    for st in pa.values():
        for n, s in st.items():
            raw = st.get(n.replace("_quotient", "_raw"))
            if "_quotient" in n and not n.endswith("_noc") and raw and s["n"] and raw["n"]:
                total += 1
                better += s["median_rel_error"] < raw["median_rel_error"]
                equal += s["median_rel_error"] == raw["median_rel_error"]
    return better, equal, total


def headline(summary: dict) -> str:
    """The finding in one paragraph, generated from the statistics (``OUT/headline.md``)."""
    pa = summary["per_architecture"]
    rows, wins = _wins(pa)
    f = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    won = "; ".join(f"`{n}` on {a} (median rel. error {f(s['median_rel_error'])} against the constant's "
                    f"{f(s['constant_same_runs'])} on the same runs, hit rate {f(s['hit_rate'])}, n = {s['n']}, "
                    f"closer than the constant in {s['wins']} runs and farther in {s['losses']}, sign-test "
                    f"p = {'–' if s['sign_p'] is None else format(s['sign_p'], '.3f')})" for a, n, s in wins)
    sig = [w for w in wins if w[2]["sign_p"] is not None and w[2]["sign_p"] < 0.05]
    pde = [w for w in wins if w[1] not in BASELINES]
    qb, qe, qt = _quotient_vs_raw(pa)
    silent = [a for a, st in pa.items() if not any(s["n"] for n, s in st.items() if not n.startswith("constant_"))]
    return (f"On held-out seeds {summary['split']['held_out_seeds']} (detector thresholds tuned on seeds "
            f"{summary['split']['tuning_seeds']}; {summary['n_runs']} runs; hit window ±{summary['hit_window']} steps), "
            f"{len(wins)} of {len(rows)} (architecture, predictor) pairs with held-out events beat the constant median "
            f"predictor (lower median relative error on the same runs and no lower hit rate)"
            + (f": {won}" if wins else "") + f". {len(pde)} of these are PDE readings. {len(sig)} of the {len(wins)} "
            f"({', '.join(f'`{n}` on {a}' for a, n, _ in sig) or 'none'}) are closer than the constant in more runs "
            f"than chance allows (one-sided sign test, p < 0.05), where about {0.05 * len(rows):.1f} of the "
            f"{len(rows)} comparisons would pass by chance alone. "
            f"The quotient reading beats its raw version in {qb} of {qt} comparisons (equal in {qe}, worse in "
            f"{qt - qb - qe})."
            + (f" No held-out events were paired with any predictor in {', '.join(silent)}." if silent else "")
            + _gauge_sentence(summary))


def _gauge_sentence(summary: dict) -> str:
    """The gauge runs in one sentence: per (architecture, η), the median steps over α."""
    g = summary.get("gauge") or []
    keys = (("observed_spike", "observed spike"), ("sharpness_2/eta", "raw 2/η"), ("ii_spike_raw", "raw (ii)"),
            ("ii_spike_quotient", "quotient (ii)"), ("ii_spike_quotient_noc", "quotient without c"),
            ("observed_oscillation", "observed oscillation"), ("ii_onset_raw", "raw onset"),
            ("ii_onset_quotient", "quotient onset"), ("ii_onset_quotient_noc", "quotient onset without c"))
    f = lambda v: "–" if v is None else f"{v:g}"  # noqa: E731
    parts = []
    for arch, lr in dict.fromkeys((r["arch"], r["lr"]) for r in g):
        rs = sorted((r for r in g if r["arch"] == arch and r["lr"] == lr), key=lambda r: r["alpha"])
        alphas = "/".join(f"{r['alpha']:g}" for r in rs)
        parts.append(f"{arch} at η = {lr:g}, α = {alphas}: " +
                     ", ".join(f"{name} {'/'.join(f(r[k]) for r in rs)}" for k, name in keys))
    return (" Gauge runs (median step over seeds per α; – none): " + "; ".join(parts) + ".") if parts else ""


def statistics_markdown(summary: dict) -> str:
    """The per-architecture statistics as a Markdown table (one row per architecture and predictor)."""
    f = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    lines = ["| architecture | predictor | event | Spearman ρ | median rel. error | hit rate | n | false | missed | "
             "closer / farther than constant | sign-test p | predictive |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for arch, stats in summary["per_architecture"].items():
        for name in summary["predictors"]:
            s = stats[name]
            pred = "–" if s["predictive"] is None else ("yes" if s["predictive"] else "no")
            wl = "–" if "wins" not in s else f"{s['wins']} / {s['losses']}"
            p = "–" if s.get("sign_p") is None else f"{s['sign_p']:.3f}"
            lines.append(f"| {arch} | `{name}` | {s['event']} | {f(s['spearman'])} | {f(s['median_rel_error'])} | "
                         f"{f(s['hit_rate'])} | {s['n']} | {s['false']} | {s['missed']} | {wl} | {p} | {pred} |")
    return "\n".join(lines) + "\n"


HEADLINE_PREDICTORS = ("ii_onset_quotient", "ii_onset_quotient_noc", "ii_onset_raw", "constant_oscillation",
                       "ii_spike_quotient", "ii_spike_quotient_noc", "ii_spike_raw",
                       "sharpness_2/eta", "constant_spike", "i_drop_quotient", "i_drop_raw", "escape_linearised",
                       "constant_drop")


def headline_table(summary: dict, predictors=HEADLINE_PREDICTORS) -> str:
    """Text table (architecture × predictor): ρ, median relative error, hit rate, n, predictive."""
    from ..stats import text_table

    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    rows = []
    for arch, st in summary["per_architecture"].items():
        for name in predictors:
            s = st[name]
            rows.append([arch, name, s["event"], f(s["spearman"]), f(s["median_rel_error"]), f(s["hit_rate"]),
                         str(s["n"]), f"{s['false']}/{s['missed']}",
                         "-" if s["predictive"] is None else ("yes" if s["predictive"] else "no")])
    return text_table(["arch", "predictor", "event", "rho", "med rel err", "hit", "n", "false/missed", "predictive"],
                      rows)


def write_reports(out: str, summary: dict, rows: list) -> None:
    """``statistics.json``, ``statistics.md``, ``rows.json`` (the table without series) and ``headline.md``."""
    atomic_json(os.path.join(out, "statistics.json"), summary)
    atomic_json(os.path.join(out, "rows.json"), [{k: v for k, v in r.items() if k != "_fmt"} for r in rows])
    with open(os.path.join(out, "statistics.md"), "w") as fh:
        fh.write(statistics_markdown(summary))
        if summary.get("gauge"):
            fh.write("\n## Gauge runs (medians over seeds; steps)\n\n" + gauge_markdown(summary))
    with open(os.path.join(out, "headline.md"), "w") as fh:
        fh.write(headline(summary) + "\n")


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    from .plots import draw

    return draw(run_dir, doc, formats)
