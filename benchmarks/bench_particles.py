"""Sphere-packing dynamics throughput (``qshock.experiments.lab.particles``): steps per second of one
BRO step (kick ε = 0.01σ, φ = 0.6, float32, one system) by four codes that compute the same update:

* ``jax verlet``: the production path, a Verlet list (skin 0.3σ) rebuilt from the jitted cell list
  only when some particle moved more than skin/2 (``simulate``'s compiled loop);
* ``jax cell list``: the same loop with the list rebuilt every step (skin → 0);
* ``jax O(N^2)``: all pairs every step (dense N × N arrays per axis, the same structure-of-arrays
  layout as the production code; only up to N = 4000, memory);
* ``numpy cell list``: the same cell-list algorithm in vectorised NumPy, rebuilt every step.

``run(report)`` reports one row per (code, N) with ``steps_per_s`` (wall clock; for the
production code also ``cpu_steps_per_s``, steps per CPU-second of this process, the number to read
on a shared machine), ``slowdown`` (the production
code's steps/s divided by this code's) and ``t_1e5_steps_s`` (the time for 10⁵ steps);
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


def run(report, sizes=(1000, 10000), dense_sizes=(1000, 2000, 4000), steps=(2000, 1000), numpy_steps=(20, 3)):
    """Measure and ``report`` steps/s per code and N (module docstring)."""
    import jax
    import jax.numpy as jnp

    base = {}
    for n, s in zip(sizes, steps):
        sps, r = _time_simulate(n, s, SKIN)
        base[n] = sps
        report(dict(table="particles", code="jax verlet", N=n, steps_per_s=sps, slowdown=1.0, t_1e5_steps_s=1e5 / sps,
                    builds_per_step=r["builds"] / max(1, r["steps_done"]), max_dx_diff=0.0,
                    cpu_steps_per_s=r["cpu_steps_per_s"]))
        sps_c, r = _time_simulate(n, max(20, s // 5), 1e-6)
        report(dict(table="particles", code="jax cell list", N=n, steps_per_s=sps_c, slowdown=sps / sps_c,
                    t_1e5_steps_s=1e5 / sps_c, builds_per_step=r["builds"] / max(1, r["steps_done"])))
        x, L, dx, m1, cap = _reference_dx(n)
        numpy_bro_step(x, L, 1.0, EPS, 5, m1, cap + 8)
        t0 = time.perf_counter()
        for t in range(numpy_steps[sizes.index(n)]):
            d_np = numpy_bro_step(x, L, 1.0, EPS, 5, m1, cap + 8)
        sps_n = numpy_steps[sizes.index(n)] / (time.perf_counter() - t0)
        report(dict(table="particles", code="numpy cell list", N=n, steps_per_s=sps_n, slowdown=sps / sps_n,
                    t_1e5_steps_s=1e5 / sps_n, builds_per_step=1.0,
                    max_dx_diff=float(np.abs(d_np - dx).max())))
    step, loop = _jax_dense_step()
    for n in dense_sizes:
        x, L, dx, _, _ = _reference_dx(n)
        xj = jnp.asarray(x)
        d_dense = np.asarray(step(xj, L, 1.0, EPS, jnp.uint32(5)))
        ns = max(5, int(2e8 / n ** 2))
        jax.block_until_ready(loop(xj, L, 1.0, EPS, ns))
        t0 = time.perf_counter()
        jax.block_until_ready(loop(xj, L, 1.0, EPS, ns))
        sps_d = ns / (time.perf_counter() - t0)
        ref = base.get(n)
        report(dict(table="particles", code="jax O(N^2)", N=n, steps_per_s=sps_d,
                    slowdown=(ref / sps_d) if ref else None, t_1e5_steps_s=1e5 / sps_d, builds_per_step=None,
                    max_dx_diff=float(np.abs(d_dense - dx).max())))
