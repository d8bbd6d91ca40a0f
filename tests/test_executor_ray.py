"""Study sweeps on Ray: bit-identical to the local loop, a killed worker is retried, resume across executors.

One local Ray instance (2 CPUs) is shared by the module. The items are real (tiny) catapult
training runs; the reference is a clean run of the local in-process loop, and every comparison
is exact equality of ``results.json`` (apart from wall time and computed/reused counts).
The checks of the default suite are stages of one test, so that ``pytest -n 2`` (which spreads
the tests of a module over its workers) starts one Ray instance and one reference run, not two.
Skipped, with the reason, when the ``ray`` extra is not installed.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types

import pytest

pytest.importorskip("ray", reason="the optional ray extra is not installed (pip install 'qshock[ray]')")

from qshock.experiments.cli.main import main  # noqa: E402
from qshock.experiments.studies import catapult, driver  # noqa: E402
from qshock.experiments.studies.driver import run_study  # noqa: E402
from qshock.experiments.studies.executor import LocalExecutor, RayExecutor  # noqa: E402
from qshock.experiments.studies.store import freeze  # noqa: E402

TINY = "width = 64\nsteps = 100\neta_lambda0 = [1.0, 6.0]\n"
KEYS = sorted(f"c{c}_seed{s}.json" for c in (1, 6) for s in (0, 1))


@pytest.fixture(scope="module")
def ray_ex():
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    ex = RayExecutor(num_cpus=2).start()
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg")
    (d / "tiny.toml").write_text(TINY)
    (d / "c1.toml").write_text(TINY.replace("[1.0, 6.0]", "[1.0]"))
    (d / "c6.toml").write_text(TINY.replace("[1.0, 6.0]", "[6.0]"))
    return d


@pytest.fixture(scope="module")
def clean(cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    run_study("catapult", str(cfg / "tiny.toml"), seeds=2, out=str(out), quiet=True, formats=())
    return _results(out)


def _results(out):
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
    return {k: v for k, v in doc.items() if k not in ("wall_time", "computed", "reused")}


def _item_files(out):
    return sorted(os.listdir(os.path.join(out, "items")))


# --- fault injection: the first attempt of one item records its worker's pid and sleeps -------------

def _first_attempt_hangs(marker, compute):
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\n")
    with open(marker) as f:
        if len(f.read().split()) == 1:
            time.sleep(600)  # killed here by the test, in the middle of the item
    return compute()


class _Faulty:
    """A store proxy that wraps the compute of item ``key`` with :func:`_first_attempt_hangs`."""

    def __init__(self, store, key, marker):
        self.store, self.key, self.marker, self.out = store, key, marker, store.out

    def item(self, key, params, compute):
        if key == self.key:
            compute = functools.partial(_first_attempt_hangs, self.marker, freeze(compute))
        return self.store.item(key, params, compute)


def _killer(marker, killed):
    for _ in range(6000):
        if os.path.exists(marker):
            with open(marker) as f:
                pids = f.read().split()
            if pids:
                os.kill(int(pids[0]), signal.SIGKILL)
                killed.append(int(pids[0]))
                return
        time.sleep(0.05)


def check_killed_worker_is_retried_and_results_equal_a_clean_local_run(ray_ex, cfg, clean, tmp_path, monkeypatch):
    marker = str(tmp_path / "attempts")
    faulty = types.SimpleNamespace(
        NAME="catapult", Config=catapult.Config, figures=catapult.figures,
        run=lambda p, seeds, store, log: catapult.run(p, seeds, _Faulty(store, "c6_seed0", marker), log))
    monkeypatch.setattr(driver, "study_module", lambda name: faulty)
    killed = []
    t = threading.Thread(target=_killer, args=(marker, killed), daemon=True)
    t.start()
    out = tmp_path / "ray"
    doc = run_study("catapult", str(cfg / "tiny.toml"), seeds=2, out=str(out), quiet=True, formats=(),
                    executor=ray_ex)
    t.join(timeout=5)
    with open(marker) as f:
        pids = [int(x) for x in f.read().split()]
    # the worker was killed in the middle of the item, and the item ran again in another worker
    assert killed and pids[0] == killed[0] and len(pids) == 2 and pids[1] != pids[0]
    # no item lost or duplicated, no temporary left behind, the same bytes of results as locally
    assert (doc["computed"], doc["reused"]) == (4, 0)
    assert _item_files(out) == KEYS
    assert _results(out) == clean


def check_resume_across_executors(ray_ex, cfg, clean, tmp_path):
    # half the sweep locally, the rest on Ray with --resume; then the other way round
    for first, second, part in ((LocalExecutor(), ray_ex, "c1"), (ray_ex, LocalExecutor(), "c6")):
        out = str(tmp_path / part)
        a = run_study("catapult", str(cfg / f"{part}.toml"), seeds=2, out=out, quiet=True, formats=(),
                      executor=first)
        assert a["computed"] == 2
        before = {k: open(os.path.join(out, "items", k)).read() for k in _item_files(out)}
        b = run_study("catapult", str(cfg / "tiny.toml"), seeds=2, out=out, quiet=True, formats=(),
                      executor=second, resume=True)
        assert (b["computed"], b["reused"]) == (2, 2)
        assert all(open(os.path.join(out, "items", k)).read() == v for k, v in before.items())  # reused as is
        assert _item_files(out) == KEYS
        assert _results(out) == clean


def check_cli_executor_ray_with_address(ray_ex, cfg, clean, tmp_path, capsys):
    out = str(tmp_path / "cli")
    code = main(["experiment", "catapult", "--config", str(cfg / "tiny.toml"), "--seeds", "2", "--out", out,
                 "--executor", "ray", "--address", ray_ex.gcs_address])
    assert code == 0
    err = capsys.readouterr().err
    assert "[4/4 items 100%" in err and "(ray)" in err
    assert _results(out) == clean


@pytest.mark.slow
def test_console_script_joins_a_running_cluster(ray_ex, cfg, clean, tmp_path):
    """A second driver process (the real ``qshock`` script) on the cluster of this one."""
    exe = os.path.join(os.path.dirname(sys.executable), "qshock")
    out = str(tmp_path / "script")
    r = subprocess.run([exe, "experiment", "catapult", "--config", str(cfg / "tiny.toml"), "--seeds", "2",
                        "--out", out, "--executor", "ray", "--address", ray_ex.gcs_address],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert _results(out) == clean


def _raises_once_counted(marker, i):
    with open(marker, "a") as f:
        f.write(f"{i}\n")
    raise ValueError(f"item {i} is bad")


def check_an_item_error_is_not_retried_and_surfaces_as_itself(ray_ex, tmp_path):
    from qshock.experiments.studies.store import ItemStore

    os.makedirs(tmp_path / "items")
    marker = str(tmp_path / "attempts")
    st = ItemStore(str(tmp_path), executor=ray_ex)
    with pytest.raises(ValueError, match="^item 0 is bad$"):
        st.map(["bad"], [{"i": 0}], [functools.partial(_raises_once_counted, marker, 0)])
    with open(marker) as f:
        assert f.read().split() == ["0"]  # one attempt: exceptions of the item itself are not retried
    assert _item_files(tmp_path) == [] and st.computed == 0


def _value(i):
    return {"v": float(i)}


def _total(items):
    return {"v": float(sum(d["v"] for d in items))}


def check_an_item_reading_items_of_its_pass_waits_for_them(ray_ex, tmp_path):
    from qshock.experiments.studies.store import ItemStore

    os.makedirs(tmp_path / "items")
    st = ItemStore(str(tmp_path), executor=ray_ex)

    def run(store, log):
        items = [store.item(f"i{i}", {"i": i}, lambda: _value(i)) for i in range(3)]
        tot = store.item("total", {}, lambda: _total(items))  # the placeholders travel to the worker
        return tot["v"]

    assert st.drive(run, lambda s: None) == 0.0 + 1.0 + 2.0
    assert st.computed == 4 and _item_files(tmp_path) == ["i0.json", "i1.json", "i2.json", "total.json"]


def test_ray_sweeps_equal_the_local_loop_through_a_killed_worker_resume_and_the_cli(ray_ex, cfg, clean, tmp_path,
                                                                                   monkeypatch, capsys):
    for stage in ("fault", "resume", "cli", "error", "pass"):
        os.makedirs(tmp_path / stage)
    with monkeypatch.context() as m:
        check_killed_worker_is_retried_and_results_equal_a_clean_local_run(ray_ex, cfg, clean, tmp_path / "fault", m)
    check_resume_across_executors(ray_ex, cfg, clean, tmp_path / "resume")
    check_cli_executor_ray_with_address(ray_ex, cfg, clean, tmp_path / "cli", capsys)
    check_an_item_error_is_not_retried_and_surfaces_as_itself(ray_ex, tmp_path / "error")
    check_an_item_reading_items_of_its_pass_waits_for_them(ray_ex, tmp_path / "pass")
