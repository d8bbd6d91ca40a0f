"""The command line checked from outside (helper hcli): inputs, directories and files that no issue
names, each found to misbehave (internal error, traceback, wrong exit code, clobbered files) and
fixed. Every refusal must be exit 2 with exactly one line on stderr naming the problem, before
any work and with nothing left behind.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from qshock.experiments.cli.main import main

SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "0.5"]


def _listing(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder) for r, ds, fs in os.walk(folder) for f in fs + ds)


def _refused(argv, capsys, tmp_path, needle, code=2):
    """``main(argv)`` exits ``code`` with one stderr line containing ``needle``; ``tmp_path`` unchanged."""
    before = _listing(tmp_path)
    capsys.readouterr()
    assert main([a.replace("{t}", str(tmp_path)) for a in argv]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "internal error" not in err, err
    assert _listing(tmp_path) == before
    return lines[0]


# ------------------------------------------------------------------ solve: extreme numbers
@pytest.mark.parametrize("argv,needle", [
    # the step estimate was infinite and passed the --max-steps check: OverflowError in the progress bar
    (SOLVE[:-1] + ["1e308"], "about inf time steps needed (CFL 0.5, dt = 0.0"),
    # cell widths whose square under- or overflows: ZeroDivisionError / OverflowError in the CFL step
    (["solve", "--equation", "burgers", "--domain", "0:1e-300", "--n", "64", "--ic", "sin(x)", "--t1", "1"],
     "cell width"),
    (["solve", "--equation", "burgers", "--domain", "1e300:1.0000001e300", "--n", "64", "--ic", "sin(x)", "--t1",
      "1"], "cell width"),
    (["solve", "--equation", "burgers", "--domain", "-1e308:1e308", "--n", "64", "--ic", "sin(x)", "--t1", "1"],
     "cell width"),
    (SOLVE + ["--max-steps", "0"], "--max-steps must be a positive integer"),
    # H NaN for p < 0: the estimate was inf, and the message blamed --t1 / --max-steps ("dt = 0")
    (["solve", "--equation", "hj", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "1",
      "--hamiltonian", "sqrt(px)"], "no finite stable time step"),
])
def test_solve_extreme_numbers_refused(argv, needle, tmp_path, capsys):
    _refused(argv + ["--out", "{t}/x.nc"], capsys, tmp_path, needle)
    _refused(["shocks", *argv[1:], "--json"], capsys, tmp_path, needle)


def test_grid_cell_width_bounds():
    from qshock.errors import QShockInputError
    from qshock.solver.grid import MAX_CELL, MIN_CELL, Grid

    Grid((0.0,), (64 * MIN_CELL,), (64,))  # the bounds themselves are accepted
    Grid((0.0,), (64 * MAX_CELL,), (64,))
    for hi in (0.5 * 64 * MIN_CELL, 2.0 * 64 * MAX_CELL):
        with pytest.raises(QShockInputError, match="cell width"):
            Grid((0.0,), (hi,), (64,))


def _train_run(folder):
    """A directory that looks like a finished ``qshock train`` run (its config.json)."""
    os.makedirs(folder)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"config": {"model": "mlp", "steps": 4, "seeds": [0]}, "versions": {}}, f)


# ------------------------------------------------------------------ experiment / verify: output folders
@pytest.mark.parametrize("resume", [False, True])
def test_experiment_refuses_a_train_run_directory(resume, tmp_path, capsys):
    """The study wrote its config.json over the run's (the run could no longer be resumed or drawn)."""
    _train_run(tmp_path / "run")
    before = (tmp_path / "run" / "config.json").read_text()
    _refused(["experiment", "eos", "--quick", "--out", "{t}/run"] + (["--resume"] if resume else []), capsys,
             tmp_path, "holds a qshock train run")
    assert (tmp_path / "run" / "config.json").read_text() == before


@pytest.mark.parametrize("resume", [False, True])
def test_experiment_refuses_another_study_directory(resume, tmp_path, capsys):
    (tmp_path / "st" / "items").mkdir(parents=True)
    (tmp_path / "st" / "config.json").write_text(json.dumps({"study": "catapult", "params": {}}))
    _refused(["experiment", "eos", "--quick", "--out", "{t}/st"] + (["--resume"] if resume else []), capsys,
             tmp_path, "holds study 'catapult', not 'edge-of-stability'")


