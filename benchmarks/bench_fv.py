r"""Finite-volume benchmark: qshock vs hj_reachability (2-D eikonal HJ) and 1-D WENO5 Burgers throughput.

**2-D eikonal HJ.** :math:`\varphi_t + |\nabla\varphi| = 0` on :math:`[-2, 2]^2`, :math:`\varphi_0 = |x| - 0.5`,
to t = 0.5. Exact viscosity solution (Hopf–Lax for H = |p|): :math:`\varphi = \max(|x| - t, 0) - 0.5`.

* qshock: ``HamiltonJacobi(H = sqrt(p·p + 1e-30))``, WENO5 (Jiang–Peng), **global** Lax–Friedrichs
  (``flux='lf'``, α from ∂H/∂p over the grid), SSP-RK3 with Δt from CFL 0.5 every step, outflow
  boundaries, cell-centred grid of N² cells.
* hj_reachability 0.7.0: ``hj.solve`` with WENO5 + global Lax–Friedrichs (its default) + TVD-RK3,
  CFL 0.5, its default boundary (``extrapolate_away_from_zero``), node grid of N² points including
  the boundary. Its Hamiltonian is a custom ``Dynamics`` returning |p| with the exact box maximum of
  |∂H/∂p_i| (= 1 here, as for qshock). With increasing ``times`` hj_reachability integrates
  :math:`v_t + H = 0` forward (its ``time_direction`` is +1), so both solve the same problem; the
  errors below confirm it.

A "step" is one full three-stage RK3 step. qshock returns its step count; for hj_reachability the
count is ⌈t/Δt⌉ with its own Δt = CFL/Σ_i(α_i/Δx_i) (α = 1 exactly, as its global box contains
p = 0), cross-checked once against an instrumented copy of its loop. Cell-updates/s = points ×
steps / steady wall time. Compile time = first call − steady call. Errors at each code's own
points: L1 = mean|e|·|Ω|, L∞ = max|e|, over the whole domain and over the inner box [−1.5, 1.5]².

**1-D WENO5 Burgers.** :math:`u_t + (u^2/2)_x = 0`, :math:`u_0 = \sin x` (cell averages) on [0, 2π)
periodic, WENO5-JS + Godunov flux, 200 fixed SSP-RK3 steps with Δt = 0.5 Δx (``ssprk3-fixed``) and,
for comparison, the CFL-adaptive ``ssprk3`` integrator over the same time. Error: L1 against cell
averages of the characteristic solution (t < 1, smooth).

Every timing is the best of several repetitions with ``jax.block_until_ready``.
"""

from __future__ import annotations

import math
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

T_HJ = 0.5
CFL = 0.5
HJ_SIZES = (101, 201, 401)
BURGERS_SIZES = (1024, 4096, 16384, 65536, 262144)
BURGERS_STEPS = 200
#: sizes at which the plain-JAX WENO5 anchor is timed next to qshock (float64 and float32)
ANCHOR_SIZES = (16384, 262144)
#: XLA:CPU flag that turns off YNNPACK library fusions (reductions over a short leading axis)
NO_YNN = "--xla_cpu_experimental_ynn_fusion_type="


def eikonal_exact(X, Y, t):
    """Viscosity solution of φ_t + |∇φ| = 0, φ0 = |x| − 0.5 (Hopf–Lax): max(|x| − t, 0) − 0.5."""
    return np.maximum(np.hypot(X, Y) - t, 0.0) - 0.5


def _eikonal_h(x, p):
    # smooth at p = 0 so that dH/dp (for the LF alpha) stays finite
    return jnp.sqrt(jnp.sum(p * p) + 1e-30)


def _timed(fn, repeats):
    """(first-call time, best steady time, last output)."""
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - t0
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return first, best, out


def _errors(err, X, Y, area=16.0):
    inner = (np.abs(X) <= 1.5) & (np.abs(Y) <= 1.5)
    a = np.abs(err)
    return {"L1": float(a.mean() * area), "Linf": float(a.max()),
            "L1 inner": float(a[inner].mean() * 9.0), "Linf inner": float(a[inner].max())}


