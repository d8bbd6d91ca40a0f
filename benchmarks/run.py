"""Run every benchmark in one process and print one table per benchmark (``make bench``).

Each module ``benchmarks/bench_*.py`` exposes ``run(report)``; ``report(row: dict)`` records one
row (the keys of the first row of a table give its columns; a ``"table"`` key names the table).
Results are also written to ``benchmarks/results.json`` and ``benchmarks/results.md``.

Usage: ``python -m benchmarks.run [name ...]`` (names: fv, spectral, training, particles, ray; default all).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from collections import OrderedDict

MODULES = ("fv", "spectral", "training", "particles", "ray")
MODULES = MODULES + ("monitor",)  # ShockMonitor overhead (issue 11)
MODULES = MODULES + ("scale",)  # sharded solves, compile cache, ensembles (issue 14)
MODULES = MODULES + ("charts",)  # IMEX viscosity on charts, S² transforms (issue 15)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def markdown_tables(rows) -> str:
    tables: "OrderedDict[str, list]" = OrderedDict()
    for r in rows:
        tables.setdefault(r.get("table", "results"), []).append(r)
    out = []
    for name, rs in tables.items():
        cols = [k for k in rs[0] if k != "table"]
        for r in rs[1:]:
            cols += [k for k in r if k != "table" and k not in cols]
        out.append(f"### {name}\n")
        out.append("| " + " | ".join(cols) + " |")
        out.append("|" + "---|" * len(cols))
        for r in rs:
            out.append("| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |")
        out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    names = (argv if argv is not None else sys.argv[1:]) or list(MODULES)
    rows = []

    def report(row: dict):
        rows.append(dict(row))
        print("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in row.items()), flush=True)

    header = (f"qshock benchmarks on {platform.machine()} with {os.cpu_count()} cores, "
              f"python {platform.python_version()}, jax {jax.__version__}, {time.strftime('%Y-%m-%d')}")
    print(header, flush=True)
    for name in names:
        try:
            mod = importlib.import_module(f"benchmarks.bench_{name}")
        except ImportError as exc:
            print(f"[{name}] skipped: {exc}")
            continue
        print(f"[{name}]", flush=True)
        t0 = time.perf_counter()
        mod.run(report)
        print(f"[{name}] done in {time.perf_counter() - t0:.1f} s", flush=True)
    md = header + "\n\n" + markdown_tables(rows)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "results.json"), "w") as fh:
        json.dump({"header": header, "rows": rows}, fh, indent=1, default=str)
    with open(os.path.join(here, "results.md"), "w") as fh:
        fh.write(md)
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