def test_empty_output_names_refused(tmp_path, capsys, monkeypatch):
    """``--out ''`` ran the full study into runs/NAME; ``--figures ''`` was ignored."""
    monkeypatch.chdir(tmp_path)
    _refused(["experiment", "eos", "--quick", "--out", ""], capsys, tmp_path, "--out needs a directory name")
    _refused(["verify", "--quick", "--figures", ""], capsys, tmp_path, "--figures needs a directory name")


# ------------------------------------------------------------------ warnings: one line
def test_solver_warning_is_one_line(tmp_path, capsys):
    """The spectral ResolutionWarning came out as Python's two lines (file:line and the source line)."""
    argv = SOLVE[:-1] + ["2", "--scheme", "spectral", "--out", str(tmp_path / "s.nc")]
    assert main(argv) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("qshock solve: warning: spectral solve under-resolved") and ".py:" not in lines[0]


# ------------------------------------------------------------------ plot: files without values
def test_plot_refuses_files_without_values(tmp_path, capsys):
    import xarray as xr

    xr.Dataset({"u": (("t", "x"), np.zeros((0, 4)))}, coords={"t": np.zeros(0), "x": np.arange(4.0)}).to_netcdf(
        tmp_path / "empty.nc")  # was an internal IndexError
    xr.Dataset({"u": (("t", "x"), np.full((2, 4), np.nan))}, coords={"t": [0.0, 1.0], "x": np.arange(4.0)}).to_netcdf(
        tmp_path / "nan.nc")  # was drawn as an empty figure
    _refused(["plot", "{t}/empty.nc"], capsys, tmp_path, "holds no values of u")
    _refused(["plot", "{t}/nan.nc"], capsys, tmp_path, "u has no finite value")


# ------------------------------------------------------------------ train: integer flags
@pytest.mark.parametrize("extra,needle", [
    (["--seed", "99999999999"], "--seed must be an integer in [0, 2147483647]"),  # was OverflowError (int32 key)
    (["--seed", "-1"], "--seed must be an integer in [0, 2147483647]"),
    (["--depth", "0"], "--depth must be >= 1"),  # was "Need at least one array to concatenate."
    (["--model", "transformer", "--data", "sequence", "--heads", "0"], "--heads must be >= 1"),  # ZeroDivisionError
    (["--model", "transformer", "--data", "sequence", "--heads", "-2"], "--heads must be >= 1"),  # MLIRError
])
def test_train_integer_flags_refused(extra, needle, tmp_path, capsys):
    argv = ["train", "--model", "mlp", "--data", "digits", "--lr", "0.1", "--batch", "8", "--steps", "2"]
    _refused(argv + extra + ["--out", "{t}/run"], capsys, tmp_path, needle)


# ------------------------------------------------------------------ solve --method imex in 1-D
def test_imex_1d_against_cole_hopf(tmp_path, capsys):
    """``--method imex`` on any 1-D periodic grid failed ("multiple indices are not supported for 0d
    arrays", exit 2), and its step estimate used the explicit viscous limit (so a large ν, the case
    imex is for, was refused by --max-steps)."""
    import xarray as xr

    from qshock.solver.exact import cole_hopf_hj_torus

    hj = ["solve", "--equation", "hj", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "1", "--quiet"]
    assert main(hj + ["--nu", "0.5", "--method", "imex", "--out", str(tmp_path / "i.nc")]) == 0
    ds = xr.load_dataset(tmp_path / "i.nc")
    exact = np.asarray(cole_hopf_hj_torus(np.sin, (64,), (2 * np.pi,), 1.0, 0.5))
    assert np.max(np.abs(ds["u"].values[-1] - exact)) < 1e-3  # Strang splitting at the advective step
    assert int(ds.attrs["n_steps"]) < 40  # explicit SSP-RK3 needs about 290 steps here
    capsys.readouterr()
    assert main(hj + ["--nu", "1e4", "--method", "imex", "--out", str(tmp_path / "big.nc")]) == 0  # ~5e6 explicit
    u = xr.load_dataset(tmp_path / "big.nc")["u"].values[-1]
    assert np.ptp(u) < 1e-12 and abs(u.mean()) < 1e-4  # flattened at once; the exact mean is -1/(8 nu)