# --------------------------------------------------------------------------- qshock HJ
def _eikonal_max_speed(x, p_lo, p_hi):
    return jnp.ones_like(x)


def qshock_eikonal(n, dtype=jnp.float64):
    """Jitted qshock solver for the eikonal problem on an n×n cell grid: (run, u0, X, Y)."""
    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver.stepping import build_stepper

    g = Grid((-2.0, -2.0), (2.0, 2.0), (n, n), "outflow")
    # |dH/dp_i| = |p_i|/|p| <= 1: the analytic bound, as hj_reachability's partial_max_magnitudes
    eq = HamiltonJacobi(_eikonal_h, max_speed=_eikonal_max_speed)
    run, _, _ = build_stepper(eq, g, [0.0, T_HJ], scheme="weno5", flux="lf", cfl=CFL,
                              method="ssprk3", dtype=dtype)
    X, Y = (np.asarray(m) for m in g.mesh())
    u0 = jnp.asarray(np.hypot(X, Y) - 0.5, dtype)
    return jax.jit(run), u0, X, Y


# --------------------------------------------------------------------------- hj_reachability
def _hj_dynamics():
    import hj_reachability as hj

    class Eikonal(hj.Dynamics):
        """H(x, p) = |p| (control set the unit ball, maximising): φ_t + |∇φ| = 0 forward in time."""

        def __init__(self):
            super().__init__("max", "min", None, None)

        def __call__(self, state, control, disturbance, time):
            return control

        def optimal_control_and_disturbance(self, state, time, grad_value):
            return grad_value / jnp.sqrt(grad_value @ grad_value + 1e-30), jnp.zeros(0)

        def hamiltonian(self, state, time, value, grad_value):
            return jnp.sqrt(grad_value @ grad_value + 1e-30)

        def partial_max_magnitudes(self, state, time, value, grad_value_box):
            # exact max over the box of |p_i|/|p|: largest |p_i| against the smallest |p_j|
            lo, hi = grad_value_box.lo, grad_value_box.hi
            big = jnp.maximum(jnp.abs(lo), jnp.abs(hi))
            small = jnp.where((lo <= 0) & (hi >= 0), 0.0, jnp.minimum(jnp.abs(lo), jnp.abs(hi)))
            other = jnp.sum(small**2) - small**2  # d = 2: the other component's minimum squared
            return big / jnp.sqrt(big**2 + other + 1e-300)

    return Eikonal()


def hj_eikonal(n, dtype=jnp.float64):
    """hj_reachability solver for the same problem on an n×n node grid: (call, v0, X, Y, grid, settings, dyn)."""
    import hj_reachability as hj

    grid = hj.Grid.from_lattice_parameters_and_boundary_conditions(
        hj.sets.Box(np.array([-2.0, -2.0]), np.array([2.0, 2.0])), (n, n))
    settings = hj.SolverSettings.with_accuracy("very_high", CFL_number=CFL)
    dyn = _hj_dynamics()
    X, Y = (np.asarray(grid.states[..., k]) for k in range(2))
    v0 = jnp.asarray(np.hypot(X, Y) - 0.5, dtype)
    times = jnp.asarray([0.0, T_HJ], dtype)

    def call(v):
        return hj.solve(settings, dyn, grid, times, v, progress_bar=False)

    return call, v0, X, Y, grid, settings, dyn


def hj_count_steps(grid, settings, dyn, v0, t1=T_HJ):
    """Run hj_reachability's own TVD-RK3 loop (as in ``hj.solver.step``) with a step counter."""
    integ = settings.time_integrator

    @jax.jit
    def count(v):
        def body(c):
            t, v, k = c
            t, v = integ(settings, dyn, grid, t, v, t1)
            return t, v, k + 1

        return jax.lax.while_loop(lambda c: jnp.abs(t1 - c[0]) > 0, body,
                                  (jnp.asarray(0.0, v.dtype), v, 0))

    _, v, k = count(v0)
    return int(k), v


