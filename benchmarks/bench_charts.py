"""Implicit viscosity on charts: ``method='imex'`` vs the explicit SSP-RK3 step, at equal error.

Problem: viscous HJ on S² in the spherical chart, u_t + ½|∇u|²_g = ν Δ_g u, ν = 0.1, exact solution
u = −2ν log(1 + ε e^{−2νt} X₁) (``manifolds.sphere_hj_exact``, ε = 0.5), WENO5, CFL 0.4, t = 0.1,
grids N_θ × N_φ = 64×128 and 128×256. Both methods use the same spatial discretisation; the error
is the max-norm against the exact solution at t. The explicit step is limited by the viscous
bound next to the poles (∝ N⁻⁴); when its run would exceed ``EXPLICIT_BUDGET`` steps its wall time
is the measured time of ``PROBE_STEPS`` steps times its step count (``estimate_steps``), and its
error is not measured (marked ``estimated``). Timings exclude compilation (best of 2 after a warm-up)
and are taken on a shared, loaded 2-core machine: read the ratio, measured in one run.

Second table: S² transforms at L = 32, 64, 128 (Gauss–Legendre, L × (2L − 1) nodes, real fields):
qshock's NumPy transforms (:mod:`solver.spectral.sphere`), the same dense Legendre products in
``jax.numpy`` under ``jit`` (:class:`solver.spectral.sphere_etdrk4.JaxSphereTransform`, used by the
ETDRK4 solver) and ``s2fft`` 1.5 (``method='jax'``, ``reality=True``, jitted). Accuracy: relative
max error of synthesis∘analysis∘synthesis against synthesis of random band-limited coefficients;
time: one analysis + one synthesis (best of 3 after a warm-up); compile: first call.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

NU, EPS, T1, CFL = 0.1, 0.5, 0.1, 0.4
GRIDS = (64, 128)
BANDS = (32, 64, 128)
EXPLICIT_BUDGET = 60_000
PROBE_STEPS = 100


def _best(fn, repeats=2):
    jax.block_until_ready(fn())
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t0)
    return best, out


def _setup(n):
    from qshock.manifolds import sphere_hj_exact
    from qshock.solver.charts import chart_setup
    from qshock.solver.equations import HamiltonJacobi
    from qshock.solver.grid import Grid

    m, names, dom, bcs, _, _ = chart_setup("sphere", "spherical")
    g = Grid(dom[0], dom[1], (n, 2 * n), bcs, names)
    f = jax.jit(jax.vmap(lambda x, t: sphere_hj_exact(x, t, NU, EPS, "spherical"), in_axes=(0, None)))

    def exact(t):
        return f(g.points().reshape(-1, 2), t).reshape(g.shape)
    return HamiltonJacobi(nu=NU, manifold=m), g, exact


def _timed(eq, g, u0, ts, method):
    from qshock.solver.stepping import build_stepper

    run, _, _ = build_stepper(eq, g, np.asarray(ts), scheme="weno5", cfl=CFL, method=method)
    jr = jax.jit(run)
    return _best(lambda: jr(u0))


def run(report):
    _imex_rows(report)
    _transform_rows(report)


def _imex_rows(report):
    from qshock.solver.stepping import estimate_steps

    for n in GRIDS:
        eq, g, exact = _setup(n)
        u0, ue = exact(0.0), exact(T1)
        t_imex, (us, n_imex, *_) = _timed(eq, g, u0, [0.0, T1], "imex")
        e_imex = float(jnp.max(jnp.abs(us[-1] - ue)))
        n_exp = estimate_steps(eq, g, u0, T1, scheme="weno5", cfl=CFL)
        if n_exp <= EXPLICIT_BUDGET:
            t_exp, (us, n_e, *_) = _timed(eq, g, u0, [0.0, T1], "ssprk3")
            e_exp, how, n_exp = float(jnp.max(jnp.abs(us[-1] - ue))), "measured", int(n_e)
        else:
            t_short = T1 * PROBE_STEPS / n_exp
            t_probe, (_, n_p, *_) = _timed(eq, g, u0, [0.0, t_short], "ssprk3")
            t_exp, e_exp, how = t_probe / int(n_p) * n_exp, float("nan"), "estimated"
        grid = f"{n}x{2 * n}"
        report({"table": "S² viscous HJ: IMEX (Strang, exact diffusion) vs explicit SSP-RK3", "grid": grid,
                "method": "imex", "steps": int(n_imex), "max error": e_imex, "time s": t_imex, "speed-up": t_exp / t_imex})
        report({"table": "S² viscous HJ: IMEX (Strang, exact diffusion) vs explicit SSP-RK3", "grid": grid,
                "method": f"explicit ({how})", "steps": int(n_exp), "max error": e_exp, "time s": t_exp,
                "speed-up": 1.0})


def _transform_rows(report):
    import s2fft

    from qshock.solver.spectral.sphere import sphere_transform
    from qshock.solver.spectral.sphere_etdrk4 import JaxSphereTransform

    rng = np.random.default_rng(0)
    table = "S² transforms (analysis + synthesis): NumPy vs jnp (jit) vs s2fft (jit)"
    for L in BANDS:
        T = sphere_transform(L, "gl")
        c = (rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))) * T.valid()
        c[0] = c[0].real
        f = T.synthesis(c)
        scale = float(np.max(np.abs(f)))
        t_np, back = _best(lambda: T.synthesis(T.analysis(f)), 3)
        rows = [("numpy (host)", float(np.max(np.abs(back - f))) / scale, t_np, 0.0)]
        J = JaxSphereTransform(T)
        jr = jax.jit(lambda g: J.synthesis(J.analysis(g)))
        t0 = time.perf_counter()
        jax.block_until_ready(jr(jnp.asarray(f)))
        comp = time.perf_counter() - t0
        t_j, back = _best(lambda: jr(jnp.asarray(f)), 3)
        rows.append(("jnp (jit)", float(jnp.max(jnp.abs(back - f))) / scale, t_j, comp))
        flm = np.zeros((L, 2 * L - 1), complex)
        for l in range(L):
            flm[l, L - 1] = rng.normal()
            for m in range(1, l + 1):
                flm[l, L - 1 + m] = rng.normal() + 1j * rng.normal()
                flm[l, L - 1 - m] = (-1) ** m * np.conj(flm[l, L - 1 + m])
        inv = jax.jit(lambda a: s2fft.inverse(a, L, sampling="gl", method="jax", reality=True))
        fwd = jax.jit(lambda g: s2fft.forward(g, L, sampling="gl", method="jax", reality=True))
        t0 = time.perf_counter()
        g = jax.block_until_ready(inv(jnp.asarray(flm)))
        jax.block_until_ready(fwd(g))
        comp = time.perf_counter() - t0
        t_s, back = _best(lambda: inv(fwd(g)), 3)
        rows.append(("s2fft 1.5 (jit)", float(jnp.max(jnp.abs(back - g)) / jnp.max(jnp.abs(g))), t_s, comp))
        for name, err, t, comp in rows:
            report({"table": table, "L": L, "transform": name, "round-trip error": err, "time ms": 1e3 * t,
                    "compile s": comp, "time / numpy": t / t_np})
