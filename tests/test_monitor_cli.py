"""``qshock monitor`` and ``qshock train --monitor`` through the real entry point (subprocesses)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

QSHOCK = [sys.executable, "-m", "qshock.experiments.cli.main"]
ENV = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg")


def _run(args, **kw):
    return subprocess.run(QSHOCK + args, capture_output=True, text=True, env=ENV, timeout=600, **kw)


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_monitor_bad_run_dir_one_line(tmp_path, make):
    d = tmp_path / "run"
    if make == "file":
        d.write_text("x")
    elif make == "empty":
        d.mkdir()
    r = _run(["monitor", str(d)])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qshock monitor: error:") and str(d) in lines[0]


def test_train_monitor_writes_forecasts(tmp_path):
    """--monitor: one forecast per observation and seed in forecasts.nc, equal to observations.jsonl,
    η_eff·λ_q recomputed from metrics.nc (η/‖w‖² × per-group sphere sharpness, max over groups)."""
    from qshock.experiments.lab.runstore import read_metrics
    from qshock.experiments.monitor import SOURCES
    from qshock.experiments.monitor.runlog import read_forecasts, read_records

    out = tmp_path / "run"
    r = _run(["train", "--model", "mlp", "--data", "digits", "--norm", "--width", "4", "--depth", "1", "--lr", "0.1",
              "--weight-decay", "0.01", "--batch", "32", "--steps", "20", "--sharpness-every", "5", "--seeds", "2",
              "--lanczos-iters", "4", "--n-eigs", "1", "--dtype", "float64", "--out", str(out), "--monitor", "--quiet"])
    assert r.returncode == 0, r.stderr
    fc = read_forecasts(str(out / "forecasts.nc"))
    recs, _, ended = read_records(str(out))
    assert ended and len(recs) == len(fc["step_made"]) == 2 * 5
    assert sorted(set(fc["step_made"].tolist())) == [0, 5, 10, 15, 20]
    assert set(fc["source"].tolist()) <= set(SOURCES) | {"none"}
    fin = np.isfinite(fc["step_predicted"])
    assert np.all(fc["step_predicted"][fin] >= fc["step_made"][fin])
    ds = read_metrics(str(out))
    for j, rec in enumerate(recs):
        i, k = int(rec["seed"]), int(rec["step"])
        o = list(ds.obs_step.values).index(k)
        ls = ds.obs_group_sharpness.values[i, o]
        x = ds.grp_sq.values[i, min(k, 19)] if k < 20 else None
        if x is not None:
            assert rec["ratio"] == pytest.approx(np.max(0.1 * ls / x), rel=1e-10)
        assert fc["ratio"][j] == pytest.approx(rec["ratio"], rel=1e-12)
    m = _run(["monitor", str(out)])
    assert m.returncode == 0, m.stderr
    assert sum(line.startswith("step ") for line in m.stdout.splitlines()) == 10
    assert os.path.isfile(out / "figures" / "monitor.png")
    # a run without observations.jsonl is forecast from metrics.nc: the same η_eff·λ_q (steps < 20)
    live = [line for line in m.stdout.splitlines() if line.startswith("step ") and not line.startswith("step      20")]
    os.rename(out / "observations.jsonl", tmp_path / "obs.jsonl")
    m2 = _run(["monitor", str(out)])
    assert m2.returncode == 0, m2.stderr
    again = [line for line in m2.stdout.splitlines() if line.startswith("step ") and not line.startswith("step      20")]
    ratio = lambda line: float(line.split("η_eff·λ_q ")[1].split()[0])  # noqa: E731
    assert sorted(map(ratio, again)) == sorted(map(ratio, live)) and len(live) == 8


WRITER = r"""
import json, os, sys, time
from qshock.experiments.monitor.runlog import append_records
d, n, dt = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
for k in range(n):
    time.sleep(dt)
    append_records(d, [dict(step=10 * k, seed=0, loss=1.0, lambda_q=5.0, eta_eff=0.1, ratio=0.5 + 0.5 * k,
                            predicted_step=10 * k + 30, uncertainty=3.0, source="step-map", kind="spike",
                            warning=k >= 2, wall=time.time())])
append_records(d, [{"end": True}])
"""


def _config(d):
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"config": {"seeds": [0], "lr": 0.1, "optimizer": "sgd", "model": "mlp",
                                                          "data": "digits", "momentum": 0.9, "weight_decay": 0.0}}))


def test_follow_shows_each_observation_within_one_interval(tmp_path):
    """Another process appends an observation every 2 s; ``--follow`` prints each within 2 s."""
    d, dt, n = tmp_path / "run", 2.0, 4
    _config(d)
    fol = subprocess.Popen(QSHOCK + ["monitor", str(d), "--follow", "--poll", "0.1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=ENV)
    assert fol.stdout.readline().startswith("qshock monitor: following")
    wr = subprocess.Popen([sys.executable, "-c", WRITER, str(d), str(n), str(dt)], env=ENV)
    seen = []
    for line in fol.stdout:
        if line.startswith("step "):
            seen.append((int(line.split()[1]), time.time()))
        if line.startswith(f"{n} observations"):
            break
    assert wr.wait(60) == 0 and fol.wait(60) == 0
    walls = {int(r["step"]): r["wall"] for r in map(json.loads, open(d / "observations.jsonl")) if "step" in r}
    assert [s for s, _ in seen] == [0, 10, 20, 30]
    for s, t in seen:
        assert 0 <= t - walls[s] < dt, (s, t - walls[s])
    assert os.path.isfile(d / "figures" / "monitor.png")


def test_follow_interrupt_exits_130(tmp_path):
    d = tmp_path / "run"
    _config(d)
    fol = subprocess.Popen(QSHOCK + ["monitor", str(d), "--follow", "--poll", "0.1"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=ENV)
    assert fol.stdout.readline().startswith("qshock monitor: following")
    time.sleep(0.3)
    fol.send_signal(signal.SIGINT)
    assert fol.wait(60) == 130
    err = fol.stderr.read().strip().splitlines()
    assert err and err[-1] == "qshock monitor: interrupted"