def hj_steps_formula(n, t1=T_HJ):
    """⌈t/Δt⌉ with hj_reachability's Δt = CFL / Σ_i(α_i/Δx_i), α_i = 1, Δx = 4/(n − 1)."""
    h = 4.0 / (n - 1)
    dt = CFL / (2.0 / h)
    return int(math.ceil(t1 / dt - 1e-9))


def run_hj(report, sizes=HJ_SIZES, repeats=3):
    table = "2-D eikonal HJ, WENO5 + global LF + RK3, CFL 0.5, t = 0.5"
    for n in sizes:
        reps = repeats if n < 401 else 2
        fn, u0, X, Y = qshock_eikonal(n)
        first, best, (us, steps, status, _, _) = _timed(lambda: fn(u0), reps)
        steps = int(steps)
        assert int(status) == 0
        eq = _errors(np.asarray(us[-1]) - eikonal_exact(X, Y, T_HJ), X, Y)
        q_rate = n * n * steps / best
        report({"table": table, "N": f"{n}^2", "code": "qshock", "steps": steps, "compile s": first - best,
                "wall s": best, "cell-updates/s": q_rate, **eq})

        call, v0, Xh, Yh, grid, settings, dyn = hj_eikonal(n)
        first, best, vs = _timed(lambda: call(v0), reps)
        steps_h = hj_steps_formula(n)
        if n == sizes[0]:
            k, vk = hj_count_steps(grid, settings, dyn, v0)
            assert k == steps_h and np.allclose(np.asarray(vk), np.asarray(vs[-1]), atol=1e-12), (k, steps_h)
        eh = _errors(np.asarray(vs[-1]) - eikonal_exact(Xh, Yh, T_HJ), Xh, Yh)
        h_rate = n * n * steps_h / best
        report({"table": table, "N": f"{n}^2", "code": "hj_reachability", "steps": steps_h,
                "compile s": first - best, "wall s": best, "cell-updates/s": h_rate, **eh,
                })
        report({"table": table, "N": f"{n}^2", "code": "ratio qshock/hj", "cell-updates/s": q_rate / h_rate,
                "L1": eq["L1"] / eh["L1"], "Linf": eq["Linf"] / eh["Linf"],
                "L1 inner": eq["L1 inner"] / eh["L1 inner"], "Linf inner": eq["Linf inner"] / eh["Linf inner"]})


# --------------------------------------------------------------------------- 1-D Burgers
def burgers_setup(n, dtype=jnp.float64, steps=BURGERS_STEPS, method="ssprk3-fixed"):
    """Jitted WENO5 Burgers run for N cells: (run, u0, grid, t1, dt)."""
    from qshock.solver import Burgers, Grid
    from qshock.solver.stepping import build_stepper

    g = Grid(0.0, 2 * np.pi, n)
    h = g.dx[0]
    dt = CFL * h  # max|u0| = 1
    t1 = steps * dt
    xc = np.asarray(g.centres(dtype=jnp.float64))
    u0 = jnp.asarray(np.sin(xc) * np.sin(h / 2) / (h / 2), dtype)  # exact cell averages
    # dt nudged up by 1e-6 so that t1 rounded to float32 still gives exactly ``steps`` fixed steps
    run, _, _ = build_stepper(Burgers(), g, [0.0, t1], scheme="weno5", flux="godunov", cfl=CFL, method=method,
                              dt=dt * (1 + 1e-6), dtype=dtype)
    return jax.jit(run), u0, g, t1, dt


def burgers_exact_average(g, t, n_gauss=3):
    """Cell averages of the classical solution u = sin(x − t u) (t < 1) by Gauss–Legendre + Newton."""
    xg, wg = np.polynomial.legendre.leggauss(n_gauss)
    h = g.dx[0]
    xc = np.asarray(g.centres(dtype=jnp.float64))
    x = xc[:, None] + 0.5 * h * xg[None, :]
    u = np.sin(x)
    for _ in range(60):  # Newton on F(u) = u − sin(x − t u)
        s = x - t * u
        u = u - (u - np.sin(s)) / (1.0 + t * np.cos(s))
    return (u * wg[None, :]).sum(axis=1) / 2.0


