"""Study sweeps on Ray against the local loop: wall time of 32 small training items, overhead per item.

``run(report)`` reports two tables, both measured in one process so that the ratios are same-run:

* ``ray sweep``: the catapult study (width 64, 100 SGD steps, 16 values of ηλ₀ × 2 seeds = 32
  items) with ``--executor local`` and ``--executor ray`` (a local Ray instance with 2 CPUs),
  each twice: ``cold`` (the process or the Ray workers compile the training step first) and
  ``warm``. ``wall_s`` is the sweep (Ray's start-up reported apart as ``startup_s``),
  ``per_item_s = wall_s / 32``, ``speedup`` is against the local loop of the same phase, and
  ``identical`` says whether the results document equals the first local one, bit for bit.
* ``ray overhead``: 32 empty items (``dict``) through the item store, all submitted at once
  and one at a time: what an item costs beyond its own computation (task submission, result
  transfer, the atomic item file with its fsync, the progress line).

Each Ray worker compiles the training step once (JAX caches are per process), so on few items
the compilation of the workers dominates. On the shared 2-core machine the numbers are
pessimistic and the speed-up is bounded by 2.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time

import ray  # noqa: F401  (the optional extra: without it benchmarks.run skips this module)

N_VALUES, SEEDS = 16, 2
CONFIG = "width = 64\nsteps = 100\neta_lambda0 = [{}]\n"


def _strip(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("wall_time", "table", "computed", "reused")}


def sweep(tmp: str, executor, label: str) -> tuple[float, dict]:
    """Wall time and results document of the 32-item catapult sweep with ``executor``."""
    from qshock.experiments.studies.driver import run_study

    cfg = os.path.join(tmp, "sweep.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(", ".join(f"{0.25 + 0.5 * i:g}" for i in range(N_VALUES))))
    t0 = time.perf_counter()
    doc = run_study("catapult", cfg, seeds=SEEDS, out=os.path.join(tmp, label), quiet=True, formats=(),
                    executor=executor)
    return time.perf_counter() - t0, doc


def empty_items(tmp: str, executor, label: str, n: int = 32, batch: int = 32) -> float:
    """Seconds per empty item through the item store, ``batch`` items submitted at a time."""
    from qshock.experiments.studies.store import ItemStore

    out = os.path.join(tmp, label)
    os.makedirs(os.path.join(out, "items"))
    st = ItemStore(out, executor=executor)
    keys = [f"i{i}" for i in range(n)]
    t0 = time.perf_counter()
    docs = []
    for j in range(0, n, batch):
        docs += st.map(keys[j:j + batch], [{"i": i} for i in range(j, j + batch)],
                       [functools.partial(dict, i=i) for i in range(j, j + batch)])
    dt = time.perf_counter() - t0
    assert [d["i"] for d in docs] == list(range(n))
    return dt / n


def run(report):
    """Measure and ``report`` the two tables of the module docstring."""
    from qshock.experiments.studies.executor import LocalExecutor, RayExecutor

    n = N_VALUES * SEEDS
    rows, docs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("cold", "warm"):
            rows["local", phase], docs["local", phase] = sweep(tmp, LocalExecutor(), f"local_{phase}")
        t0 = time.perf_counter()
        ex = RayExecutor(num_cpus=2).start()
        startup = time.perf_counter() - t0
        try:
            for phase in ("cold", "warm"):
                rows["ray", phase], docs["ray", phase] = sweep(tmp, ex, f"ray_{phase}")
            over = {(name, b): empty_items(tmp, e, f"empty_{name}_{b}", batch=b)
                    for name, e in (("local", LocalExecutor()), ("ray", ex)) for b in (32, 1)}
        finally:
            ex.close()
    ref = json.dumps(_strip(docs["local", "cold"]), sort_keys=True)
    for (name, phase), wall in rows.items():
        same = json.dumps(_strip(docs[name, phase]), sort_keys=True) == ref
        report({"table": "ray sweep", "executor": "local" if name == "local" else "ray (2 CPUs)",
                "workers": phase + (" (compiles)" if phase == "cold" else " (compiled)"), "items": n,
                "startup_s": startup if (name, phase) == ("ray", "cold") else 0.0, "wall_s": wall,
                "per_item_s": wall / n, "speedup": rows["local", phase] / wall, "identical": "yes" if same else "NO"})
    for name in ("local", "ray"):
        report({"table": "ray overhead", "executor": "local" if name == "local" else "ray (2 CPUs)",
                "ms_per_item_32_at_once": 1e3 * over[name, 32], "ms_per_item_one_at_a_time": 1e3 * over[name, 1]})
