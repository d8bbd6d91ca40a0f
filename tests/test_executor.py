"""Study executors without Ray: the deferred passes of the item store give the eager loop's results.

A toy study (exact numbers, no training) is registered for the duration of a test. Its items
are closures over loop variables (as in the real studies), so a deferred executor that called
them late without :func:`freeze` would compute every item with the last loop values.
"""

import dataclasses
import functools
import json
import os
import pickle
import types

import numpy as np
import pytest

from qshock.errors import QShockInputError
from qshock.experiments.cli.main import main
from qshock.experiments.studies import driver
from qshock.experiments.studies.driver import StudyConfig, StudyResult, run_study
from qshock.experiments.studies.executor import LocalExecutor, Progress, make_executor, parse_address
from qshock.experiments.studies.store import ItemStore, Pending, PendingItem, freeze

CALLS = []


def _item(x, s):
    CALLS.append((x, s))
    rng = np.random.default_rng(s)
    return {"x": x, "seed": s, "value": float(x * rng.standard_normal()), "series": rng.random(3)}


@dataclasses.dataclass(frozen=True)
class ToyConfig(StudyConfig):
    xs: tuple = (0.5, 1.0, 2.0)
    seeds: int = 2
    eager_read: bool = False  # read every item as soon as it is asked for (as periodic-spikes does)


def _toy_run(p, seeds, store, log):
    items, rows = [], []
    for x in p.xs:
        for s in seeds:
            log(f"  x = {x}")
            it = store.item(f"x{x:g}_s{s}", dict(p.params(), xs=None, x=x, seed=s), lambda: _item(x, s))
            if p.eager_read:
                it["annotated"] = it.get("annotated", 0) + 1  # a study annotating its items
            items.append(it)
    for x in p.xs:
        its = [d for d in items if d["x"] == x]
        rows.append({"x": x, "mean": float(np.mean([d["value"] for d in its])), "_fmt": [f"{x:g}"]})
    return StudyResult(["x"], rows, items, {"n": len(items)})


TOY = types.SimpleNamespace(NAME="toy", Config=ToyConfig, run=_toy_run, figures=lambda out, doc, formats: [])


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(driver.STUDIES, "toy", "toy")
    monkeypatch.setattr(driver, "study_module", lambda name: TOY)
    CALLS.clear()
    return TOY


def _same(a, b):
    """Equal results documents apart from the wall time and the computed/reused counts."""
    strip = lambda d: {k: v for k, v in d.items() if k not in ("wall_time", "table", "computed", "reused")}  # noqa: E731
    return strip(a) == strip(b)


def _expected(xs=(0.5, 1.0, 2.0), seeds=(0, 1)):
    return {(x, s): x * np.random.default_rng(s).standard_normal() for x in xs for s in seeds}


@pytest.mark.parametrize("eager_read", [False, True])
def test_deferred_passes_equal_the_eager_loop(toy, tmp_path, eager_read):
    cfg = tmp_path / "t.toml"
    cfg.write_text(f"eager_read = {'true' if eager_read else 'false'}\n")
    a = run_study("toy", str(cfg), out=str(tmp_path / "a"), quiet=True)
    calls_eager = list(CALLS)
    CALLS.clear()
    b = run_study("toy", str(cfg), out=str(tmp_path / "b"), quiet=True, executor=LocalExecutor(eager=False))
    # every item computed exactly once, with its own loop values (not the last ones)
    assert sorted(CALLS) == sorted(calls_eager) == sorted(_expected())
    assert (a["computed"], b["computed"], b["reused"]) == (6, 6, 0)
    for d in b["items"]:
        assert d["value"] == _expected()[(d["x"], d["seed"])]
        assert d.get("annotated", 1) == 1  # each pass annotates a fresh copy
    assert _same(a, b)
    assert sorted(os.listdir(tmp_path / "b" / "items")) == sorted(f"x{x:g}_s{s}.json" for x, s in _expected())


def test_resume_across_executors_without_ray(toy, tmp_path):
    part, full = tmp_path / "part.toml", tmp_path / "full.toml"
    part.write_text("xs = [1.0]\n")
    full.write_text("xs = [0.5, 1.0, 2.0]\n")
    clean = run_study("toy", str(full), out=str(tmp_path / "clean"), quiet=True)
    for first, second in ((LocalExecutor(), LocalExecutor(eager=False)), (LocalExecutor(eager=False), LocalExecutor())):
        out = str(tmp_path / f"r{first.eager}")
        run_study("toy", str(part), out=out, quiet=True, executor=first)
        CALLS.clear()
        doc = run_study("toy", str(full), out=out, quiet=True, resume=True, executor=second)
        assert (doc["computed"], doc["reused"]) == (4, 2)
        assert sorted(CALLS) == [(x, s) for x in (0.5, 2.0) for s in (0, 1)]  # nothing computed twice
        assert _same(doc, clean)


def test_pending_placeholder_raises_on_any_read():
    p = Pending("k")
    for read in (lambda: p["a"], lambda: p.get("a"), lambda: list(p), lambda: len(p), lambda: bool(p),
                 lambda: "a" in p, lambda: p.items(), lambda: json.dumps(p), lambda: p == {}):
        with pytest.raises(PendingItem):
            read()
    assert isinstance(p, dict) and repr(p) == "Pending('k')"


def test_freeze_fixes_loop_variables():
    late = [lambda: (i, j) for i in range(3) for j in (7,)]
    assert [f() for f in late] == [(2, 7)] * 3  # the Python pitfall
    frozen = []
    for i in range(3):
        frozen.append(freeze(lambda: (i, 7)))
    assert [f() for f in frozen] == [(0, 7), (1, 7), (2, 7)]
    assert freeze(len) is len


