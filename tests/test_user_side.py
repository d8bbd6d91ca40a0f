"""The user's side of the CLI (issue 17): a corpus of bad inputs, each refused before any work
with its exit code, exactly one line on stderr, no traceback and nothing left behind; output
files that describe themselves (CF attributes, umask permissions); ``qshock plot``.

The corpus runs in-process (``main([...])``, fast, default suite) and through the real console
script in subprocesses (``@pytest.mark.slow``; a few cases also in the default suite).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from qshock.experiments.cli.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "0.5"]
TRAIN = ["train", "--model", "mlp", "--data", "digits", "--lr", "0.1", "--batch", "32", "--steps", "4"]


def _setup(tmp):
    """Files the corpus refers to: a directory, a binary file, a truncated NetCDF file, a fake run."""
    (tmp / "adir").mkdir()
    (tmp / "bin.toml").write_bytes(b"\x00\x01\x02\xff" * 16)
    (tmp / "trunc.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 40)
    (tmp / "some.nc").write_bytes(b"CDF\x01")
    run = tmp / "oldrun"
    run.mkdir()
    (run / "config.json").write_text('{"config": {"steps": 4}}')
    bad = tmp / "badrun"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    tr = tmp / "truncrun"
    tr.mkdir()
    (tr / "metrics.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 10)
    (tmp / "neg.toml").write_text("steps = -5\n")
    (tmp / "empty.toml").write_text("eta_lambda0 = []\n")
    (tmp / "notsol.nc").write_bytes(b"")
    return tmp


# (argv with {t} for the temporary folder, exit code, substring of the one stderr line)
CORPUS = [
    # output paths, checked before any work
    (SOLVE + ["--out", "/proc/x.nc"], 2, "--out /proc/x.nc: cannot write"),
    (SOLVE + ["--out", "{t}/adir"], 2, "--out"),
    (SOLVE + ["--out", "{t}/adir.txt"], 2, "must name a .nc file"),
    (SOLVE + ["--out", "{t}/missing/x.nc"], 2, "does not exist"),
    (SOLVE, 2, "--out FILE.nc is required"),
    (["shocks", *SOLVE[1:], "--out", "/proc/x.nc"], 2, "--out /proc/x.nc"),
    (["shocks", *SOLVE[1:], "--out", "{t}/adir"], 2, "is a directory"),
    (["verify", "--quick", "--figures", "{t}/bin.toml"], 2, "--figures"),
    (["verify", "--quick", "--figures", "/proc/figs"], 2, "--figures"),
    # resource guards
    (["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "100000000", "--ic", "sin(x)", "--t1", "1",
      "--out", "{t}/big.nc"], 2, "GB"),
    (["solve", "--equation", "hj", "--domain", "0:2", "--n", "200", "--ic", "sin(pi*x)", "--nu", "1e6", "--t1", "1",
      "--out", "{t}/nu.nc"], 2, "--max-steps"),
    (["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "16", "--ic", "1e6*sin(x)", "--scheme",
      "spectral", "--t1", "1", "--out", "{t}/sp.nc"], 2, "--max-steps"),
    (SOLVE + ["--max-steps", "3", "--out", "{t}/ms.nc"], 2, "--max-steps 3"),
    (SOLVE + ["--max-wall", "-1", "--out", "{t}/mw.nc"], 2, "--max-wall"),
    (SOLVE + ["--save-every", "1e-9", "--out", "{t}/se.nc"], 2, "--save-every"),
    (TRAIN[:-1] + ["100000000000", "--out", "{t}/r1"], 2, "--max-steps"),
    (TRAIN[:-1] + ["0", "--out", "{t}/r2"], 2, "--steps"),
    # config files
    (["solve", "--config", "{t}/adir", "--out", "{t}/c.nc"], 2, "is a directory"),
    (["solve", "--config", "{t}/bin.toml", "--out", "{t}/c.nc"], 2, "--config"),
    (["solve", "--config", "{t}/nope.toml", "--out", "{t}/c.nc"], 2, "no such file"),
    (["experiment", "eos", "--config", "{t}/adir", "--out", "{t}/e1"], 2, "is a directory"),
    (["experiment", "eos", "--config", "{t}/bin.toml", "--out", "{t}/e2"], 2, "--config"),
    (["experiment", "eos", "--config", "{t}/neg.toml", "--out", "{t}/e3"], 2, "steps"),
    (["experiment", "catapult", "--config", "{t}/empty.toml", "--out", "{t}/e4"], 2, "empty list"),
    (["experiment", "nonsense", "--out", "{t}/e5"], 2, "unknown study"),
    (["experiment", "eos", "--resume", "--out", "{t}/e6"], 2, "--resume"),
    (["experiment", "eos", "--seeds", "0", "--out", "{t}/e7"], 2, "--seeds"),
    (["experiment", "eos", "--out", "{t}/bin.toml"], 2, "not a directory"),
    # problem flags
    (SOLVE[:-4] + ["--ic", "__import__('os')", "--t1", "0.5", "--out", "{t}/i.nc"], 2, "--ic"),
    (SOLVE[:-4] + ["--ic", "sin(", "--t1", "0.5", "--out", "{t}/i.nc"], 2, "--ic"),
    (SOLVE + ["--nu", "-1", "--out", "{t}/i.nc"], 2, "--nu"),
    (SOLVE + ["--cfl", "2", "--out", "{t}/i.nc"], 2, "CFL"),
    (SOLVE[:-2] + ["--t1", "nan", "--out", "{t}/i.nc"], 2, "--t1"),
    (SOLVE + ["--bc", "sticky", "--out", "{t}/i.nc"], 2, "--bc"),
    (SOLVE + ["--scheme", "magic", "--out", "{t}/i.nc"], 2, "magic"),
    (["solve", "--equation", "burgers", "--domain", "1:0", "--n", "8", "--ic", "x", "--t1", "1", "--out",
      "{t}/i.nc"], 2, "--domain"),
    # run directories
    (TRAIN + ["--out", "{t}/oldrun"], 2, "already holds a run"),
    (TRAIN + ["--out", "{t}/nothere", "--resume"], 2, "holds no run"),
    (TRAIN + ["--out", "{t}/badrun", "--resume"], 2, "badrun/config.json is not a valid config.json"),
    (TRAIN + ["--out", "{t}/bin.toml"], 2, "not a directory"),
    (TRAIN + ["--out", "/proc/run"], 2, "cannot write"),
    (TRAIN + ["--out", "{t}/adir2", "--model", "nonsense"], 2, "--model"),
    # looking at results
    (["figures", "{t}/some.nc"], 2, "qshock plot"),
    (["figures", "{t}/nothere"], 2, "does not exist"),
    (["figures", "{t}/truncrun"], 2, "metrics.nc is not a readable NetCDF file"),
    (["plot", "{t}/nothere.nc"], 2, "no such file"),
    (["plot", "{t}/trunc.nc"], 2, "not a readable NetCDF file"),
    (["plot", "{t}/notsol.nc"], 2, "not a readable NetCDF file"),
    (["plot", "{t}/trunc.nc", "--out", "{t}/fig.jpg"], 2, "--out"),
    (["plot", "{t}/trunc.nc", "--out", "/proc/fig.pdf"], 2, "cannot write"),
]
FAST_SUBPROCESS = [0, 9, 10, 11, 15, 17, 23, 36, 42, 45]


def _argv(case, tmp):
    return [a.replace("{t}", str(tmp)) for a in case[0]]


def _listing(tmp):
    return sorted(os.path.relpath(os.path.join(r, f), tmp) for r, ds, fs in os.walk(tmp) for f in fs + ds)


def _check(code, err, case, before, tmp):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == case[1], (case, err)
    assert len(lines) == 1, (case, err)
    assert "Traceback" not in err and case[2] in lines[0], (case, lines)
    assert _listing(tmp) == before, (case, set(_listing(tmp)) ^ set(before))  # nothing left behind


def test_corpus_size():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("i", range(len(CORPUS)))
def test_bad_input_in_process(i, tmp_path, capsys):
    tmp = _setup(tmp_path)
    before = _listing(tmp)
    case = CORPUS[i]
    code = main(_argv(case, tmp) + (["--quiet"] if case[0][0] in ("solve", "shocks") else []))
    _check(code, capsys.readouterr().err, case, before, tmp)


def _cli(argv, **kw):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "qshock.experiments.cli.main", *argv], capture_output=True,
                          text=True, env=env, timeout=300, **kw)


@pytest.mark.parametrize("i", FAST_SUBPROCESS)
def test_bad_input_subprocess_fast(i, tmp_path):
    tmp = _setup(tmp_path)
    before = _listing(tmp)
    r = _cli(_argv(CORPUS[i], tmp))
    _check(r.returncode, r.stderr, CORPUS[i], before, tmp)


@pytest.mark.slow
@pytest.mark.parametrize("i", [i for i in range(len(CORPUS)) if i not in FAST_SUBPROCESS])
def test_bad_input_subprocess(i, tmp_path):
    tmp = _setup(tmp_path)
    before = _listing(tmp)
    r = _cli(_argv(CORPUS[i], tmp))
    _check(r.returncode, r.stderr, CORPUS[i], before, tmp)


def test_refusals_come_before_work(tmp_path):
    """The read-only --out and the 1e8-cell grid are refused in seconds, not after the solve."""
    for argv in (SOLVE + ["--n", "4096", "--t1", "50", "--out", "/proc/x.nc"],
                 ["solve", "--equation", "burgers", "--domain", "0:1", "--n", "100000000", "--ic", "x", "--t1", "1",
                  "--out", str(tmp_path / "b.nc")]):
        t0 = time.perf_counter()
        assert main(argv) == 2
        assert time.perf_counter() - t0 < 5.0


@pytest.mark.slow
def test_nonfinite_training_loss_exits_3(tmp_path):
    r = _cli(["train", "--model", "mlp", "--data", "digits", "--lr", "1e30", "--batch", "32", "--steps", "2",
              "--out", str(tmp_path / "run"), "--quiet"])
    assert r.returncode == 3, r.stderr
    assert r.stderr.count("\n") == 1 and "non-finite loss from step 1" in r.stderr
    r = _cli(["train", "--model", "mlp", "--data", "digits", "--lr", "1e30", "--batch", "32", "--steps", "2",
              "--out", str(tmp_path / "run2"), "--quiet", "--allow-nonfinite"])
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- self-describing files
def _solve(tmp, argv, name):
    out = str(tmp / name)
    assert main(argv + ["--out", out, "--quiet"]) == 0
    return out


def test_netcdf_is_self_describing(tmp_path):
    old = os.umask(0o022)
    try:
        p1 = _solve(tmp_path, SOLVE + ["--save-every", "0.25"], "b.nc")
        p2 = _solve(tmp_path, ["solve", "--equation", "burgers", "--domain", "0:2*pi,0:2*pi", "--n", "16,12", "--ic",
                               "sin(x)*cos(y)", "--t1", "0.2", "--bc", "periodic,reflect"], "v.nc")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(p1).st_mode) == 0o644  # the umask, not mkstemp's 0600
    ds = xr.open_dataset(p1)
    for v in ds.variables:
        assert ds[v].attrs.get("long_name") and ds[v].attrs.get("units"), v
    a = ds.attrs
    assert a["Conventions"] == "CF-1.8" and a["history"].endswith(a["command_line"])
    assert (a["bc"], a["manifold"], a["chart"], a["hamiltonian"]) == ("periodic", "euclidean", "cartesian",
                                                                        "0.5*|p|_g^2")
    lo, hi = (float(s) for s in a["domain"].split(":"))
    assert lo == 0.0 and abs(hi - 2 * np.pi) < 1e-9 and a["partial"] == 0 and a["ic"] == "sin(x)"
    assert "same values as u" in ds["p"].attrs["comment"] and np.array_equal(ds["p"].values, ds["u"].values)
    dv = xr.open_dataset(p2)
    assert list(dv["component"].values) == ["x", "y"] and dv.attrs["bc"] == "periodic,reflect"
    assert dv["u"].dims == ("t", "component", "x", "y")


def test_netcdf_reads_with_netcdf4_and_cf_checker(tmp_path):
    """The file opens with the netCDF4 C library too; the IOOS CF checker finds no error (when installed)."""
    netCDF4 = pytest.importorskip("netCDF4")
    p = _solve(tmp_path, ["solve", "--equation", "hj", "--domain", "0:2*pi", "--n", "32", "--ic", "sin(x)",
                          "--nu", "0.1", "--t1", "0.2"], "h.nc")
    with netCDF4.Dataset(p) as nc:
        assert nc.getncattr("Conventions") == "CF-1.8"
        assert nc.variables["u"].getncattr("units") == "1"
        assert nc.variables["u"].shape == (2, 32)
    cc = pytest.importorskip("compliance_checker.runner")
    report = tmp_path / "cf.json"
    cc.CheckSuite.load_all_available_checkers()
    cc.ComplianceChecker.run_checker(p, ["cf:1.8"], 0, "normal", output_filename=str(report), output_format="json")
    doc = json.loads(report.read_text())
    scored = doc["cf:1.8"]
    msgs = [m for k in ("high_priorities", "medium_priorities") for r in scored[k] for m in r.get("msgs", [])]
    assert not msgs, msgs
    assert scored["scored_points"] == scored["possible_points"]


# ---------------------------------------------------------------- qshock plot
def _synthetic_2d(path):
    """A file laid out as ``qshock solve`` writes a 2-D HJ solution (u = e^{-2 nu t} sin x cos y)."""
    x, y, t = np.linspace(0.1, 6.2, 16), np.linspace(0.1, 6.2, 12), np.array([0.0, 0.1, 0.2])
    u = np.exp(-0.1 * t)[:, None, None] * np.sin(x)[None, :, None] * np.cos(y)[None, None, :]
    ds = xr.Dataset({"u": (("t", "x", "y"), u)}, coords={"t": t, "x": x, "y": y},
                    attrs={"equation": "hj", "manifold": "euclidean"})
    ds.to_netcdf(path)
    return str(path)


def _synthetic_sphere(path):
    th = (np.arange(8) + 0.5) * np.pi / 8
    ph = np.arange(16) * 2 * np.pi / 16
    u = np.stack([np.cos(th)[:, None] * np.ones(16)[None, :] * s for s in (1.0, 0.9)])
    ds = xr.Dataset({"u": (("t", "theta", "phi"), u)}, coords={"t": [0.0, 0.1], "theta": th, "phi": ph},
                    attrs={"equation": "hj", "manifold": "sphere", "chart": "spherical"})
    ds["theta"].attrs["units"] = "radian"
    ds.to_netcdf(path)
    return str(path)


def test_plot_1d_2d_sphere(tmp_path):
    from qshock.experiments.cli.plot import draw

    p1 = _solve(tmp_path, ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic",
                           "0.2+sin(2*x)", "--t1", "0.8", "--save-every", "0.1"], "b.nc")
    p2, p3 = _synthetic_2d(tmp_path / "h.nc"), _synthetic_sphere(tmp_path / "s.nc")
    fig = draw(xr.load_dataset(p1), shocks=True)
    a0, a1 = fig.axes[:2]
    assert (a0.get_xlabel(), a0.get_ylabel(), a1.get_ylabel()) == ("x", "t", "u")
    lines = [ln for ln in a0.get_lines() if ln.get_linestyle() == "--"]
    assert lines and abs(lines[0].get_ydata()[0] - 0.5) < 1e-3  # t* = 1/max(2 cos 2x) = 0.5
    fig = draw(xr.load_dataset(p2))
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("x", "y")
    fig = draw(xr.load_dataset(p3))
    assert fig.axes[0].name == "mollweide" and "latitude" in fig.axes[0].get_ylabel()
    for p, ext in ((p1, ".pdf"), (p2, ".png"), (p3, ".svg")):
        out = p[:-3] + ext
        assert main(["plot", p, "--out", out] + (["--shocks"] if p == p1 else [])) == 0
        assert os.path.getsize(out) > 1000
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]


@pytest.mark.slow
def test_train_run_directory_rules(tmp_path, capsys):
    """--resume extends a finished run (steps are not a setting); figures label their axes."""
    run = str(tmp_path / "r")
    base = ["train", "--model", "mlp", "--data", "teacher", "--lr", "0.05", "--batch", "16", "--width", "8",
            "--lanczos-iters", "4", "--no-quotient-sharpness", "--sharpness-every", "2", "--quiet", "--out", run]
    assert main(base + ["--steps", "4"]) == 0
    assert main(base + ["--steps", "6"]) == 2  # an existing run needs --resume
    assert "already holds a run" in capsys.readouterr().err
    assert main(base + ["--steps", "8", "--resume"]) == 0
    ds = xr.load_dataset(os.path.join(run, "metrics.nc"))
    assert ds.sizes["step"] == 8 and list(ds.obs_step.values) == [0, 2, 4, 6, 8]
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f)["config"]["steps"] == 8
    assert main(base + ["--steps", "2", "--resume"]) == 2  # fewer steps than already done
    assert "below step 8" in capsys.readouterr().err


# ---------------------------------------------------------------- discovery
EXAMPLES = os.path.join(ROOT, "examples")


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".toml")))
def test_example_configs_are_valid(name):
    """Every example config is accepted: problems build (flags, grid, initial data), studies validate."""
    from qshock.experiments.cli.problem import build_problem
    from qshock.experiments.studies.driver import load_config

    path = os.path.join(EXAMPLES, name)
    study = {"eos_small.toml": "eos", "catapult_small.toml": "catapult"}.get(name)
    if study:
        cfg = load_config(study, path)
        assert cfg.steps == 200
        return
    from qshock.experiments.cli.main import build_parser

    args = build_parser().parse_args(["solve", "--config", path, "--out", "x.nc"])
    prob = build_problem(args)
    assert prob.t1 > 0 and np.all(np.isfinite(prob.u0)) and prob.times[-1] == prob.t1


def test_list_and_experiment_help(capsys):
    from qshock.experiments.lab.runstore import forget_outputs  # noqa: F401 - import check only
    from qshock.manifolds import MANIFOLD_NAMES
    from qshock.solver.schemes import SCHEME_NAMES

    assert main(["list", "manifolds"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in out] == list(MANIFOLD_NAMES)
    assert main(["list", "schemes"]) == 0
    assert [ln.split()[0] for ln in capsys.readouterr().out.splitlines()] == list(SCHEME_NAMES)
    assert main(["list", "charts"]) == 0
    assert "sphere/spherical" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["experiment", "--help"])
    text = capsys.readouterr().out
    assert "edge-of-stability" in text and "eta_lambda0=" in text


def test_shocks_json_method_and_seam_warning(capsys):
    """u0 = 0.2 + sin 2x: t* = 1/max(-u0') = 1/2 predicted exactly; JSON keys as DESIGN.md §4; data that
    do not match across the periodic seam (sin x on 0:1) get one warning line, matching data none."""
    base = ["shocks", "--equation", "burgers", "--n", "128", "--t1", "1", "--json", "--quiet"]
    assert main(base + ["--domain", "0:2*pi", "--ic", "0.2+sin(2*x)"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert set(doc["predicted"]) == set(doc["detected"]) == {"time", "location", "uncertainty"}  # DESIGN.md §4
    assert abs(doc["predicted"]["time"] - 0.5) < 1e-8 and abs(doc["detected"]["time"] - 0.5) < 0.05
    assert "warning" not in err
    assert main(base + ["--domain", "0:1", "--ic", "sin(x)", "--t1", "0.3"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "periodic seam x=0 | x=1" in err


def test_metrics_nc_is_self_describing(tmp_path):
    """metrics.nc of a run directory: long_name/units everywhere, Conventions, history, umask permissions;
    the CF checker (when installed) finds no high-priority problem."""
    import types

    from qshock.experiments.lab.runstore import RunStore
    from qshock.experiments.lab.training import TrainConfig

    cfg = TrainConfig(model="mlp", data="digits", lr=0.1, steps=4, seeds=(0, 1))
    res = types.SimpleNamespace(config=cfg, step_metrics={"loss": np.ones((2, 4)), "lr": np.full((2, 4), 0.1)},
                                obs={"sharpness": np.ones((2, 3, 2)), "q_scale_norm": np.zeros((2, 3))},
                                obs_steps=np.array([0, 2, 4]), wall_time=1.0, steps_per_second=4.0)
    st = RunStore(str(tmp_path / "run"))
    old = os.umask(0o022)
    try:
        st.write_config(cfg, argv=["qshock", "train", "--lr", "0.1"])
        path = st.write_metrics(res)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    ds = xr.open_dataset(path)
    for v in ds.variables:
        assert ds[v].attrs.get("long_name") and ds[v].attrs.get("units"), v
    assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["history"].endswith("qshock train --lr 0.1")
    assert ds["obs_sharpness"].attrs["long_name"].startswith("top Hessian eigenvalues")
    cc = pytest.importorskip("compliance_checker.runner")
    report = tmp_path / "cf.json"
    cc.CheckSuite.load_all_available_checkers()
    cc.ComplianceChecker.run_checker(path, ["cf:1.8"], 0, "normal", output_filename=str(report), output_format="json")
    high = [m for r in json.loads(report.read_text())["cf:1.8"]["high_priorities"] for m in r.get("msgs", [])]
    assert not high, high


def test_training_figures_show_drifts_with_labels(tmp_path):
    """Observables are drawn as q - q(0) with labelled axes and no offset text; log axes keep zeros."""
    import types

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qshock.experiments.lab import runstore
    from qshock.experiments.lab.training import TrainConfig

    cfg = TrainConfig(model="mlp", data="digits", lr=0.1, steps=4)
    conserved = 1e6 + np.array([[0.0, 1e-10, -2e-10]])  # round-off around a large conserved value
    res = types.SimpleNamespace(config=cfg, step_metrics={"loss": np.array([[1.0, 0.0, 0.5, 0.25]])},
                                obs={"sharpness": np.ones((1, 3, 1)), "q_scale_norm": conserved},
                                obs_steps=np.array([0, 2, 4]), wall_time=1.0, steps_per_second=4.0)
    st = runstore.RunStore(str(tmp_path / "run"))
    st.write_metrics(res)
    captured = []
    orig = runstore.atomic_savefig
    runstore.atomic_savefig = lambda fig, path, **kw: (captured.append(fig), orig(fig, path, **kw))[1]
    try:
        files = runstore.write_figures(st.path, ("png",))
    finally:
        runstore.atomic_savefig = orig
    assert len(files) == 3 and all(os.path.getsize(f) > 1000 for f in files)
    loss_ax, sharp_ax, obs_ax = captured[0].axes[0], captured[1].axes[0], captured[2].axes[0]
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("step", "mini-batch loss")
    assert min(loss_ax.get_lines()[0].get_ydata()) > 0  # the exact zero stays on the log axis
    assert sharp_ax.get_ylabel().startswith("sharpness")
    assert (obs_ax.get_xlabel(), obs_ax.get_ylabel()) == ("step", "q − q(0)")
    assert np.array_equal(obs_ax.get_lines()[0].get_ydata(), (conserved - conserved[:, :1])[0])  # the round-off
    captured[2].canvas.draw()
    assert obs_ax.yaxis.get_offset_text().get_text() == ""
    plt.close("all")
