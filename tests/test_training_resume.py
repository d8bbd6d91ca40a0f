"""Kill-and-resume: a `qshock train` process killed with SIGKILL and continued with --resume
(after its newest checkpoint is also corrupted) ends with metrics identical to an
uninterrupted run."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from qshock.experiments.lab.runstore import RunStore, read_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = ["--model", "mlp", "--data", "digits", "--width", "16", "--depth", "1", "--lr", "0.2", "--batch", "32",
        "--steps", "800", "--seeds", "2", "--sharpness-every", "10", "--checkpoint-every", "20",
        "--lanczos-iters", "20", "--dtype", "float64", "--quiet"]


def _env(tmp_path):
    env = dict(os.environ)
    env.update(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jaxcache"), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0", PYTHONPATH=ROOT)
    return env


def _cmd(out, *extra):
    return [sys.executable, "-m", "qshock.experiments.cli.train", *ARGS, "--out", str(out), *extra]


@pytest.mark.slow  # three fresh processes (~30 s CPU); the in-process variant is in test_training.py
def test_sigkill_then_resume_gives_identical_metrics(tmp_path):
    env = _env(tmp_path)
    subprocess.run(_cmd(tmp_path / "full"), env=env, cwd=ROOT, check=True, timeout=600)
    run = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(run), env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    store = RunStore(str(run))
    t0 = time.time()
    while len([p for p in store.checkpoints() if store.verify(p)]) < 3:
        assert proc.poll() is None, "run finished before it could be killed"
        assert time.time() - t0 < 300
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "metrics.nc").exists()
    cks = store.checkpoints()
    killed_at = int(os.path.basename(cks[-1])[5:13])
    assert killed_at < 800
    with open(cks[-1], "r+b") as f:  # corrupt the newest: resume must fall back to the previous
        f.seek(0)
        f.write(b"garbage")
    r = subprocess.run(_cmd(run, "--resume"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "corrupt" in r.stderr
    a, b = read_metrics(str(tmp_path / "full")), read_metrics(str(run))
    assert set(a.data_vars) == set(b.data_vars)
    for k in a.data_vars:
        np.testing.assert_array_equal(a[k].values, b[k].values, err_msg=k)
    assert a.loss.shape == (2, 800)
