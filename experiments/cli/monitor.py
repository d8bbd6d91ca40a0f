"""``qshock monitor RUN_DIR [--follow]``: live view of a training run's instability forecasts.

Reads ``RUN_DIR/observations.jsonl`` (written by ``qshock train --monitor`` as it runs; see
:mod:`qshock.experiments.monitor.runlog`) or, for a run trained without ``--monitor``, forecasts
from its stored observations (``metrics.nc``, or the newest checkpoint while it runs). Prints one
progress line per observation and a warning line when an instability is forecast; with
``--follow`` keeps polling (every ``--poll`` seconds) until the run writes its end marker or
``metrics.nc``, or until interrupted (exit 130). The figure (loss, η_eff·λ_q against the fold 1 and
the edge 2, warnings as arrows) is rewritten after every batch of new observations, so it is
current on any exit: ``RUN_DIR/figures/monitor.png`` (or ``--figure``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from qshock.errors import QShockInputError

__all__ = ["add_arguments", "run", "progress_line", "warning_line"]


def add_arguments(p) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a qshock train run directory")
    p.add_argument("--follow", action="store_true", help="keep watching until the run ends (Ctrl-C: exit 130)")
    p.add_argument("--poll", type=float, default=0.5, metavar="SECONDS", help="polling interval (default 0.5 s)")
    p.add_argument("--figure", metavar="FILE.png", help="figure path (default RUN_DIR/figures/monitor.png)")
    p.add_argument("--quiet", action="store_true", help="only warning lines")


def progress_line(r: dict) -> str:
    pred = r.get("predicted_step", math.inf)
    nxt = f"next {pred:.0f} ± {r.get('uncertainty', math.nan):.0f} [{r.get('source')}]" if math.isfinite(pred) \
        else "next -"
    return (f"step {int(r['step']):>7d}  seed {int(r.get('seed', 0))}  loss {r.get('loss', math.nan):.4g}  "
            f"λ_q {r.get('lambda_q', math.nan):.4g}  η_eff {r.get('eta_eff', math.nan):.3g}  "
            f"η_eff·λ_q {r.get('ratio', math.nan):.3f} (fold 1, edge 2)  {nxt}")


def warning_line(r: dict) -> str:
    pred = r.get("predicted_step", math.inf)
    when = f"at step {pred:.0f} ± {r.get('uncertainty', math.nan):.0f}, {pred - r['step']:.0f} steps ahead" \
        if math.isfinite(pred) else "now"
    return (f"WARNING seed {int(r.get('seed', 0))} step {int(r['step'])}: instability forecast {when} "
            f"({r.get('source')}; η_eff·λ_q = {r.get('ratio', math.nan):.3f})")


def _check_run_dir(run_dir: str) -> dict:
    if not os.path.exists(run_dir):
        raise QShockInputError(f"RUN_DIR {run_dir}: no such directory")
    if not os.path.isdir(run_dir):
        raise QShockInputError(f"RUN_DIR {run_dir} is a file, not a run directory")
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise QShockInputError(f"RUN_DIR {run_dir} holds no qshock train run (no config.json)")
    try:
        with open(path) as f:
            doc = json.load(f)
        cfg = doc["config"]
        cfg["seeds"], cfg["lr"], cfg["optimizer"]
    except (OSError, ValueError, KeyError, TypeError):
        raise QShockInputError(f"{path} is not a qshock train config.json") from None
    return cfg


class _Source:
    """New observation records of a run directory, however it stores them."""

    def __init__(self, run_dir, cfg):
        from qshock.experiments.monitor.runlog import OBS_FILE

        self.run_dir, self.cfg, self.offset, self.seen, self.ended = run_dir, cfg, 0, 0, False
        self.jsonl = os.path.join(run_dir, OBS_FILE)
        self.ckpt = None

    def poll(self) -> list:
        from qshock.experiments.monitor.runlog import read_records

        if os.path.isfile(self.jsonl):
            recs, self.offset, ended = read_records(self.run_dir, self.offset)
            self.ended = self.ended or ended
            return recs
        return self._from_arrays()

    def _from_arrays(self) -> list:
        from qshock.experiments.monitor.runlog import records_from_run

        done = os.path.isfile(os.path.join(self.run_dir, "metrics.nc"))
        if done:
            from qshock.experiments.lab.runstore import read_metrics

            ds = read_metrics(self.run_dir)
            obs = {k[4:]: ds[k].values for k in ds.data_vars if k.startswith("obs_")}
            sm = {k: ds[k].values for k in ds.data_vars if not k.startswith("obs_")}
            steps = ds.obs_step.values
        else:
            from qshock.experiments.lab.runstore import RunStore

            st = RunStore(self.run_dir)
            cks = st.checkpoints()
            if not cks or cks[-1] == self.ckpt:
                return []
            state = st.load_latest()
            if state is None:
                return []
            self.ckpt = state["path"]
            obs = {k[2:]: state[k] for k in state if k.startswith("o/")}
            sm = {k[2:]: state[k] for k in state if k.startswith("m/")}
            steps = state["obs_steps"]
        recs = records_from_run(self.run_dir, self.cfg, obs, steps, sm)
        self.ended = done
        new = recs[self.seen:]  # forecasts are causal: earlier records do not change as the run grows
        self.seen = len(recs)
        return sorted(new, key=lambda r: (r["step"], r["seed"]))


class _FigureWriter:
    """Redraws the figure in a background thread (a redraw takes seconds on a loaded machine and
    must not delay the next progress line); ``close`` draws the final state in the caller."""

    def __init__(self, path, title):
        import threading

        self.path, self.title, self.latest = path, title, None
        self.lock, self.wake, self.busy = threading.Lock(), threading.Event(), threading.Lock()
        threading.Thread(target=self._loop, daemon=True, name="qshock-monitor-figure").start()

    def request(self, records) -> None:
        with self.lock:
            self.latest = list(records)
        self.wake.set()

    def _draw(self, records):
        from qshock.experiments.monitor.runlog import monitor_figure

        with self.busy:
            monitor_figure(records, self.path, title=self.title)

    def _loop(self):
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                recs, self.latest = self.latest, None
            if recs:
                self._draw(recs)

    def close(self, records) -> None:
        if records:
            self._draw(records)


def run(args) -> int:
    """Entry of ``qshock monitor`` (module docstring)."""
    cfg = _check_run_dir(args.run_dir)
    if not (math.isfinite(args.poll) and args.poll > 0):
        raise QShockInputError(f"--poll must be a positive number of seconds, got {args.poll}")
    fig = args.figure or os.path.join(args.run_dir, "figures", "monitor.png")
    if not fig.endswith(".png"):
        raise QShockInputError(f"--figure must name a .png file, got {fig!r}")
    from qshock.experiments.cli.guard import check_output_dir

    check_output_dir(os.path.dirname(os.path.abspath(fig)), "--figure")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401  (imported before the loop: the first redraw is then quick)

    title = f"{cfg.get('model')}/{cfg.get('data')} {cfg.get('optimizer')} lr {cfg.get('lr')}"
    src, records, figw = _Source(args.run_dir, cfg), [], _FigureWriter(fig, title)
    if args.follow:
        print(f"qshock monitor: following {args.run_dir} (Ctrl-C to stop)", flush=True)
    while True:
        new = src.poll()
        for r in new:
            if not args.quiet:
                print(progress_line(r), flush=True)
            if r.get("warning"):
                print(warning_line(r), flush=True)
        records += new
        if new and args.follow:
            figw.request(records)
        if not args.follow or src.ended:
            break
        time.sleep(args.poll)
    figw.close(records)
    if not records:
        print(f"qshock monitor: {args.run_dir} has no observations yet", file=sys.stderr)
        return 0
    nw = sum(bool(r.get("warning")) for r in records)
    print(f"{len(records)} observations, {nw} with a warning; figure {fig}")
    return 0
