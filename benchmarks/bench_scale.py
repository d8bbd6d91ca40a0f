"""Cost of scale (``make bench`` ``[scale]``; issue 14).

* Strong and weak scaling of sharded solves on 1, 2, 4 and 8 forced host devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count=D``, one subprocess per D): finite volume
  (2-D HJ, WENO5, ``ssprk3-fixed``) and spectral (2-D Burgers, ETDRK4, slab FFTs). Strong: one
  grid for every D; weak: the same block per device. On a 2-core machine D > 2 devices share two
  cores, so these tables show the overhead of sharding (halo messages, all-to-all transposes, the
  global CFL reduction), not a speed-up.
* Halo-exchange cost per step: the ghost-cell exchanges one SSP-RK3 step performs (counted while
  tracing the sharded right-hand side), timed alone in a ``shard_map``.
* Ensemble rate: a 1,000-member ``vmap`` of 1-D WENO5 Burgers solves against one solve with as many
  cells in total, in cell-steps per second (same run, same process).
* Compilation cache: two identical ``qshock solve`` invocations with an empty persistent cache
  (``QSHOCK_CACHE_DIR``), wall time of each.

Timings are the best of 3 after a warm-up (``jax.block_until_ready``); other work shares the cores,
so absolute numbers vary; ratios within one run are the numbers to compare.
Run alone: ``python -m benchmarks.bench_scale`` (writes ``docs/data/bench/scale.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

DEVICES = (1, 2, 4, 8)
STEPS = 10
FV_N, FV_BLOCK = 256, 32          # strong: 256 x 256; weak: (32 D) x 256
SP_N, SP_BLOCK = 128, 16          # spectral strong: 128 x 128; weak: (16 D) x 128

CHILD = textwrap.dedent(r'''
    import json, sys, time, warnings
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    warnings.simplefilter("ignore")
    from jax.sharding import PartitionSpec as P
    from qshock.solver import Burgers, Grid, HamiltonJacobi
    from qshock.solver import sharding as sh
    from qshock.solver.stepping import build_stepper
    from qshock.solver.spectral import solve_spectral
    D, steps, fv_n, fv_block, sp_n, sp_block = (int(a) for a in sys.argv[1:7])

    def best(fn, *a, reps=3):
        jax.block_until_ready(fn(*a))
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*a))
            out.append(time.perf_counter() - t0)
        return min(out)

    def fv(nx, ny, mesh):
        g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (nx, ny), "periodic")
        X, Y = (np.asarray(c) for c in g.mesh())
        u0 = jnp.asarray(np.sin(X) * np.cos(Y))
        eq = HamiltonJacobi(nu=0.01)
        run, _, _ = build_stepper(eq, g, [0.0, steps * 1e-3], scheme="weno5", method="ssprk3-fixed", dt=1e-3,
                                  mesh=mesh)
        return best(jax.jit(run), u0) / steps

    def spectral(nx, ny, mesh):
        """seconds per ETDRK4 step: (time of 5S steps - time of S steps) / 4S (host set-up cancels)"""
        g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (nx, ny), "periodic")
        X, Y = (np.asarray(c) for c in g.mesh())
        v0 = np.stack([np.sin(X) * np.cos(Y), np.cos(X)])
        fn = lambda s: solve_spectral(Burgers(nu=0.05), g, v0, 1e-2, steps_per_output=s, mesh=mesh).u
        return max(best(fn, 5 * steps) - best(fn, steps), 1e-9) / (4 * steps)

    def halo(nx, ny):
        """seconds per step of the ghost exchanges alone (count from tracing one sharded rhs)"""
        if D == 1:
            return 0.0, 0
        g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (nx, ny), "periodic")
        mesh, names = sh.as_mesh(D, g)
        hg = sh.HaloGrid(g, names, (D, 1))
        calls = []
        pad0 = hg.pad
        hg.pad = lambda u, w, axis=0, *a, **k: (calls.append((w, axis)), pad0(u, w, axis, *a, **k))[1]
        from qshock.solver.kernels import build_rhs
        from qshock.solver.schemes import Scheme
        disc = build_rhs(HamiltonJacobi(nu=0.01), hg, Scheme("weno5"), jnp.float64)
        jax.eval_shape(jax.shard_map(lambda u: disc.rhs(u, 0.0), mesh=mesh, in_specs=P("gx"), out_specs=P("gx"),
                                     check_vma=False), jnp.zeros((nx, ny)))
        sharded = [(w, a) for w, a in calls if a == 0]
        per_step = 3 * len(sharded)

        def exchanges(u):
            for w, a in sharded * 3:
                up = pad0(u, w, a)
                u = u + 1e-30 * (up[:w].sum() + up[-w:].sum())
            return u
        f = jax.jit(jax.shard_map(exchanges, mesh=mesh, in_specs=P("gx"), out_specs=P("gx"), check_vma=False))
        return best(f, jnp.ones((nx, ny))), per_step

    # every time is paired with its one-device reference, measured in this process right before it
    # (the cores are shared: only same-process ratios are comparable)
    out = {"devices": D}
    for kind, fn, n, block in (("fv", fv, fv_n, fv_block), ("sp", spectral, sp_n, sp_block)):
        out[kind + "_strong_1"] = fn(n, n, None)
        out[kind + "_strong"] = fn(n, n, D) if D > 1 else out[kind + "_strong_1"]
        out[kind + "_weak_1"] = fn(block, n, None)
        out[kind + "_weak"] = fn(block * D, n, D) if D > 1 else out[kind + "_weak_1"]
    out["halo_s"], out["halo_msgs"] = halo(fv_n, fv_n)
    print(json.dumps(out))
''')

ENSEMBLE = textwrap.dedent(r'''
    import json, time
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import build_stepper
    members, n, steps = 1000, 128, 20

    def best(fn, x, reps=3):
        jax.block_until_ready(fn(x))
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(x))
            ts.append(time.perf_counter() - t0)
        return min(ts)

    def stepper(cells):
        g = Grid(0, 2 * np.pi, cells, "periodic")
        run, _, _ = build_stepper(Burgers(nu=0.01), g, [0.0, steps * 1e-3], scheme="weno5", method="ssprk3-fixed",
                                  dt=1e-3)
        return run, np.sin(np.asarray(g.centres()))

    run, x = stepper(n)
    ens = jax.jit(jax.vmap(run))
    u = jnp.asarray(x[None] * (1 + 0.1 * np.random.default_rng(0).standard_normal((members, 1))))
    t_ens = best(ens, u)
    run_big, xb = stepper(members * n)
    t_big = best(jax.jit(run_big), jnp.asarray(xb))
    run_one, _ = stepper(n)
    t_one = best(jax.jit(run_one), jnp.asarray(x))
    rate = lambda cells, t: cells * steps / t
    print(json.dumps({"members": members, "cells": n, "steps": steps, "ensemble": rate(members * n, t_ens),
                      "one_big": rate(members * n, t_big), "one_member": rate(n, t_one)}))
''')


def _child(code: str, args, devices: int = 1, timeout: float = 1800) -> dict:
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices} --xla_cpu_multi_thread_eigen=false "
                        "intra_op_parallelism_threads=1"}
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cache_runs() -> list[float]:
    """Wall seconds of two identical ``qshock solve`` runs sharing a fresh compilation cache."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QSHOCK_CACHE_DIR": os.path.join(tmp, "cache"), "JAX_PLATFORMS": "cpu"}
        cmd = [sys.executable, "-m", "qshock.experiments.cli.main", "solve", "--equation", "hj", "--domain",
               "0:2*pi,0:2*pi", "--n", "64,64", "--ic", "sin(x)*cos(y)", "--nu", "0.01", "--t1", "0.5", "--quiet"]
        walls = []
        for i in range(2):
            t0 = time.perf_counter()
            subprocess.run(cmd + ["--out", os.path.join(tmp, f"u{i}.nc")], env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
    return walls


def run(report) -> None:
    rows = {d: _child(CHILD, (d, STEPS, FV_N, FV_BLOCK, SP_N, SP_BLOCK), devices=d) for d in DEVICES}
    for kind, label, n, block in (("fv", "FV 2-D HJ WENO5", FV_N, FV_BLOCK),
                                  ("sp", "spectral 2-D Burgers", SP_N, SP_BLOCK)):
        for d, r in rows.items():
            report({"table": f"scale: strong and weak scaling, {label} (2 cores: overhead, not speed-up)",
                    "devices": d, "strong grid": f"{n}x{n}", "strong ms/step": 1e3 * r[f"{kind}_strong"],
                    "1 device ms/step": 1e3 * r[f"{kind}_strong_1"],
                    "strong speed-up": r[f"{kind}_strong_1"] / r[f"{kind}_strong"],
                    "weak grid": f"{block * d}x{n}", "weak ms/step": 1e3 * r[f"{kind}_weak"],
                    "block on 1 device ms/step": 1e3 * r[f"{kind}_weak_1"],
                    "weak efficiency": r[f"{kind}_weak_1"] / r[f"{kind}_weak"]})
    for d, r in rows.items():
        if d > 1:
            report({"table": f"scale: halo exchange per step, FV 2-D HJ WENO5 {FV_N}x{FV_N}", "devices": d,
                    "exchanges/step": r["halo_msgs"], "halo ms/step": 1e3 * r["halo_s"],
                    "share of the sharded step": r["halo_s"] / r["fv_strong"]})
    e = _child(ENSEMBLE, ())
    report({"table": "scale: vmap ensemble rate (1-D WENO5 Burgers, cell-steps/s)", "members": e["members"],
            "cells/member": e["cells"], "ensemble": e["ensemble"], "one solve, same total cells": e["one_big"],
            "one member alone": e["one_member"], "ratio ensemble / one solve": e["ensemble"] / e["one_big"]})
    walls = _cache_runs()
    report({"table": "scale: persistent compilation cache (qshock solve, 2-D HJ 64x64)", "first run s": walls[0],
            "second run s": walls[1], "speed-up": walls[0] / walls[1]})


def main() -> int:
    from benchmarks.run import markdown_tables

    rows = []
    run(lambda r: (rows.append(dict(r)), print(r, flush=True)))
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "docs", "data", "bench", "scale.md")
    with open(path + ".tmp", "w") as fh:
        fh.write(f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores shared with other work "
                 "(`python -m benchmarks.bench_scale`).\n\n" + markdown_tables(rows))
    os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
