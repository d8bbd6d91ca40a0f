"""Sphere-packing dynamics throughput (``qshock.experiments.lab.particles``): steps per second of one
BRO step (kick ε = 0.01σ, φ = 0.6, float32, one system) by four codes that compute the same update:

* ``jax verlet``: the production path, a Verlet list (skin 0.3σ) rebuilt from the jitted cell list
  only when some particle moved more than skin/2 (``simulate``'s compiled loop);
* ``jax cell list``: the same loop with the list rebuilt every step (skin → 0);
* ``jax O(N^2)``: all pairs every step (dense N × N arrays per axis, the same structure-of-arrays
  layout as the production code; only up to N = 4000, memory);
* ``numpy cell list``: the same cell-list algorithm in vectorised NumPy, rebuilt every step.

``run(report)`` reports one row per (code, N) with ``steps_per_s`` (wall clock),
``cpu_steps_per_s`` (steps per CPU-second of this process: the number to read on a shared
machine, where the wall clock mostly measures the other jobs), ``slowdown`` (the production
code's CPU steps/s divided by this code's, measured in the same run) and ``cpu_1e5_steps_s``
(CPU seconds for 10⁵ steps);
``max_dx_diff`` checks that the NumPy and dense codes give the production code's displacement.
Only the step loop is timed (after a compilation call). Runs in a few minutes on 2 cores.
"""

from __future__ import annotations

import time

import numpy as np

PHI, EPS, SKIN = 0.6, 0.01, 0.3


def _mix_np(v):
    v = np.asarray(v, np.uint32)
    v = v ^ (v >> np.uint32(16))
    v = v * np.uint32(0x7FEB352D)
    v = v ^ (v >> np.uint32(15))
    v = v * np.uint32(0x846CA68B)
    return v ^ (v >> np.uint32(16))


def _pair_uniform_np(i, j, salt):
    """NumPy copy of ``particles.pair_uniform`` (uint32 arithmetic wraps modulo 2³²)."""
    a, b = np.minimum(i, j).astype(np.uint32), np.maximum(i, j).astype(np.uint32)
    with np.errstate(over="ignore"):
        h = _mix_np(a ^ _mix_np(b ^ _mix_np(np.asarray(salt, np.uint32) + np.uint32(0x9E3779B9))))
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)


def numpy_bro_step(x, L, sigma, eps, salt, m, cap):
    """One BRO displacement by a NumPy cell list (m³ cells, capacity ``cap``), same maths and
    random numbers as ``particles.displacement``."""
    n = x.shape[0]
    c = np.floor(x * (m / L)).astype(np.int64) % m
    cid = (c[:, 0] * m + c[:, 1]) * m + c[:, 2]
    order = np.argsort(cid, kind="stable")
    sc = cid[order]
    start = np.searchsorted(sc, np.arange(m ** 3))
    rank = np.arange(n) - start[sc]
    if rank.max() >= cap:
        raise RuntimeError(f"numpy cell list overflow: cell_capacity = {cap}")
    table = np.full((m ** 3, cap), n, np.int64)
    table[sc, rank] = order
    dx = np.zeros_like(x)
    xp = np.vstack([x, np.zeros((1, 3), x.dtype)])
    for a in (-1, 0, 1):
        for b in (-1, 0, 1):
            for e in (-1, 0, 1):
                cc = (c + np.array([a, b, e])) % m
                j = table[(cc[:, 0] * m + cc[:, 1]) * m + cc[:, 2]]  # (n, cap)
                d = x[:, None, :] - xp[j]
                d -= L * np.round(d / L)
                r = np.sqrt(np.maximum(np.sum(d * d, -1), 1e-30))
                ok = (j < n) & (j != np.arange(n)[:, None]) & (r < sigma)
                u2 = _pair_uniform_np(np.arange(n)[:, None], j, np.uint32(salt) ^ np.uint32(0x5BD1E995))
                coef = np.where(ok, eps * sigma * u2, 0.0).astype(x.dtype)
                dx += np.sum((coef / r)[..., None] * d, axis=1)
    return dx


def _jax_dense_step():
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import particles as P

    def step(x, L, sigma, eps, salt):
        n = x.shape[0]
        d = [P.minimum_image(x[:, None, c] - x[None, :, c], L) for c in range(3)]  # (N, N) per axis
        r = jnp.sqrt(jnp.maximum(d[0] * d[0] + d[1] * d[1] + d[2] * d[2], 1e-30))
        i = jnp.arange(n)
        ok = (i[:, None] != i[None, :]) & (r < sigma)
        u2 = P.pair_uniform(i[:, None], i[None, :], salt ^ jnp.uint32(0x5BD1E995)).astype(x.dtype)
        w = jnp.where(ok, eps * sigma * u2, 0.0) / r
        return jnp.stack([jnp.sum(w * dc, axis=1) for dc in d], axis=1)

    def run(x, L, sigma, eps, steps):
        body = lambda t, x: (x + step(x, L, sigma, eps, t.astype(jnp.uint32))) % L  # noqa: E731
        return jax.lax.fori_loop(0, steps, body, x)

    return jax.jit(step), jax.jit(run, static_argnums=4)


