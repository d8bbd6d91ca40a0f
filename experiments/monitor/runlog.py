"""The monitor's files in a run directory, and the lab adapter behind ``qshock train --monitor``.

* ``observations.jsonl``: one JSON object per observation and seed (``Forecast.as_dict()`` plus
  ``seed`` and ``wall``, the writer's clock), appended as each observation is made (one
  complete line per write, flushed and fsync-ed; a reader ignores an incomplete last line). The
  last line of a finished run is ``{"end": true}``. ``qshock monitor --follow`` tails it.
* ``forecasts.nc``: every forecast (dimension ``forecast``): ``seed``, ``step_made``,
  ``step_predicted`` (inf: none within the horizon), ``uncertainty``, ``source``, ``kind``,
  ``ratio`` (η_eff·λ_q), ``lambda_q``, ``eta_eff``, ``loss``, ``warning``; written atomically.
* ``figures/monitor.png``: loss, η_eff·λ_q against the fold (1) and the edge (2), and the
  warnings as arrows from the step they were made to the step they predict.

:class:`LabMonitor` feeds the lab trainer's own observations (quotient sharpness, per-group
sphere sharpness, Adam's preconditioned sharpness; ``training.train(on_observe=...)``) into one
:class:`~qshock.experiments.monitor.forecaster.Forecaster` per seed, so the monitor adds no
measurement to a lab run. Its coarse-graining source needs λ_min, which the trainer does not
measure: lab runs forecast with the step-map trend and the periodic-spike law.
"""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np

from qshock.errors import QShockInputError

from .forecaster import Forecaster, Measurement

__all__ = ["OBS_FILE", "FORECASTS_FILE", "append_records", "read_records", "write_forecasts", "read_forecasts",
           "monitor_figure", "LabMonitor", "forecaster_for_config", "records_from_run"]

OBS_FILE = "observations.jsonl"
FORECASTS_FILE = "forecasts.nc"


def _jsonable(v):
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(float(v)) else (None if math.isnan(float(v)) else
                                                          ("inf" if v > 0 else "-inf"))
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def _unjson(v):
    if v is None:
        return math.nan
    if v in ("inf", "-inf"):
        return float(v)
    return v


def append_records(run_dir: str, records) -> None:
    """Append complete JSON lines to ``run_dir/observations.jsonl`` (flush + fsync)."""
    lines = "".join(json.dumps({k: _jsonable(v) for k, v in r.items()}) + "\n" for r in records)
    with open(os.path.join(run_dir, OBS_FILE), "a", encoding="utf-8") as f:
        f.write(lines)
        f.flush()
        os.fsync(f.fileno())


def read_records(run_dir: str, offset: int = 0):
    """(records, new offset, ended) from byte ``offset`` of ``observations.jsonl`` (complete lines only)."""
    path = os.path.join(run_dir, OBS_FILE)
    if not os.path.isfile(path):
        return [], offset, False
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    out, ended = [], False
    for line in data[:end].decode("utf-8", "replace").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if r.get("end"):
            ended = True  # a resumed run appends after an earlier end marker
            continue
        ended = False
        out.append({k: _unjson(v) for k, v in r.items()})
    return out, offset + end, ended


def write_forecasts(path: str, records) -> str:
    """``forecasts.nc`` from observation records (module docstring); atomic."""
    import xarray as xr

    from qshock.experiments.lab.runstore import write_netcdf

    col = lambda k, d=math.nan: np.asarray([r.get(k, d) for r in records])  # noqa: E731
    n = len(records)
    ds = xr.Dataset({
        "seed": ("forecast", col("seed", 0).astype(np.int32)),
        "step_made": ("forecast", col("step", 0).astype(np.int32)),
        "step_predicted": ("forecast", col("predicted_step").astype(float)),
        "uncertainty": ("forecast", col("uncertainty").astype(float)),
        "source": ("forecast", np.asarray([str(r.get("source", "none")) for r in records], dtype=object)),
        "kind": ("forecast", np.asarray([str(r.get("kind", "none")) for r in records], dtype=object)),
        "ratio": ("forecast", col("ratio").astype(float)),
        "lambda_q": ("forecast", col("lambda_q").astype(float)),
        "eta_eff": ("forecast", col("eta_eff").astype(float)),
        "loss": ("forecast", col("loss").astype(float)),
        "warning": ("forecast", col("warning", False).astype(np.int8)),
    }, coords={"forecast": np.arange(n, dtype=np.int32)},
        attrs={"title": "qshock monitor forecasts", "Conventions": "CF-1.8",
               "comment": "step_predicted = inf: no instability within the horizon; ratio = eta_eff * lambda_q "
                          "(fold at 1, edge at 2)"})
    ds["step_predicted"].attrs.update(long_name="forecast step of the next instability", units="1")
    ds["step_made"].attrs.update(long_name="step at which the forecast was made", units="1")
    return write_netcdf(ds, path)


