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

Timings are the best of 7 after a warm-up (``jax.block_until_ready``), the sharded run and its
one-device reference timed in turn in the same process; other work shares the cores, so absolute
numbers vary; the ratios are the numbers to compare. Spectral times per step are differences of a
5S- and an S-step solve over 4S (the host set-up of the coefficients cancels).
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
STEPS = 20
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
    REPS = 7

    def interleaved(fns):
        # best of REPS wall times of each thunk, the thunks timed in turn (A B C A B C ...): load
        # changes on the shared cores hit all of them alike
        for f in fns:
            jax.block_until_ready(f())
        best = [float("inf")] * len(fns)
        for _ in range(REPS):
            for i, f in enumerate(fns):
                t0 = time.perf_counter()
                jax.block_until_ready(f())
                best[i] = min(best[i], time.perf_counter() - t0)
        return best

    def fv(nx, ny, mesh):
        g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (nx, ny), "periodic")
        X, Y = (np.asarray(c) for c in g.mesh())
        u0 = jnp.asarray(np.sin(X) * np.cos(Y))
        run, _, _ = build_stepper(HamiltonJacobi(nu=0.01), g, [0.0, steps * 1e-3], scheme="weno5",
                                  method="ssprk3-fixed", dt=1e-3, mesh=mesh)
        f = jax.jit(run)
        return lambda: f(u0)

    def spectral(nx, ny, mesh, s):
        g = Grid((0, 0), (2 * np.pi, 2 * np.pi), (nx, ny), "periodic")
        X, Y = (np.asarray(c) for c in g.mesh())
        v0 = np.stack([np.sin(X) * np.cos(Y), np.cos(X)])
        return lambda: solve_spectral(Burgers(nu=0.05), g, v0, 1e-2, steps_per_output=s, mesh=mesh).u

    def halo(nx, ny):
        # the ghost exchanges of one sharded step alone (their count from tracing one sharded rhs)
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
        sharded = [(w, a) for w, a in calls if a == 0] * 3  # three SSP-RK3 stages

        def exchanges(u):
            for _ in range(steps):
                for w, a in sharded:
                    up = pad0(u, w, a)
                    u = u + 1e-30 * (up[:w].sum() + up[-w:].sum())
            return u
        f = jax.jit(jax.shard_map(exchanges, mesh=mesh, in_specs=P("gx"), out_specs=P("gx"), check_vma=False))
        u = jnp.ones((nx, ny))
        return (lambda: f(u)), len(sharded)

    # every sharded time is paired with its one-device reference, timed in turn in this process
    out = {"devices": D}
    mesh = None if D == 1 else D
    fns = [fv(fv_n, fv_n, None), fv(fv_n, fv_n, mesh), fv(fv_block, fv_n, None), fv(fv_block * D, fv_n, mesh)]
    if D > 1:
        h, out["halo_msgs"] = halo(fv_n, fv_n)
        fns.append(h)
    t = [x / steps for x in interleaved(fns)]
    out.update(fv_strong_1=t[0], fv_strong=t[1], fv_weak_1=t[2], fv_weak=t[3], halo_s=t[4] if D > 1 else 0.0)
    sp = []
    for nx in (sp_n, sp_block):
        for m in (None, mesh):
            sp += [spectral(nx, sp_n, m, steps), spectral(nx, sp_n, m, 5 * steps)]
    t = interleaved(sp)
    per = [max(t[2 * i + 1] - t[2 * i], 1e-9) / (4 * steps) for i in range(4)]
    out.update(sp_strong_1=per[0], sp_strong=per[1], sp_weak_1=per[2], sp_weak=per[3])
    print(json.dumps(out))
''')

ENSEMBLE = textwrap.dedent(r'''
    import json, time
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import build_stepper
    members, n, steps = 1000, 128, 20

    def stepper(cells):
        g = Grid(0, 2 * np.pi, cells, "periodic")
        run, _, _ = build_stepper(Burgers(nu=0.01), g, [0.0, steps * 1e-3], scheme="weno5", method="ssprk3-fixed",
                                  dt=1e-3)
        return run, np.sin(np.asarray(g.centres()))

    run, x = stepper(n)
    ens, one = jax.jit(jax.vmap(run)), jax.jit(run)
    u = jnp.asarray(x[None] * (1 + 0.1 * np.random.default_rng(0).standard_normal((members, 1))))
    run_big, xb = stepper(members * n)
    big, ub, x1 = jax.jit(run_big), jnp.asarray(xb), jnp.asarray(x)
    fns = [lambda: ens(u), lambda: big(ub), lambda: one(x1)]
    for f in fns:
        jax.block_until_ready(f())
    best = [float("inf")] * 3
    for _ in range(7):  # timed in turn: load changes hit all three alike
        for i, f in enumerate(fns):
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            best[i] = min(best[i], time.perf_counter() - t0)
    cells = [members * n, members * n, n]
    rate = [c * steps / t for c, t in zip(cells, best)]
    print(json.dumps({"members": members, "cells": n, "steps": steps, "ensemble": rate[0], "one_big": rate[1],
                      "one_member": rate[2]}))
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
                    "ghost exchanges/step (2 ppermutes each)": r["halo_msgs"], "halo ms/step": 1e3 * r["halo_s"],
                    "share of the sharded step": r["halo_s"] / r["fv_strong"]})
    e = _child(ENSEMBLE, ())
    report({"table": "scale: vmap ensemble rate (1-D WENO5 Burgers, cell-steps/s)", "members": e["members"],
            "cells/member": e["cells"], "ensemble": e["ensemble"], "one solve, same total cells": e["one_big"],
            "one member alone": e["one_member"], "ratio to one solve of as many cells": e["ensemble"] / e["one_big"],
            "ratio to one member alone": e["ensemble"] / e["one_member"]})
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