def _time_simulate(n, steps, skin):
    """Steps/s of ``particles.simulate`` (BRO, one system) for ``steps`` steps, compilation excluded."""
    from qshock.experiments.lab import particles as P

    kw = dict(mode="bro", eps=EPS, skin=skin, dtype="float32")
    P.simulate(n, [PHI], [0], steps=10, record_every=1, **kw)  # compile (the chunk length is traced)
    t0, c0 = time.perf_counter(), time.process_time()
    r = P.simulate(n, [PHI], [0], steps=steps, record_every=steps // 10, **kw)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    r["cpu_steps_per_s"] = r["steps_done"] / dc
    return r["steps_done"] / dt, r


def _reference_dx(n):
    """A configuration and the production displacement for the cross-checks (float64-free: float32)."""
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import particles as P

    L = P.box_side(n, PHI)
    x = P.random_positions(jax.random.PRNGKey(1), n, L, jnp.float32)
    m = P.cell_count(L, 1.0 + SKIN)
    cap, k = P.default_capacities(n, L, 1.0 + SKIN, PHI, 1.0)
    nb, _, _ = P.neighbour_list(x, L, 1.0 + SKIN, m, cap, k)
    dx = P.displacement(x, nb, L, 1.0, (0.0, 1.0, EPS, 1.0), jnp.uint32(5), 1)[0]
    return np.asarray(x), L, np.asarray(dx), P.cell_count(L, 1.0), cap


def _old_build(x, L, rc, m, cap, k):
    """The previous neighbour build (per-cell table padded to ``cap`` per cell, 27 × cap candidates
    per particle in (N, 27 cap, 3) layout, compaction by cumulative count and scatter)."""
    import jax.numpy as jnp

    from qshock.experiments.lab import particles as P

    n = x.shape[0]
    table, _ = P.cell_table(x, L, m, cap)
    c = jnp.floor(x * (m / L)).astype(jnp.int32) % m
    off = jnp.array([(a, b, e) for a in (-1, 0, 1) for b in (-1, 0, 1) for e in (-1, 0, 1)], jnp.int32)
    cc = (c[:, None, :] + off[None]) % m
    cand = table[(cc[..., 0] * m + cc[..., 1]) * m + cc[..., 2]].reshape(n, -1)
    d = P.minimum_image(x[:, None, :] - jnp.concatenate([x, jnp.zeros((1, 3), x.dtype)])[cand], L)
    mask = (cand < n) & (cand != jnp.arange(n)[:, None]) & (jnp.sum(d * d, -1) < rc * rc)
    cnt = jnp.cumsum(mask, axis=1, dtype=jnp.int32)
    flat = jnp.where(mask & (cnt <= k), jnp.arange(n, dtype=jnp.int32)[:, None] * k + cnt - 1, n * k)
    return jnp.full((n * k,), n, jnp.int32).at[flat.ravel()].set(cand.ravel(), mode="drop").reshape(n, k)


def _old_step(x, nbr, L, eps, salt):
    """The previous BRO displacement in (N, k, 3) layout (array of structures)."""
    import jax.numpy as jnp

    from qshock.experiments.lab import particles as P

    n = x.shape[0]
    d = P.minimum_image(x[:, None, :] - jnp.concatenate([x, jnp.zeros((1, 3), x.dtype)])[nbr], L)
    r = jnp.sqrt(jnp.maximum(jnp.sum(d * d, -1), 1e-30))
    i = jnp.broadcast_to(jnp.arange(n)[:, None], nbr.shape)
    u = P.pair_uniform(i, nbr, salt ^ jnp.uint32(0x5BD1E995)).astype(x.dtype)
    c = jnp.where((nbr < n) & (r < 1.0), eps * u, 0.0)
    return jnp.sum((c / r)[..., None] * d, axis=1)


def profile(report, n=10000, reps=(3, 20)):
    """CPU milliseconds of the parts of one step at N = ``n`` (φ = 0.6, float32, from a Poisson
    start): the neighbour build and the displacement, each as now and as before, and the
    displacement under ``vmap`` over one system (what ``simulate`` did before: a batched gather)."""
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import particles as P

    L, rc = P.box_side(n, PHI), 1.0 + SKIN
    m = P.cell_count(L, rc)
    x = P.random_positions(jax.random.PRNGKey(0), n, L, jnp.float32)
    cap, k = P.default_capacities(n, L, rc, PHI, 1.0)
    old_cap = int(np.max(np.sum(np.asarray(P.cell_table(x, L, m, 64)[0]) < n, 1))) + 3  # largest cell + 3
    nb = jax.jit(lambda x: P.neighbour_list(x, L, rc, m, cap, k))(x)[0]
    one = lambda x, nb, s: P.displacement(x, nb, L, 1.0, (0.0, 1.0, EPS, 1.0), s, 1)[0]  # noqa: E731
    parts = [("build: 27-cell block packing, top_k (now)", jax.jit(lambda x: P.neighbour_list(x, L, rc, m, cap, k)[0]),
              (x,), reps[0]),
             ("build: per-cell padding, scatter (before)", jax.jit(lambda x: _old_build(x, L, rc, m, old_cap, k)),
              (x,), reps[0]),
             ("step: (N, k) per axis (now)", jax.jit(one), (x, nb, jnp.uint32(3)), reps[1]),
             ("step: (N, k, 3) (before)", jax.jit(lambda x, nb, s: _old_step(x, nb, L, EPS, s)), (x, nb, jnp.uint32(3)),
              reps[1]),
             ("step: vmap over 1 system", jax.jit(jax.vmap(one)), (x[None], nb[None], jnp.uint32([3])), reps[1])]
    for name, f, args, r in parts:
        jax.block_until_ready(f(*args))
        c0 = time.process_time()
        for _ in range(r):
            out = f(*args)
        jax.block_until_ready(out)
        report(dict(table="particles_profile", part=name, N=n, cpu_ms=1e3 * (time.process_time() - c0) / r))


def run(report, sizes=(1000, 10000), dense_sizes=(1000, 2000, 4000), steps=(2000, 1000), numpy_steps=(20, 3)):
    """Measure and ``report`` steps/s per code and N (module docstring)."""
    import jax
    import jax.numpy as jnp

    profile(report)
    base = {}
    for n, s in zip(sizes, steps):
        sps, r = _time_simulate(n, s, SKIN)
        cps = base[n] = r["cpu_steps_per_s"]
        report(dict(table="particles", code="jax verlet", N=n, steps_per_s=sps, cpu_steps_per_s=cps, slowdown=1.0,
                    cpu_1e5_steps_s=1e5 / cps, builds_per_step=r["builds"] / max(1, r["steps_done"]), max_dx_diff=0.0))
        sps_c, r = _time_simulate(n, max(20, s // 5), 1e-6)
        c = r["cpu_steps_per_s"]
        report(dict(table="particles", code="jax cell list", N=n, steps_per_s=sps_c, cpu_steps_per_s=c,
                    slowdown=cps / c, cpu_1e5_steps_s=1e5 / c, builds_per_step=r["builds"] / max(1, r["steps_done"])))
        x, L, dx, m1, cap = _reference_dx(n)
        numpy_bro_step(x, L, 1.0, EPS, 5, m1, cap + 8)
        ns = numpy_steps[sizes.index(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        for t in range(ns):
            d_np = numpy_bro_step(x, L, 1.0, EPS, 5, m1, cap + 8)
        c = ns / (time.process_time() - c0)
        report(dict(table="particles", code="numpy cell list", N=n, steps_per_s=ns / (time.perf_counter() - t0),
                    cpu_steps_per_s=c, slowdown=cps / c, cpu_1e5_steps_s=1e5 / c, builds_per_step=1.0,
                    max_dx_diff=float(np.abs(d_np - dx).max())))
    step, loop = _jax_dense_step()
    for n in dense_sizes:
        x, L, dx, _, _ = _reference_dx(n)
        xj = jnp.asarray(x)
        d_dense = np.asarray(step(xj, L, 1.0, EPS, jnp.uint32(5)))
        ns = max(5, int(2e8 / n ** 2))
        jax.block_until_ready(loop(xj, L, 1.0, EPS, ns))
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(loop(xj, L, 1.0, EPS, ns))
        c = ns / (time.process_time() - c0)
        ref = base.get(n)
        report(dict(table="particles", code="jax O(N^2)", N=n, steps_per_s=ns / (time.perf_counter() - t0),
                    cpu_steps_per_s=c, slowdown=(ref / c) if ref else None, cpu_1e5_steps_s=1e5 / c,
                    builds_per_step=None, max_dx_diff=float(np.abs(d_dense - dx).max())))


def main(out: str = "docs/data/absorbing-state") -> None:
    """``python -m benchmarks.bench_particles [OUT]``: run and write ``OUT/bench_particles.{json,md}``."""
    import json
    import os
    import sys

    import jax

    from benchmarks.run import markdown_tables

    jax.config.update("jax_enable_x64", True)  # an entry point, as benchmarks/run.py
    out = sys.argv[1] if len(sys.argv) > 1 else out
    rows, t0 = [], time.perf_counter()
    run(lambda r: (rows.append(dict(r)), print(r, flush=True)))
    hdr = (f"bench_particles on {os.cpu_count()} cores, jax {jax.__version__}, "
           f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.perf_counter() - t0:.0f} s wall, "
           f"load average at the end {os.getloadavg()[0]:.1f}")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "bench_particles.json"), "w") as f:
        json.dump({"header": hdr, "rows": rows}, f, indent=1, default=str)
    with open(os.path.join(out, "bench_particles.md"), "w") as f:
        f.write(hdr + "\n\n" + markdown_tables(rows))


if __name__ == "__main__":
    main()