def read_forecasts(path: str) -> dict:
    """``forecasts.nc`` as a dict of numpy arrays."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return {k: np.asarray(ds[k].values) for k in ds.variables}


def monitor_figure(records, path: str, title: str = "") -> str:
    """Loss, η_eff·λ_q against the edges 1 and 2, warnings as arrows (module docstring); atomic."""
    import matplotlib.pyplot as plt

    from qshock.experiments.lab.plotting import COLORS, figure
    from qshock.experiments.lab.runstore import atomic_savefig

    fig, (a0, a1) = figure(nrows=2, sharex=True, figsize=(7, 5.5))
    seeds = sorted({int(r.get("seed", 0)) for r in records})
    for i, s in enumerate(seeds):
        rs = [r for r in records if int(r.get("seed", 0)) == s]
        k = np.asarray([r["step"] for r in rs], float)
        c = COLORS[i % len(COLORS)]
        loss = np.asarray([r.get("loss", math.nan) for r in rs], float)
        a0.plot(k, np.where(loss > 0, loss, np.nan), color=c, lw=0.9, label=f"seed {s}")
        a1.plot(k, np.asarray([r.get("ratio", math.nan) for r in rs], float), "o-", ms=2, color=c, lw=0.9)
        for j, r in enumerate(w for w in rs if w.get("warning") and math.isfinite(w.get("predicted_step", math.inf))):
            y = 0.15 + 0.12 * (j % 5) + 0.03 * i  # staggered rows below the fold line
            if r["predicted_step"] > r["step"]:
                a1.annotate("", xy=(r["predicted_step"], y), xytext=(r["step"], y),
                            arrowprops=dict(arrowstyle="->", lw=0.6, color=c))
            else:  # "at the edge now": a tick at the step
                a1.plot([r["step"]], [y], "|", color=c, ms=5)
    a0.set(ylabel="loss", yscale="log", title=title)
    if seeds:
        a0.legend(fontsize=7)
    a1.axhline(1.0, color="0.5", ls=":", lw=0.8, label="fold (η_eff·λ_q = 1)")
    a1.axhline(2.0, color="k", ls="--", lw=0.8, label="edge (η_eff·λ_q = 2)")
    a1.set(xlabel="step", ylabel="η_eff · λ_q")
    a1.set_title("warnings: arrows from the step made to the step forecast (| : at the edge now)", fontsize=7)
    a1.set_ylim(bottom=0.0)
    a1.legend(fontsize=7)
    atomic_savefig(fig, path, bbox_inches="tight", dpi=110)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ lab runs
def forecaster_for_config(cfg, **kw) -> Forecaster:
    """A Forecaster with the optimiser, momentum and weight decay of a lab ``TrainConfig`` (or its dict)."""
    get = (lambda k: cfg[k]) if isinstance(cfg, dict) else (lambda k: getattr(cfg, k))  # noqa: E731
    return Forecaster(get("optimizer"), beta=float(get("momentum")), weight_decay=float(get("weight_decay")), **kw)


def _lab_measurement(step, lr, obs, i, x, gt2, grad_norm):
    val = lambda k: float(np.asarray(obs[k][i]).reshape(-1)[0]) if k in obs else math.nan  # noqa: E731
    ls = tuple(float(v) for v in np.asarray(obs["group_sharpness"][i]).reshape(-1)) if "group_sharpness" in obs else ()
    return Measurement(int(step), float(lr), loss=val("train_loss"), lam_q=val("quotient_sharpness"),
                       lam_raw=val("sharpness"), lam_pre=val("precond_sharpness"), grad_norm=float(grad_norm),
                       x=tuple(float(v) for v in x)[:len(ls)], gt2=tuple(float(v) for v in gt2)[:len(ls)], lam_s=ls)


class LabMonitor:
    """``training.train(on_observe=LabMonitor(...))``: forecasts per seed from the trainer's observations.

    ``emit(line)`` receives one warning line when a seed's forecast turns into a warning."""

    def __init__(self, cfg, trainer, run_dir: str | None = None, emit=print, **forecast_kw):
        self.cfg, self.run_dir, self.emit = cfg, run_dir, emit
        g = trainer.groups
        self.rows = np.zeros(0, int) if g is None else np.nonzero(np.asarray(g["scale"], bool))[0]
        self.Q = None if g is None else np.asarray(g["Q"])[self.rows]
        self.fc = {int(s): forecaster_for_config(cfg, **forecast_kw) for s in cfg.seeds}
        self.records: list = []
        self._warned = {int(s): False for s in cfg.seeds}

    def __call__(self, step, theta, opt_state, obs, metrics):
        th = np.asarray(theta)
        lr = float(np.asarray(opt_state.hyperparams["learning_rate"]).reshape(-1)[0])
        new = []
        for i, s in enumerate(self.cfg.seeds):
            x = self.Q @ (th[i] ** 2) if self.Q is not None and self.Q.size else np.zeros(0)
            gt2, gn = np.full(x.shape, math.nan), math.nan
            if metrics is not None:
                gn = float(np.asarray(metrics["grad_norm"])[i, -1])
                if "grp_sq" in metrics and x.size:  # ‖g̃‖² = x ‖g‖², median over the chunk
                    sq = np.asarray(metrics["grp_sq"])[i][:, self.rows]
                    gt2 = np.median(sq * np.asarray(metrics["grp_gsq"])[i][:, self.rows], axis=0)
            f = self.fc[int(s)].observe(_lab_measurement(step, lr, obs, i, x, gt2, gn))
            rec = dict(f.as_dict(), seed=int(s), wall=time.time())
            new.append(rec)
            if f.warning and not self._warned[int(s)]:
                self.emit(f"warning: seed {s}: instability forecast at step {f.predicted_step:.0f} "
                          f"± {f.uncertainty:.0f} ({f.source}), made at step {f.step}; η_eff·λ_q = {f.ratio:.3f}")
            self._warned[int(s)] = f.warning
        self.records += new
        if self.run_dir:
            append_records(self.run_dir, new)

    def finish(self) -> str | None:
        """Write ``forecasts.nc`` and the end marker; returns the forecasts path."""
        if not self.run_dir:
            return None
        every = read_records(self.run_dir)[0]  # all observations, those before a --resume included
        path = write_forecasts(os.path.join(self.run_dir, FORECASTS_FILE), every)
        append_records(self.run_dir, [{"end": True}])
        return path