def run_burgers(report, sizes=BURGERS_SIZES, dtypes=(jnp.float64, jnp.float32), repeats=5):
    table = f"1-D WENO5 Burgers, {BURGERS_STEPS} SSP-RK3 steps, CFL 0.5"
    for dtype in dtypes:
        name = jnp.dtype(dtype).name
        for n in sizes:
            for method in ("ssprk3-fixed", "ssprk3"):
                if method == "ssprk3" and n not in (1024, 16384):
                    continue
                fn, u0, g, t1, dt = burgers_setup(n, dtype, method=method)
                reps = repeats if n <= 65536 else 3
                first, best, (us, steps, status, _, _) = _timed(lambda: fn(u0), reps)
                steps = int(steps)
                assert int(status) == 0
                err = np.abs(np.asarray(us[-1], np.float64) - burgers_exact_average(g, t1))
                report({"table": table, "dtype": name, "N": n, "integrator": method, "steps": steps,
                        "compile s": first - best, "wall s": best, "us/step": 1e6 * best / steps,
                        "cell-updates/s": n * steps / best, "L1 error": float(err.mean() * 2 * np.pi)})
                if method == "ssprk3-fixed" and n in ANCHOR_SIZES:
                    _burgers_anchor(report, table, name, n, dtype, best, reps)


def _burgers_anchor(report, table, name, n, dtype, q_best, reps):
    """The plain-JAX ``jnp.roll`` WENO5 (:func:`reference_weno5_burgers`) timed in the same run, and
    the ratio of qshock's cell-update rate to it (issue 15, target: >= 2)."""
    fr, ur = reference_weno5_burgers(n, dtype)
    first, best, out = _timed(lambda: fr(ur), reps)
    g = _burgers_grid(n)
    err = np.abs(np.asarray(out, np.float64) - burgers_exact_average(g, BURGERS_STEPS * CFL * g.dx[0]))
    report({"table": table, "dtype": name, "N": n, "integrator": "anchor: plain jnp.roll WENO5 (fixed)",
            "steps": BURGERS_STEPS, "compile s": first - best, "wall s": best, "us/step": 1e6 * best / BURGERS_STEPS,
            "cell-updates/s": n * BURGERS_STEPS / best, "L1 error": float(err.mean() * 2 * np.pi)})
    report({"table": table, "dtype": name, "N": n, "integrator": "ratio qshock/anchor (fixed)",
            "cell-updates/s": best / q_best})


def _burgers_grid(n):
    from qshock.solver import Grid

    return Grid(0.0, 2 * np.pi, n)


