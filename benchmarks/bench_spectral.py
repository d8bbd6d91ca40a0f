"""Spectral Burgers benchmark: qshock ETDRK4 vs exponax 0.2.0, float64 and float32.

Problem: u_t + (u²/2)_x = ν u_xx on [0, 2π) periodic, u0 = sin x, t = 2, ν ∈ {0.1, 0.01},
N ∈ {256, 1024, 4096}. Both codes use ETDRK4 with the same fixed step dt = 1e-3 (2000
steps); exponax is ``exponax.stepper.Burgers(1, 2π, N, dt, diffusivity=ν, order=4)``
(same equation: exponax's ``b₁ ½(u²)ₓ`` with b₁ = 1 and ``ν uₓₓ``; 2/3 dealiasing,
16 contour points). qshock is run with its default 3/2 zero-padding and with the 2/3 rule.
Error: max-norm against the Cole–Hopf solution (log-stable heat-kernel quadrature) at the
sample points of each code. Timings exclude compilation (best of 2 runs after a warm-up).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

T1, DT = 2.0, 1e-3


def _cole_hopf(x, t, nu):
    s = np.sqrt(2 * nu * t)
    h = min(s, np.sqrt(2 * nu)) / 40
    y = np.arange(-14 * s, 14 * s + h, h)
    out = np.empty_like(x)
    for i, xi in enumerate(x):
        lw = np.cos(xi - y) / (2 * nu) - y**2 / (4 * nu * t)
        w = np.exp(lw - lw.max())
        out[i] = np.sum(y * w) / np.sum(w) / t
    return out


def _best_time(fn, repeats=2):
    fn()  # warm-up / compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t0)
    return best, out


def _cast_tree(tree, dtype):
    cdt = jnp.complex64 if dtype == jnp.float32 else jnp.complex128

    def cast(a):
        if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.complexfloating):
            return a.astype(cdt)
        if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.floating):
            return a.astype(dtype)
        return a

    return jax.tree_util.tree_map(cast, tree)


def run(report):
    import exponax

    from qshock import solver
    from qshock.solver.spectral import solve_spectral

    n_steps = int(round(T1 / DT))
    for nu in (0.1, 0.01):
        for N in (256, 1024, 4096):
            g = solver.Grid(0.0, 2 * np.pi, N)
            xc = np.asarray(g.centres(), dtype=np.float64)
            xe = np.arange(N) * 2 * np.pi / N
            ref_c, ref_e = _cole_hopf(xc, T1, nu), _cole_hopf(xe, T1, nu)
            for dtype in (jnp.float64, jnp.float32):
                name = jnp.dtype(dtype).name
                for dealias in ("3/2", "2/3"):
                    u0 = np.sin(xc).astype(name)
                    call = lambda: solve_spectral(solver.Burgers(nu), g, u0, T1, dt=DT, dtype=dtype,
                                                  dealias=dealias, resolution_tol=1.0).u
                    sec, u = _best_time(call)
                    report({"table": "spectral Burgers vs exponax (t=2, dt=1e-3, ETDRK4)", "nu": nu, "N": N,
                            "dtype": name, "code": f"qshock ({dealias})", "steps/s": n_steps / sec,
                            "max error": float(np.max(np.abs(np.asarray(u[-1], np.float64) - ref_c)))})
                stepper = exponax.stepper.Burgers(1, 2 * np.pi, N, DT, diffusivity=nu, order=4)
                stepper = _cast_tree(stepper, dtype)
                run_ex = jax.jit(lambda v: jax.lax.fori_loop(0, n_steps, lambda i, w: stepper(w), v))
                v0 = jnp.asarray(np.sin(xe)[None], dtype)
                sec, v = _best_time(lambda: run_ex(v0))
                report({"table": "spectral Burgers vs exponax (t=2, dt=1e-3, ETDRK4)", "nu": nu, "N": N,
                        "dtype": name, "code": "exponax (2/3)", "steps/s": n_steps / sec,
                        "max error": float(np.max(np.abs(np.asarray(v[0], np.float64) - ref_e)))})


if __name__ == "__main__":  # pragma: no cover
    jax.config.update("jax_enable_x64", True)
    run(lambda row: print(row, flush=True))