def records_from_run(run_dir: str, cfg: dict, obs: dict, obs_steps, step_metrics: dict, **forecast_kw) -> list:
    """Observation records of a stored lab run (metrics arrays or a checkpoint), forecast causally.

    ``obs[k]`` (K, n_obs, ...), ``step_metrics[k]`` (K, steps, ...); x at observation k is the logged
    ‖w‖² before update k (the last observation uses the last logged step)."""
    seeds = list(cfg["seeds"])
    lrs = np.asarray(step_metrics.get("lr", np.full((len(seeds), 1), cfg["lr"])), float)
    out = []
    for i, s in enumerate(seeds):
        fc = forecaster_for_config(cfg, **forecast_kw)
        sq = np.asarray(step_metrics["grp_sq"][i], float) if "grp_sq" in step_metrics else None
        gsq = np.asarray(step_metrics["grp_gsq"][i], float) if "grp_gsq" in step_metrics else None
        n = lrs.shape[1]
        G = int(np.prod(np.shape(obs["group_sharpness"])[2:])) if "group_sharpness" in obs else 0
        if G and (sq is None or sq.shape[1] != G):
            raise QShockInputError(f"{run_dir}: the group logs (grp_sq) do not match the per-group sharpness")
        for j, k in enumerate(np.asarray(obs_steps, int)):
            o = {key: v[i:i + 1, j] for key, v in obs.items()}
            kk = min(int(k), n - 1)
            x = sq[kk] if G else np.zeros(0)
            gt2 = np.median(sq[max(0, kk - 10):kk + 1] * gsq[max(0, kk - 10):kk + 1], axis=0) if G else x
            gn = float(step_metrics["grad_norm"][i][kk]) if "grad_norm" in step_metrics and n else math.nan
            m = _lab_measurement(int(k), float(lrs[i, kk]) if n else cfg["lr"], o, 0, x, gt2, gn)
            out.append(dict(fc.observe(m).as_dict(), seed=int(s)))
    return out
