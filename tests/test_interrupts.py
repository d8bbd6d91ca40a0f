"""Interrupts through the real command line (issue 17): ``qshock solve``, ``train`` and
``experiment`` started as subprocesses and sent SIGINT (or SIGTERM) while importing, compiling,
stepping and writing. Each must exit 130 (143), print exactly one line ``qshock CMD:
interrupted``, never crash (no negative exit code: the old segfault was -11), and leave no
output file, no temporary file, and no run directory without resumable state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

LONG_SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "8192", "--ic", "sin(x)", "--t1", "60",
              "--save-every", "1", "--max-steps", "10000000", "--quiet"]
SHORT_SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "0.5",
               "--quiet"]
TRAIN = ["train", "--model", "mlp", "--data", "teacher", "--lr", "0.05", "--batch", "16", "--width", "8",
         "--lanczos-iters", "4", "--no-quotient-sharpness", "--quiet"]


def _start(argv, **env):
    e = dict(os.environ, PYTHONUNBUFFERED="1", **env)
    return subprocess.Popen([sys.executable, "-m", "qshock.experiments.cli.main", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)


def _interrupt(proc, after=None, until=None, sig=signal.SIGINT, timeout=60.0):
    """Send ``sig`` after ``after`` seconds, or as soon as ``until()`` is true; returns (code, stderr)."""
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"finished before the signal (exit {proc.returncode}): {err}")
        if (after is not None and time.monotonic() - t0 >= after) or (until is not None and until()):
            break
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError("condition for the signal never came")
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def _temps(folder):
    return [os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs if f.startswith(".tmp-")]


def _one_line(err, prog, word="interrupted"):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: {word}"), err
    assert "Traceback" not in err and "Exception ignored" not in err


@pytest.mark.parametrize("after", [0.5, 2.0, 5.0])
def test_solve_interrupted(tmp_path, after):
    """While importing (0.5 s), compiling (2 s) and stepping (5 s): exit 130, no file."""
    out = tmp_path / "a.nc"
    code, err = _interrupt(_start(LONG_SOLVE + ["--out", str(out)]), after=after)
    assert code == 130, err
    _one_line(err, "qshock solve")
    assert os.listdir(tmp_path) == []


def test_solve_interrupted_while_writing_keeps_the_old_file(tmp_path):
    """SIGINT while the NetCDF temporary is being written: no temporary left, the previous file intact."""
    out = tmp_path / "a.nc"
    out.write_bytes(b"previous result")
    proc = _start(SHORT_SOLVE + ["--out", str(out)], QSHOCK_TEST_WRITE_DELAY="30")
    code, err = _interrupt(proc, until=lambda: bool(_temps(tmp_path)), timeout=120)
    assert code == 130, err
    _one_line(err, "qshock solve")
    assert out.read_bytes() == b"previous result" and _temps(tmp_path) == []


def test_solve_interrupted_while_writing_new_file(tmp_path):
    out = tmp_path / "new.nc"
    proc = _start(SHORT_SOLVE + ["--out", str(out)], QSHOCK_TEST_WRITE_DELAY="30")
    code, err = _interrupt(proc, until=lambda: bool(_temps(tmp_path)), timeout=120)
    assert code == 130 and os.listdir(tmp_path) == [], err


def test_solve_terminated_and_wall_limit(tmp_path):
    code, err = _interrupt(_start(LONG_SOLVE + ["--out", str(tmp_path / "a.nc")]), after=2.0, sig=signal.SIGTERM)
    assert code == 143, err
    _one_line(err, "qshock solve", "terminated")
    r = subprocess.run([sys.executable, "-m", "qshock.experiments.cli.main", *LONG_SOLVE, "--max-wall", "3",
                        "--out", str(tmp_path / "b.nc")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 4, r.stderr
    _one_line(r.stderr, "qshock solve", "stopped after --max-wall 3 s")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("after", [0.5, 3.0])
def test_train_interrupted_early(tmp_path, after):
    """Before the first checkpoint (importing, compiling): exit 130, no run directory left."""
    run = tmp_path / "run"
    code, err = _interrupt(_start(TRAIN + ["--steps", "200000", "--max-steps", "200000", "--out", str(run)]),
                           after=after)
    assert code == 130, err
    _one_line(err, "qshock train")
    assert not run.exists()


@pytest.mark.slow
def test_train_interrupted_then_resumed_loses_nothing(tmp_path):
    """Interrupted after a checkpoint: the directory stays, --resume finishes it, and the metrics equal
    those of an uninterrupted run."""
    args = ["--steps", "40", "--sharpness-every", "4", "--checkpoint-every", "4"]
    run = tmp_path / "run"
    proc = _start(TRAIN + args + ["--out", str(run)])
    ck = run / "checkpoints"
    code, err = _interrupt(proc, until=lambda: ck.is_dir() and any(f.endswith(".sha256") for f in os.listdir(ck)),
                           timeout=300)
    assert code == 130, err
    _one_line(err, "qshock train")
    assert "--resume" in err and _temps(run) == []
    r = subprocess.run([sys.executable, "-m", "qshock.experiments.cli.main", *TRAIN, *args, "--out", str(run),
                        "--resume"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    ref = tmp_path / "ref"
    r = subprocess.run([sys.executable, "-m", "qshock.experiments.cli.main", *TRAIN, *args, "--out", str(ref)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    import xarray as xr

    a, b = xr.load_dataset(run / "metrics.nc"), xr.load_dataset(ref / "metrics.nc")
    assert np.array_equal(a["loss"].values, b["loss"].values)
    assert json.loads((run / "config.json").read_text())["config"]["steps"] == 40


@pytest.mark.parametrize("after", [1.0, 6.0])
def test_experiment_interrupted(tmp_path, after):
    out = tmp_path / "study"
    code, err = _interrupt(_start(["experiment", "eos", "--quick", "--out", str(out)]), after=after)
    assert code == 130, err
    _one_line(err, "qshock experiment")
    if out.exists():  # only with a finished item, kept for --resume
        assert any(f.endswith(".json") for f in os.listdir(out / "items")), os.listdir(out)
        assert _temps(out) == []