def test_store_map_and_counts(tmp_path):
    os.makedirs(tmp_path / "items")
    st = ItemStore(str(tmp_path), executor=LocalExecutor(eager=False))
    docs = st.map(["a", "b"], [{"i": 1}, {"i": 2}], [lambda: {"v": 1.0}, lambda: {"v": np.float64(2.0)}])
    assert [d["v"] for d in docs] == [1.0, 2.0] and st.computed == 2
    st2 = ItemStore(str(tmp_path), resume=True)
    assert [d["v"] for d in st2.map(["a", "b"], [{"i": 1}, {"i": 3}], [lambda: {"v": 9.0}] * 2)] == [1.0, 9.0]
    assert (st2.computed, st2.reused) == (1, 1)  # b's parameters changed: recomputed


def test_progress_line_and_eta():
    lines, now = [], [0.0]
    pr = Progress(lines.append)
    pr.t0 = 0.0
    import qshock.experiments.studies.executor as ex

    real = ex.time.perf_counter
    ex.time.perf_counter = lambda: now[0]
    try:
        pr.expect(4)
        pr.tick("a", "reused")
        now[0] = 30.0
        pr.tick("b", "computed")  # 30 s per computed item, 2 items left: ETA 60 s
        assert pr.eta() == 60.0
    finally:
        ex.time.perf_counter = real
    assert lines[-1] == "  [2/4 items  50% | 0:30 elapsed, ETA 1:00] b: computed"
    assert lines[0].startswith("  [1/4 items  25%") and "ETA ?" in lines[0]


def test_bad_executor_flags_are_one_line_errors(tmp_path, capsys):
    for args, msg in ((["--address", "h:1"], "--address is for --executor ray"),
                      (["--executor", "ray", "--address", "nohost"], "expected HOST:PORT"),
                      (["--executor", "ray", "--address", "127.0.0.1:1"], "no Ray head answers")):
        if "ray" in args and not _ray():
            continue
        code = main(["experiment", "catapult", "--quick", "--out", str(tmp_path / "o"), *args])
        err = capsys.readouterr().err.strip()
        assert code == 2 and msg in err and len(err.splitlines()) == 1, err
        assert not os.path.exists(tmp_path / "o" / "items")  # nothing started
    with pytest.raises(SystemExit):
        main(["experiment", "catapult", "--executor", "dask"])
    with pytest.raises(QShockInputError, match="expected one of local, ray"):
        make_executor("dask")
    assert parse_address("ray://10.0.0.5:6379") == ("10.0.0.5", 6379) and parse_address("auto") is None


def _ray():
    from qshock.experiments.studies.executor import ray_available

    return ray_available()


def test_progress_on_a_terminal_is_one_line_redrawn_in_place():
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    s = Tty()
    pr = Progress(stream=s)
    pr.expect(2)
    pr.tick("a", "computed")
    pr.log("a study message")
    pr.tick("b", "computed")
    pr.close()
    text = s.getvalue()
    # the study message is printed above the bar; the bar itself never scrolls (no newline but the last)
    assert text.count("\n") == 2 and text.endswith("b: computed\n")
    assert "\r\x1b[Ka study message\n  [1/2 items" in text
    assert text.rsplit("\r\x1b[K", 1)[1].startswith("  [2/2 items 100%")


def test_store_map_inside_a_study_counts_then_computes_once(toy, tmp_path, monkeypatch, capsys):
    def run_with_map(p, seeds, store, log):
        keys = [f"x{x:g}_s{s}" for x in p.xs for s in seeds]
        ps = [dict(x=x, seed=s) for x in p.xs for s in seeds]
        docs = store.map(keys, ps, [functools.partial(_item, x, s) for x in p.xs for s in seeds])
        return StudyResult(["x"], [], docs, {"sum": float(sum(d["value"] for d in docs))})

    monkeypatch.setattr(TOY, "run", run_with_map)
    for ex in (LocalExecutor(), LocalExecutor(eager=False)):
        CALLS.clear()
        doc = run_study("toy", None, out=str(tmp_path / f"m{ex.eager}"), executor=ex)
        assert sorted(CALLS) == sorted(_expected())  # the counting pass computed nothing
        assert doc["summary"]["sum"] == sum(_expected().values()) and doc["computed"] == 6
    err = capsys.readouterr().err
    assert "[6/6 items 100%" in err and "/7 items" not in err


def test_an_item_reading_items_of_the_same_pass_waits_for_them(toy, tmp_path, monkeypatch):
    def total(items):
        return {"x": -1.0, "seed": -1, "value": float(sum(d["value"] for d in items))}

    def run_with_summary_item(p, seeds, store, log):
        items = [store.item(f"x{x:g}_s{s}", dict(x=x, seed=s), lambda: _item(x, s)) for x in p.xs for s in seeds]
        agg = store.item("total", {"n": len(items)}, lambda: total(items))  # reads the items above
        return StudyResult(["x"], [], items + [agg], {"total": agg["value"]})

    monkeypatch.setattr(TOY, "run", run_with_summary_item)
    a = run_study("toy", None, out=str(tmp_path / "a"), quiet=True)
    b = run_study("toy", None, out=str(tmp_path / "b"), quiet=True, executor=LocalExecutor(eager=False))
    assert a["summary"]["total"] == b["summary"]["total"] == sum(_expected().values())
    assert a["computed"] == b["computed"] == 7 and _same(a, b)
    assert pickle.loads(pickle.dumps(Pending("k"))).key == "k"  # travels to a worker inside a closure