def run(report):
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    report({"table": "fv benchmark environment", "git commit": commit or "?",
            "load average (1 min) at start": os.getloadavg()[0], "cores": os.cpu_count(),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")})
    run_hj(report)
    run_burgers(report)
    run_profile(report)


# --------------------------------------------------------------------------- profiling experiments
def _interleaved(fns, rounds=12):
    """Best wall time (s) of each zero-argument callable, measured in interleaved rounds (fair under load)."""
    for f in fns.values():
        jax.block_until_ready(f())
    best = {k: math.inf for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def reference_weno5_burgers(n, dtype, steps=BURGERS_STEPS):
    """A straightforward jit + lax.scan WENO5-JS/Godunov Burgers solver (jnp.roll, textbook weights): the baseline."""
    h = 2 * np.pi / n
    dt = CFL * h
    xc = (np.arange(n) + 0.5) * h
    u0 = jnp.asarray(np.sin(xc) * np.sin(h / 2) / (h / 2), dtype)

    def edge(a, b, c, d, e):  # WENO5 value at the right edge of cell c
        b0 = 13 / 12 * (a - 2 * b + c) ** 2 + 0.25 * (a - 4 * b + 3 * c) ** 2
        b1 = 13 / 12 * (b - 2 * c + d) ** 2 + 0.25 * (b - d) ** 2
        b2 = 13 / 12 * (c - 2 * d + e) ** 2 + 0.25 * (3 * c - 4 * d + e) ** 2
        w0, w1, w2 = 0.1 / (1e-6 + b0) ** 2, 0.6 / (1e-6 + b1) ** 2, 0.3 / (1e-6 + b2) ** 2
        q = w0 * (2 * a - 7 * b + 11 * c) + w1 * (-b + 5 * c + 2 * d) + w2 * (2 * c + 5 * d - e)
        return q / (6 * (w0 + w1 + w2))

    def rhs(u):
        s = {k: jnp.roll(u, -k) for k in range(-2, 4)}
        uL = edge(s[-2], s[-1], s[0], s[1], s[2])  # at i+1/2 from cell i
        uR = edge(s[3], s[2], s[1], s[0], s[-1])  # at i+1/2 from cell i+1
        F = 0.5 * jnp.maximum(jnp.maximum(uL, 0) ** 2, jnp.minimum(uR, 0) ** 2)
        return -(F - jnp.roll(F, 1)) / h

    @jax.jit
    def run(u):
        def body(u, _):
            u1 = u + dt * rhs(u)
            u2 = 0.75 * u + 0.25 * (u1 + dt * rhs(u1))
            return u / 3 + 2 / 3 * (u2 + dt * rhs(u2)), None

        return jax.lax.scan(body, u, None, length=steps)[0]

    return run, u0


def _slice_difference(F, axis):
    n = F.shape[axis]
    return jax.lax.slice_in_dim(F, 1, n, axis=axis) - jax.lax.slice_in_dim(F, 0, n - 1, axis=axis)


def kernel_weno5_burgers(n, dtype, difference, steps=BURGERS_STEPS):
    """The qshock WENO5/Godunov Burgers RHS built from the public kernels (:mod:`qshock.solver.kernels`),
    with the face flux difference ``difference(F, axis)``, in a plain fixed-step SSP-RK3 ``lax.scan``."""
    from qshock.solver import Grid
    from qshock.solver.kernels import burgers_flux, reconstruct
    from qshock.solver.stepping import ssprk3_step

    g = Grid(0.0, 2 * np.pi, n)
    h = g.dx[0]
    dt = CFL * h
    xc = np.asarray(g.centres(dtype=jnp.float64))
    u0 = jnp.asarray(np.sin(xc) * np.sin(h / 2) / (h / 2), dtype)

    def rhs(u, t):
        qL, qR = reconstruct(g.pad(u, 3, 0, parity=-1), "weno5", axis=0, ng=3)
        return -difference(burgers_flux(qL, qR, "godunov"), 0) / h

    @jax.jit
    def run(u):
        return jax.lax.scan(lambda v, _: (ssprk3_step(rhs, v, 0.0, dt), None), u, None, length=steps)[0]

    return run, u0


def profile_burgers(report, sizes=(1024, 16384), dtype=jnp.float64):
    """1-D Burgers step: qshock as is, the same RHS from the public kernels with two face differences
    (slices, and the convolution :func:`face_difference` that qshock uses), and the baseline."""
    from qshock.solver.kernels import face_difference

    table = "profile: 1-D WENO5 Burgers step (us/step), interleaved best-of"
    for n in sizes:
        fns = {}
        fa, ua, *_ = burgers_setup(n, dtype, method="ssprk3")
        fns["qshock ssprk3 (adaptive), as is"] = lambda fn=fa, u0=ua: fn(u0)[0]
        ff, uf, *_ = burgers_setup(n, dtype)
        fns["qshock ssprk3-fixed, as is"] = lambda fn=ff, u0=uf: fn(u0)[0]
        fo, uo = _adaptive_without_check(n, dtype)
        fns["qshock ssprk3 (adaptive) without the blow-up check (diagnostic)"] = lambda fn=fo, u0=uo: fn(u0)[0]
        variants = {"F[1:] - F[:-1] (slices)": _slice_difference, "face_difference (conv)": face_difference}
        for label, diff in variants.items():
            fk, uk = kernel_weno5_burgers(n, dtype, diff)
            fns[f"public kernels + fixed-step scan, flux difference by {label}"] = lambda fn=fk, u0=uk: fn(u0)
        fr, ur = reference_weno5_burgers(n, dtype)
        fns["baseline jit+scan WENO5 (jnp.roll)"] = lambda fn=fr, u0=ur: fn(u0)
        best = _interleaved(fns, rounds=8 if n > 4096 else 15)
        for k, v in best.items():
            report({"table": table, "dtype": jnp.dtype(dtype).name, "N": n, "variant": k,
                    "us/step": 1e6 * v / BURGERS_STEPS, "cell-updates/s": n * BURGERS_STEPS / v})


def _adaptive_without_check(n, dtype):
    """The adaptive SSP-RK3 run of :func:`burgers_setup` with the per-step blow-up check replaced by
    ``True`` (same steps and values): what the check costs per step (issue 15, target 5)."""
    from qshock.solver import Burgers
    from qshock.solver.kernels import build_rhs
    from qshock.solver.schemes import Scheme
    from qshock.solver.stepping import INTEGRATORS, StepOptions

    _, u0, g, t1, _ = burgers_setup(n, dtype, method="ssprk3")
    disc = build_rhs(Burgers(), g, Scheme("weno5", "godunov"), dtype)
    opt = StepOptions(CFL, None, 10_000_000, 1e-8, 1e-10, None, 50)
    run = INTEGRATORS["ssprk3"](disc.rhs, disc.max_dt, jnp.asarray([0.0, t1], dtype), opt,
                                all_finite=lambda u: jnp.asarray(True))
    return jax.jit(run), u0


def profile_hj(report, n=201):
    """One eikonal RK3 step: qshock as is, with the CFL taken from the first stage's derivatives,
    and additionally with a closed-form global-LF alpha; hj_reachability's step for reference."""
    from qshock.solver import Grid, HamiltonJacobi
    from qshock.solver import kernels as kn
    from qshock.solver.schemes import Scheme
    from qshock.solver.stepping import ssprk3_step

    g = Grid((-2.0, -2.0), (2.0, 2.0), (n, n), "outflow")
    disc = kn.build_rhs(HamiltonJacobi(_eikonal_h), g, Scheme("weno5", "lf"), jnp.float64)
    X, Y = g.mesh()
    u = jnp.hypot(X, Y) - 0.5
    dx, x = g.dx, g.points()
    dHdp = jax.grad(_eikonal_h, argnums=1)

    def derivs(v):
        out = [kn.one_sided_derivatives(g.pad(v, 3, a), dx[a], "weno5", axis=a, ng=3) for a in range(2)]
        return barrier(jnp.stack([o[0] for o in out]), jnp.stack([o[1] for o in out]))

    def alpha_corners(pm, pp):
        return kn.lf_alpha_global(dHdp, x, pm, pp)

    def alpha_closed(pm, pp):  # exact box maximum of |p_i|/|p| (what hj_reachability's user supplies)
        lo = jnp.minimum(pm.min(axis=(1, 2)), pp.min(axis=(1, 2)))
        hi = jnp.maximum(pm.max(axis=(1, 2)), pp.max(axis=(1, 2)))
        big = jnp.maximum(jnp.abs(lo), jnp.abs(hi))
        small = jnp.where((lo <= 0) & (hi >= 0), 0.0, jnp.minimum(jnp.abs(lo), jnp.abs(hi)))
        return big / jnp.sqrt(big**2 + small[::-1] ** 2 + 1e-300)

    def one_pass_step(alpha_fn, materialise=False, unrolled=False):
        nonlocal barrier
        barrier = (lambda *a: jax.lax.optimization_barrier(a)) if materialise else (lambda *a: a)

        def hhat(pm, pp, al):
            pb = 0.5 * (pm + pp)
            if unrolled:  # component sums written out: no reduce over the size-d leading axis
                H = jnp.sqrt(pb[0] * pb[0] + pb[1] * pb[1] + 1e-30)
                return H - 0.5 * (al[0] * (pp[0] - pm[0]) + al[1] * (pp[1] - pm[1]))
            return kn.lax_friedrichs(jnp.sqrt(jnp.sum(pb * pb, axis=0) + 1e-30), pm, pp, al)

        def stage(v):
            pm, pp = derivs(v)
            return -hhat(pm, pp, alpha_fn(pm, pp))

        def step(v):  # CFL from the first stage's derivatives: 3 WENO passes per step instead of 4
            pm, pp = derivs(v)
            al = alpha_fn(pm, pp)
            dt = CFL / (al[0] / dx[0] + al[1] / dx[1])
            u1 = v - dt * hhat(pm, pp, al)
            w = u1 + dt * stage(u1)
            u2 = w + 0.75 * (v - w)
            z = u2 + dt * stage(u2)
            return z + (v - z) / 3.0

        f = jax.jit(step)
        jax.block_until_ready(f(u))  # trace now, while ``barrier`` is set
        return f

    barrier = None
    base = jax.jit(lambda v: ssprk3_step(disc.rhs, v, 0.0, CFL * disc.max_dt(v)))
    s1, s2 = one_pass_step(alpha_corners), one_pass_step(alpha_closed)
    s1b, s2b = one_pass_step(alpha_corners, True), one_pass_step(alpha_closed, True)
    s3 = one_pass_step(alpha_closed, unrolled=True)
    for f in (s1, s2, s1b, s2b, s3):
        assert float(jnp.max(jnp.abs(f(u) - base(u)))) < 1e-13

    _, v0, _, _, hgrid, settings, dyn = hj_eikonal(n)
    hstep = jax.jit(lambda v: settings.time_integrator(settings, dyn, hgrid, 0.0, v, T_HJ)[1])
    fns = {"qshock step (max_dt + 3 RHS)": lambda: base(u),
           "B: CFL from stage-1 derivatives": lambda: s1(u),
           "A+B": lambda: s1b(u),
           "B+C: closed-form LF alpha": lambda: s2(u),
           "A+B+C": lambda: s2b(u),
           "B+C+D: component sums unrolled": lambda: s3(u),
           "hj_reachability step": lambda: hstep(v0)}
    best = _interleaved(fns, rounds=15)
    flags = os.environ.get("XLA_FLAGS", "") or "default XLA flags"
    table = f"profile: one 2-D eikonal RK3 step at {n}^2, interleaved best-of"
    for k, v in best.items():
        report({"table": table, "XLA": flags, "variant": k, "ms/step": 1e3 * v, "cell-updates/s": n * n / v,
                "speed vs hj_reachability": best["hj_reachability step"] / v})


def profile_hj_without_ynn(report, n=201):
    """:func:`profile_hj` in a subprocess with XLA:CPU's YNNPACK library fusion switched off."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + NO_YNN).strip())
    code = ("import jax, json; jax.config.update('jax_enable_x64', True); from benchmarks import bench_fv as b; "
            f"b.profile_hj(lambda r: print('ROW ' + json.dumps(r), flush=True), n={n})")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if line.startswith("ROW "):
            report(json.loads(line[4:]))


def run_profile(report):
    profile_burgers(report)
    profile_hj(report)
    profile_hj_without_ynn(report)


if __name__ == "__main__":  # pragma: no cover
    import sys

    jax.config.update("jax_enable_x64", True)
    target = {"hj": run_hj, "burgers": run_burgers, "profile": run_profile}.get(sys.argv[1] if len(sys.argv) > 1 else "", run)
    target(lambda row: print(row, flush=True))