# ------------------------------------------------------------------ interrupt message
_INTERRUPT_SCRIPT = """
import os, signal, sys, time
from qshock.experiments.cli import guard
guard.install()  # as the console script: before numpy starts its threads
from qshock.experiments.lab.runstore import track_output
guard.set_prog(sys.argv[1])
track_output(sys.argv[2])
os.kill(os.getpid(), signal.SIGINT)
time.sleep(30)
"""


@pytest.mark.parametrize("prog,hint", [("qshock figures", False), ("qshock monitor", False), ("qshock train", True),
                                       ("qshock experiment", True)])
def test_interrupt_resume_hint_only_for_resumable_commands(prog, hint, tmp_path):
    """``qshock figures RUN_DIR`` interrupted said "continue it with --resume" (figures has no --resume)."""
    import subprocess
    import sys

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "ckpt-00000004.sha256").write_text("0" * 64)
    r = subprocess.run([sys.executable, "-c", _INTERRUPT_SCRIPT, prog, str(run)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 130 and r.stderr.startswith(f"{prog}: interrupted"), r.stderr
    assert ("--resume" in r.stderr) == hint and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (run / "checkpoints" / "ckpt-00000004.sha256").exists()  # the run itself is kept either way


# ------------------------------------------------------------------ outputs
def test_shocks_out_burgers_file_has_p(tmp_path, capsys):
    """``qshock shocks --out`` wrote Burgers files with ``u`` only (DESIGN.md: ``u`` and ``p`` for the
    Burgers form; ``qshock solve`` has both); the file is otherwise the solve's, plus the shock times."""
    import xarray as xr

    assert main(["shocks", *SOLVE[1:-1], "1.5", "--out", str(tmp_path / "s.nc"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout is the JSON document only
    ds = xr.load_dataset(tmp_path / "s.nc")
    assert {"u", "p"} <= set(ds.data_vars) and ds["p"].dims == ds["u"].dims == ("t", "x")
    assert np.array_equal(ds["p"].values, ds["u"].values)  # Burgers: the field is the momentum p = du
    assert float(ds.attrs["predicted_shock_time"]) == pytest.approx(doc["predicted"]["time"]) == pytest.approx(1.0)
    assert abs(float(ds.attrs["detected_shock_time"]) - 1.0) < 0.05  # t* = 1 for sin x


# ------------------------------------------------------------------ small refusals
def test_small_refusals(tmp_path, capsys):
    (tmp_path / "out5.toml").write_text('equation = "burgers"\ndomain = "0:2*pi"\nn = 64\nic = "sin(x)"\n'
                                        't1 = 0.5\nout = 5\n')
    # was "expected str, bytes or os.PathLike object, not int" (no flag, no file named)
    _refused(["solve", "--config", "{t}/out5.toml"], capsys, tmp_path, "out5.toml: out must be a file name")
    for empty in (",", ""):  # solved silently with no output times asked for
        _refused(SOLVE + ["--times", empty, "--out", "{t}/x.nc"], capsys, tmp_path, "gives no time")


def test_experiment_seeds_bounded_before_any_work(tmp_path, capsys):
    """``--seeds 100000000`` grew to 12 GB of memory planning items before it computed one."""
    import time

    t0 = time.process_time()
    _refused(["experiment", "eos", "--seeds", "100000000", "--out", "{t}/st"], capsys, tmp_path,
             "--seeds must be between 1 and 10000")
    for k in (0, 100000000):  # seeds from --config: the same bound (0 said "got None")
        (tmp_path / "s.toml").write_text(f"seeds = {k}\n")
        _refused(["experiment", "absorbing-state", "--config", "{t}/s.toml", "--out", "{t}/st"], capsys, tmp_path,
                 f"--config: seeds must be between 1 and 10000, got {k}")
    assert time.process_time() - t0 < 5.0


def test_out_of_memory_is_one_clear_line(tmp_path, capsys, monkeypatch):
    """``qshock train --seeds 100000`` ended as "internal error (JaxRuntimeError: RESOURCE_EXHAUSTED ...)",
    exit 1, after 27 s and 7 GB (not run here: the same exception is raised in place of the command)."""
    from qshock.experiments.cli import main as cli

    class JaxRuntimeError(RuntimeError):
        pass

    def oom(args):
        raise JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 326355631880 bytes.")

    monkeypatch.setitem(cli.COMMANDS, "list", oom)
    line = _refused(["list", "studies"], capsys, tmp_path, "out of memory (RESOURCE_EXHAUSTED: Out of memory")
    assert "--seeds" in line and "internal error" not in line


# ------------------------------------------------------------------ SIGKILL, then --resume
_TRAIN = ["train", "--model", "mlp", "--data", "teacher", "--lr", "0.05", "--batch", "16", "--width", "8",
          "--lanczos-iters", "4", "--no-quotient-sharpness", "--quiet", "--steps", "40", "--sharpness-every", "4",
          "--checkpoint-every", "4"]


def _killed(argv, ready, timeout=300.0):
    """Start ``qshock argv``, SIGKILL it (no cleanup can run) once ``ready()``; returns after it died."""
    import signal
    import subprocess
    import sys
    import time

    p = subprocess.Popen([sys.executable, "-m", "qshock.experiments.cli.main", *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while not ready():
        assert p.poll() is None, "finished before the kill"
        assert time.monotonic() - t0 < timeout, "never ready"
        time.sleep(0.01)
    p.send_signal(signal.SIGKILL)
    assert p.wait(60) == -signal.SIGKILL


def _qshock(argv):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "qshock.experiments.cli.main", *argv], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.slow
@pytest.mark.parametrize("when", ["after two checkpoints", "before any checkpoint"])
def test_train_sigkill_then_resume_loses_nothing(when, tmp_path):
    import xarray as xr

    run, ck = tmp_path / "run", tmp_path / "run" / "checkpoints"
    if when == "before any checkpoint":
        _killed(_TRAIN + ["--out", str(run)], lambda: (run / "config.json").exists())
    else:
        _killed(_TRAIN + ["--out", str(run)],
                lambda: ck.is_dir() and len([f for f in os.listdir(ck) if f.endswith(".sha256")]) >= 2)
    _qshock(_TRAIN + ["--out", str(run), "--resume"])
    _qshock(_TRAIN + ["--out", str(tmp_path / "ref")])
    a, b = xr.load_dataset(run / "metrics.nc"), xr.load_dataset(tmp_path / "ref" / "metrics.nc")
    assert set(a.data_vars) == set(b.data_vars)
    for v in b.data_vars:
        assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v
    assert not [f for r, _, fs in os.walk(run) for f in fs if f.startswith(".tmp-")]


@pytest.mark.slow
def test_experiment_sigkill_then_resume_loses_nothing(tmp_path):
    out, ref = tmp_path / "st", tmp_path / "ref"
    items = out / "items"
    _killed(["experiment", "eos", "--quick", "--out", str(out)],
            lambda: items.is_dir() and any(f.endswith(".json") for f in os.listdir(items)))
    kept = sorted(f for f in os.listdir(items) if f.endswith(".json"))
    _qshock(["experiment", "eos", "--quick", "--out", str(out), "--resume", "--json"])
    _qshock(["experiment", "eos", "--quick", "--out", str(ref), "--json"])
    a, b = (json.loads((d / "results.json").read_text()) for d in (out, ref))
    assert a["reused"] == len(kept) >= 1 and a["computed"] + a["reused"] == b["computed"]
    assert a["rows"] == b["rows"] and a["summary"] == b["summary"]


def test_nd_burgers_dirichlet_refused(tmp_path, capsys):
    """2-D Burgers with --bc dirichlet filled the ghost cells of both components of v = grad u0 with
    u0 itself: sin(x)+cos(y) (|v| <= 1) came out in [-11, 14] at t = 0.5. Refused now (HJ and 1-D keep it)."""
    box = ["--domain", "0:2*pi,0:2*pi", "--n", "16", "--ic", "sin(x)+cos(y)", "--t1", "0.5"]
    _refused(["solve", "--equation", "burgers", *box, "--bc", "dirichlet", "--out", "{t}/b.nc"], capsys, tmp_path,
             "--bc dirichlet is not available for --equation burgers in more than one dimension")
    _refused(["solve", "--equation", "burgers", *box, "--bc", "periodic,dirichlet", "--out", "{t}/b.nc"], capsys,
             tmp_path, "--bc dirichlet is not available")


def test_nd_burgers_initial_gradient_and_decoupled_solution(tmp_path, capsys):
    """N-D Burgers starts from v0 = grad u0: the CLI took jax.grad on broadcast Gauss-point arrays, so
    each component was summed over the other axis' points (sin(x)+cos(y) on 32x32: |v0| up to 95.4,
    not 1). For u0 = f(x) + g(y) the components decouple into 1-D Burgers for f' and g'."""
    import xarray as xr

    common = ["--t1", "0.5", "--scheme", "weno5", "--quiet"]
    assert main(["solve", "--equation", "burgers", "--domain", "0:2*pi,0:2*pi", "--n", "32,24", "--ic",
                 "sin(x)+cos(y)", *common, "--out", str(tmp_path / "v.nc")]) == 0
    for ic, n, name in (("cos(x)", 32, "x.nc"), ("-sin(x)", 24, "y.nc")):
        assert main(["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", str(n), "--ic", ic, *common,
                     "--out", str(tmp_path / name)]) == 0
    v = xr.load_dataset(tmp_path / "v.nc")["u"].values  # (t, component, x, y)
    ux, uy = (xr.load_dataset(tmp_path / f)["u"].values for f in ("x.nc", "y.nc"))
    x = (np.arange(32) + 0.5) * 2 * np.pi / 32
    h = np.pi / 32  # cell average of cos over [x - h, x + h]: cos(x) sin(h)/h
    assert np.max(np.abs(v[0, 0] - (np.cos(x) * np.sin(h) / h)[:, None])) < 1e-6  # 3-point Gauss
    assert np.max(np.abs(v[0, 0] - ux[0][:, None])) < 1e-12 and np.max(np.abs(v[0, 1] - uy[0][None, :])) < 1e-12
    assert np.ptp(v[-1, 0], axis=1).max() < 1e-12 and np.ptp(v[-1, 1], axis=0).max() < 1e-12  # still decoupled
    # the 2-D solve takes its own (smaller) time steps: equal to the 1-D solves up to the RK3 error (~3e-4)
    assert np.max(np.abs(v[-1, 0] - ux[-1][:, None])) < 1e-3 and np.max(np.abs(v[-1, 1] - uy[-1][None, :])) < 1e-3


def test_shocks_reports_a_blow_up_with_exit_3_time_and_place(tmp_path, capsys, monkeypatch):
    """A blow-up inside `qshock shocks` exits 3 (as `qshock solve` does) with its time and place,
    and leaves no --out file."""
    from qshock.errors import BlowUpError
    from qshock.experiments.cli import main as cli_main

    def boom(prob, args):
        raise BlowUpError(0.75, (3.14,), 42, "weno5 scheme")

    monkeypatch.setattr(cli_main, "solve_with_limits", boom)
    out = tmp_path / "s.nc"
    code = main(["shocks", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "1.5",
                 "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3 and len(err) == 1
    assert "t=0.75" in err[0] and "x=(3.14)" in err[0] and "after 42 steps" in err[0]
    assert not out.exists()


def test_train_refuses_more_eigenvalues_than_lanczos_iterations(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--model", "mlp", "--data", "digits", "--lr", "0.1", "--batch", "32", "--steps", "10", "--n-eigs", "30",
                 "--lanczos-iters", "20", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--n-eigs 30 exceeds --lanczos-iters 20" in err[0]
    assert not out.exists()
