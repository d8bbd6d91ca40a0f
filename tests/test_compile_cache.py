"""Cost of scale (issue 14): the persistent compilation cache of the ``qshock`` entry point, and
``--devices N`` set before JAX starts (each run in a subprocess: the JAX settings never reach this
process). The second identical ``qshock solve`` must load the solver's executable from the cache
(JAX's own log line and monitoring events, not a timing)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

PROBE = textwrap.dedent(r'''
    import json, logging, sys, time
    from jax import monitoring
    events, lines = {}, []

    class Grab(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    log = logging.getLogger("jax._src.compiler")
    log.setLevel(logging.DEBUG)
    log.addHandler(Grab())
    monitoring.register_event_listener(lambda e, **kw: events.__setitem__(e, events.get(e, 0) + 1))
    from qshock.experiments.cli.main import main
    sys.argv = ["qshock"] + sys.argv[1:]
    t0 = time.perf_counter()
    code = main()
    hit = any("cache hit for 'jit_run'" in s for s in lines)
    written = any("'jit_run' took at least" in s for s in lines)
    print(json.dumps({"code": code, "hit": hit, "written": written, "seconds": time.perf_counter() - t0,
                      "hits": events.get("/jax/compilation_cache/cache_hits", 0)}))
''')

SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "128", "--ic", "sin(x)", "--t1", "0.5",
         "--scheme", "muscl", "--quiet"]


def _qshock(args, cache, devices_flag=None):
    env = {**os.environ, "QSHOCK_CACHE_DIR": str(cache), "JAX_PLATFORMS": "cpu"}
    env["XLA_FLAGS"] = (f"--xla_force_host_platform_device_count={devices_flag} " if devices_flag else "") + \
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=600, env=env)


def _entries(cache: Path) -> set:
    return {p.name for p in cache.iterdir() if p.name.startswith("jit_run-") and not p.name.endswith("-atime")}


def test_second_solve_loads_the_compiled_solver_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    runs = []
    for i in range(2):
        r = _qshock([*SOLVE, "--devices", "2", "--out", str(tmp_path / f"u{i}.nc")], cache, devices_flag=2)
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        assert r.returncode == 0 and runs[-1]["code"] == 0, r.stderr[-2000:]
        if i == 0:
            first = _entries(cache)
    assert runs[0]["written"] and not runs[0]["hit"], runs[0]  # compiled, and stored
    assert runs[1]["hit"] and not runs[1]["written"] and runs[1]["hits"] >= 1, runs[1]  # loaded, not recompiled
    assert len(first) == 1 and _entries(cache) == first  # the second run stored no second solver
    import xarray as xr

    a, b = (xr.open_dataset(tmp_path / f"u{i}.nc") for i in range(2))
    assert np.array_equal(a["u"].values, b["u"].values)  # the cached executable computes the same numbers


def test_devices_beyond_the_available_ones_is_one_line_exit_2(tmp_path):
    r = _qshock([*SOLVE, "--devices", "2", "--out", str(tmp_path / "u.nc")], tmp_path / "c", devices_flag=1)
    assert json.loads(r.stdout.strip().splitlines()[-1])["code"] == 2, r.stderr
    lines = [s for s in r.stderr.splitlines() if s.strip()]
    assert lines == ["qshock solve: error: --devices 2: only 1 device(s) available (CPU: one host device per core; "
                     "XLA_FLAGS=--xla_force_host_platform_device_count=N forces more)"], lines
    assert not (tmp_path / "u.nc").exists()


def test_cache_is_on_for_solver_commands_and_opt_in_for_training(monkeypatch):
    """Default: solver commands cache, train/experiment do not; an explicit directory turns it on for
    every command; ``off`` turns it off for all."""
    from qshock.experiments.cli import jaxsetup

    monkeypatch.delenv("QSHOCK_CACHE_DIR", raising=False)
    assert [jaxsetup.cache_wanted(c) for c in ("solve", "shocks", "train", "experiment")] == [True, True, False, False]
    monkeypatch.setenv("QSHOCK_CACHE_DIR", "/tmp/somewhere")
    assert jaxsetup.cache_wanted("experiment") and jaxsetup.cache_wanted("train")
    monkeypatch.setenv("QSHOCK_CACHE_DIR", "off")
    assert not any(jaxsetup.cache_wanted(c) for c in ("solve", "experiment"))
