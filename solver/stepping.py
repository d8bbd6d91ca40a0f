r"""Time integration of the finite-volume semi-discretisation.

Three integrators share one right-hand side :math:`\dot u = L(u, t)` (see :func:`solver.kernels.build_rhs`):

* ``'ssprk3'`` — Shu–Osher SSP-RK3 with :math:`Δt = C\,/\,(\sum_a α_a/Δx_a + \sum_a ν m_a/(c_ν Δx_a^2))`
  recomputed every step (C the CFL number), inside ``lax.scan`` over output times and
  ``lax.while_loop`` within each interval, landing exactly on every output time. Every step is
  checked for non-finite values; a blow-up stops the run and raises
  :class:`~solver.errors.BlowUpError` with time and place. The stages are written as

  .. math:: u^{(1)} = u + Δt L(u),\quad u^{(2)} = w + \tfrac34(u - w),\ w = u^{(1)} + Δt L(u^{(1)}),
  .. math:: u^{n+1} = v + \tfrac13(u - v),\quad v = u^{(2)} + Δt L(u^{(2)}),

  so that each convex combination has weights summing to one exactly in floating point
  (mass is conserved to round-off in float32 as well).
* ``'ssprk3-fixed'`` — the same stages with a fixed step (``dt``), a pure ``lax.scan``: reverse-mode
  differentiable with respect to the initial data.
* ``'diffrax'`` — the same right-hand side integrated by diffrax (Tsit5, PID step-size control).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ._reconstruct import materialize
from ._rhs import build_rhs
from .equations import Burgers, HamiltonJacobi
from .errors import BlowUpError, QShockInputError
from .grid import Grid
from .schemes import Scheme
from .solution import Solution

__all__ = ["solve", "build_stepper", "ssprk3_step", "METHODS", "INTEGRATORS", "StepOptions", "as_scheme",
           "output_times", "check_initial_data", "estimate_steps", "first_failure", "ssprk3_interval",
           "run_with_progress"]

METHODS = ("ssprk3", "ssprk3-fixed", "diffrax", "imex")


def ssprk3_step(rhs, u, t, dt):
    """One Shu–Osher SSP-RK3 step in the float-exact convex form (see module docstring)."""
    # stage values are materialised: otherwise XLA:CPU fuses them into the next stencil and
    # recomputes them once per stencil offset (5x slower for WENO5)
    u1 = materialize(u + dt * rhs(u, t))
    w = u1 + dt * rhs(u1, t + dt)
    u2 = materialize(w + 0.75 * (u - w))
    v = u2 + dt * rhs(u2, t + 0.5 * dt)
    return v + (u - v) / 3.0


def as_scheme(scheme, flux=None, limiter="mc", diffusion_order=None) -> Scheme:
    """Accept a :class:`Scheme` or a scheme name (plus flux/limiter/diffusion order)."""
    if isinstance(scheme, Scheme):
        return scheme
    if not isinstance(scheme, str):
        raise QShockInputError(f"scheme must be a name or Scheme, got {scheme!r}")
    return Scheme(scheme, flux, limiter, diffusion_order)


def output_times(t0: float, t1: float, save_at: Optional[Sequence[float]]) -> np.ndarray:
    """Validated, increasing output times in [t0, t1] (t1 always included)."""
    for name, v in (("t0", t0), ("t1", t1)):
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v))):
            raise QShockInputError(f"{name} must be a finite number, got {v!r}")
    if not float(t1) > float(t0):
        raise QShockInputError(f"final time t1={t1} must be greater than t0={t0}")
    if save_at is None:
        ts = np.array([t0, t1], dtype=float)
    else:
        ts = np.asarray(save_at, dtype=float).ravel()
        if ts.size == 0 or not np.all(np.isfinite(ts)):
            raise QShockInputError("output times must be finite numbers")
        if np.any(np.diff(ts) <= 0):
            raise QShockInputError("output times must be strictly increasing")
        if ts[0] < t0 or ts[-1] > t1 * (1 + 1e-12) + 1e-300:
            raise QShockInputError(f"output times must lie in [t0, t1] = [{t0}, {t1}]")
        if ts[-1] < t1:
            ts = np.append(ts, t1)
    return ts


def check_initial_data(u0, shape, dtype, grid: Grid) -> jnp.ndarray:
    """Shape and finiteness check of the initial data, naming the first bad cell."""
    arr = np.asarray(u0)
    if arr.shape != tuple(shape):
        raise QShockInputError(f"initial data has shape {arr.shape}, expected {tuple(shape)} for this grid")
    if not np.issubdtype(arr.dtype, np.number):
        raise QShockInputError(f"initial data must be numeric, got dtype {arr.dtype}")
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), arr.shape)
        spatial = idx[-grid.ndim:]
        where = ", ".join(f"{n}={float(grid.centres(a)[i]):.6g}" for a, (n, i) in enumerate(zip(grid.axis_names, spatial)))
        raise QShockInputError(f"initial data contains {int(bad.sum())} NaN/inf value(s), first at {where}")
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise QShockInputError("float64 requested but JAX x64 is disabled; call jax.config.update('jax_enable_x64', True)")
    return jnp.asarray(arr, dtype)


class StepOptions(NamedTuple):
    """Integrator settings shared by the registered time integrators (see :func:`build_stepper`)."""

    cfl: float
    dt: Optional[float]
    max_steps: int
    rtol: float
    atol: float
    progress: Optional[Callable]
    progress_every: int


def first_failure(us, ts):
    """``(all finite, t_prev, i_bad)`` from the snapshots: ``t_prev`` is the output time before the
    first non-finite snapshot and ``i_bad`` the first non-finite flat index in it."""
    fin = jnp.isfinite(us)
    ok_per = jnp.all(fin.reshape(fin.shape[0], -1), axis=1)
    first_bad = jnp.argmin(ok_per)
    return jnp.all(ok_per), ts[jnp.maximum(first_bad - 1, 0)], jnp.argmin(fin[first_bad].ravel())


def _all_finite(u):
    return jnp.all(jnp.isfinite(u))


def _landing_step(rhs, max_dt, cfl, max_steps, all_finite, u, t, n, t_next):
    """One adaptive SSP-RK3 step of size ``C max_dt(u)``, shortened to land exactly on ``t_next``:
    ``(u_new, t_new, n + 1, status)`` with status 0 ok, 1 blow-up (``u_new`` non-finite is kept and
    ``t_new = t``, so the failure can be located), 2 step budget spent, 3 step size collapsed."""
    remaining = t_next - t
    dt_ = cfl * max_dt(u)
    last = dt_ >= remaining * (1 - 1e-12)
    dt_ = jnp.where(last, remaining, dt_)
    un = ssprk3_step(rhs, u, t, dt_)
    ok = all_finite(un)
    tn = jnp.where(last, t_next, t + dt_)
    collapsed = (~last) & (dt_ <= 1e-14 * jnp.maximum(jnp.abs(t_next), 1.0))
    status = jnp.where(~ok, 1, jnp.where(n + 1 >= max_steps, 2, jnp.where(collapsed, 3, 0)))
    return un, jnp.where(ok, tn, t), n + 1, status.astype(jnp.int32)


def _adaptive_ssprk3(rhs, max_dt, ts, opt: StepOptions, all_finite=_all_finite):
    """SSP-RK3 with ``Δt = C max_dt(u)`` every step: ``lax.scan`` over output intervals, each a
    ``lax.while_loop`` landing exactly on the output time; stops on blow-up, step budget or collapse.
    ``all_finite(u)`` decides a blow-up (a sharded solve passes a global reduction)."""
    cfl, max_steps, progress = opt.cfl, opt.max_steps, opt.progress

    def body_for(t_next):
        def body(c):
            u, t, n, _, ibad = c
            un, t_new, n1, status = _landing_step(rhs, max_dt, cfl, max_steps, all_finite, u, t, n, t_next)
            if progress is not None:
                jax.lax.cond(n1 % opt.progress_every == 0, lambda: jax.debug.callback(progress, t_new, n1),
                             lambda: None)
            return (un, t_new, n1, status, ibad)
        return body

    def interval(carry, t_next):
        carry = jax.lax.while_loop(lambda c: (c[1] < t_next) & (c[3] == 0), body_for(t_next), carry)
        if progress is not None:
            jax.debug.callback(progress, carry[1], carry[2])
        return carry, carry[0]

    def run(u0):
        init = (u0, ts[0], jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))
        (u, t, n, status, ibad), us = jax.lax.scan(interval, init, ts[1:])
        ibad = jnp.argmin(jnp.isfinite(u).ravel()).astype(jnp.int32)
        return jnp.concatenate([u0[None], us]), n, status, t, ibad
    return run


def ssprk3_interval(rhs, max_dt, cfl: float, max_steps: int, all_finite=_all_finite):
    """``advance(u, t, n, t_next, n_stop) -> (u, t, n, status)``: the adaptive SSP-RK3 steps of
    ``'ssprk3'`` (same arithmetic) from ``t`` towards ``t_next``, landing on it exactly, and stopping
    there, after step ``n_stop``, or on blow-up / step budget / collapse (``status`` 1 / 2 / 3).
    Jitted with ``donate_argnums=0`` it updates ``u`` in place between host calls (progress reports)."""
    def advance(u, t, n, t_next, n_stop):
        def body(c):
            u, t, n, _ = c
            return _landing_step(rhs, max_dt, cfl, max_steps, all_finite, u, t, n, t_next)

        init = (u, t, n, jnp.asarray(0, jnp.int32))
        return jax.lax.while_loop(lambda c: (c[1] < t_next) & (c[3] == 0) & (c[2] < n_stop), body, init)
    return advance


def run_with_progress(advance, u0, ts, progress, chunk: int = 50):
    """Host loop over :func:`ssprk3_interval` chunks of ``chunk`` steps, calling ``progress(t, n)``
    after each: the compiled program has no host callback, so the persistent compilation cache can
    store it, and the state buffer is donated from chunk to chunk. Returns what ``run`` returns."""
    adv = jax.jit(advance, donate_argnums=0)
    u, t, n, status = jnp.copy(u0), ts[0], jnp.asarray(0, jnp.int32), 0
    out = [u0]
    for t_next in ts[1:]:
        while status == 0 and bool(t < t_next):
            u, t, n, st = adv(u, t, n, t_next, n + chunk)
            status = int(st)
            progress(t, n)
        out.append(jnp.copy(u))
    ibad = jnp.argmin(jnp.isfinite(u).ravel()).astype(jnp.int32)
    return jnp.stack(out), n, jnp.asarray(status, jnp.int32), t, ibad


def _fixed_ssprk3(rhs, max_dt, ts, opt: StepOptions, all_finite=None):
    """SSP-RK3 with a fixed step (each output interval split into ``⌈Δt_out/dt⌉`` equal steps), pure
    ``lax.scan``: reverse-mode differentiable in the initial data."""
    if opt.dt is None or not (float(opt.dt) > 0):
        raise QShockInputError("method 'ssprk3-fixed' needs a positive fixed time step dt")
    ts_np = np.asarray(ts, float)
    counts = [max(1, int(math.ceil((b - a) / float(opt.dt) - 1e-9))) for a, b in zip(ts_np[:-1], ts_np[1:])]

    def run(u0):
        u, out = u0, [u0]
        for k, n in enumerate(counts):
            h = (ts[k + 1] - ts[k]) / n

            def body(c, _):
                u, t = c
                return (ssprk3_step(rhs, u, t, h), t + h), None

            (u, _), _ = jax.lax.scan(body, (u, ts[k]), None, length=n)
            out.append(u)
        us = jnp.stack(out)
        ok, t_prev, ibad = first_failure(us, ts)
        status = jnp.where(ok, 0, 1).astype(jnp.int32)
        return us, jnp.asarray(sum(counts), jnp.int32), status, jnp.where(status == 0, ts[-1], t_prev), ibad
    return run


def _diffrax(rhs, max_dt, ts, opt: StepOptions, all_finite=None):
    """diffrax Tsit5 with PID step-size control (``rtol``, ``atol``; ``dt0 = C max_dt(u0)``, at most 4·dt0)."""
    import diffrax

    def run(u0):
        term = diffrax.ODETerm(lambda t, y, args: rhs(y, t))
        dt0 = opt.cfl * max_dt(u0)
        sol = diffrax.diffeqsolve(
            term, diffrax.Tsit5(), t0=ts[0], t1=ts[-1], dt0=dt0, y0=u0,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=opt.rtol, atol=opt.atol, dtmax=dt0 * 4),
            max_steps=int(min(opt.max_steps, 10_000_000)), throw=False)
        us = sol.ys
        fin = jnp.isfinite(us)
        ok = jnp.all(fin) & (sol.result == diffrax.RESULTS.successful)
        status = jnp.where(ok, 0, jnp.where(jnp.all(fin), 2, 1)).astype(jnp.int32)
        _, t_prev, ibad = first_failure(us, ts)
        return us, jnp.asarray(sol.stats["num_steps"], jnp.int32), status, jnp.where(status == 0, ts[-1], t_prev), ibad
    return run


def _imex(rhs, max_dt, ts, opt: StepOptions, all_finite=None):
    """Strang splitting, SSP-RK3 advection + exact implicit diffusion (HJ; :mod:`solver.imex_charts`)."""
    from .imex_charts import imex_integrator
    return imex_integrator(rhs, max_dt, ts, opt)


#: registered time integrators: name -> builder ``(rhs, max_dt, ts, StepOptions, all_finite=...) -> run``
INTEGRATORS: dict[str, Callable] = {"ssprk3": _adaptive_ssprk3, "ssprk3-fixed": _fixed_ssprk3, "diffrax": _diffrax,
                                    "imex": _imex}
assert tuple(INTEGRATORS) == METHODS


def build_stepper(equation, grid: Grid, ts, *, scheme="weno5", flux=None, limiter="mc", diffusion_order=None,
                  cfl=0.5, method="ssprk3", dt=None, max_steps=10_000_000, dtype=None, rtol=1e-8, atol=1e-10,
                  progress=None, progress_every: int = 50, mesh=None, nu=None):
    """A pure, jittable and vmappable map ``u0 -> (us, n_steps, status, t_bad, i_bad)``.

    ``us`` has one snapshot per entry of ``ts`` (``ts[0]`` is the initial time).
    ``status`` is 0 on success, 1 on blow-up (``t_bad`` last finite time, ``i_bad`` flat index of
    the first non-finite value), 2 when ``max_steps`` ran out, 3 when the step size collapsed.
    ``progress(t, n)`` (``ssprk3`` only), if given, is called on the host through
    ``jax.debug.callback`` every ``progress_every`` steps and at every output time; it does not
    change the computed values. ``method`` names a registered integrator (``INTEGRATORS``).
    ``mesh`` (a :class:`jax.sharding.Mesh`, a device count or a tuple of counts) splits the grid
    across devices (:mod:`solver.sharding`; ``run`` is then jittable but not vmappable).
    ``nu`` (optional) replaces ``equation.nu`` and may be traced: built inside a jitted function
    that takes ν as an argument, one compiled stepper serves every ν >= 0 (the viscous term is
    ν × its operator, so ν = 0 is exactly inviscid; not with ``method='imex'``).
    Returns ``(run, discretisation, scheme)``.
    """
    dtype = dtype or jnp.result_type(float)
    sch = as_scheme(scheme, flux, limiter, diffusion_order)
    cfl = sch.check_cfl(cfl)
    if method not in INTEGRATORS:
        raise QShockInputError(f"unknown time integrator {method!r}; expected one of {', '.join(METHODS)}")
    if nu is not None and method == "imex":
        raise QShockInputError("method 'imex' takes the viscosity from the equation, not a runtime nu")
    opt = StepOptions(cfl, dt, max_steps, rtol, atol, progress, progress_every)
    if mesh is not None:
        from .sharding import sharded_stepper

        run, disc, _ = sharded_stepper(equation, grid, ts, mesh, sch, opt, method, dtype, nu=nu)
        return run, disc, sch
    disc = build_rhs(equation, grid, sch, dtype, nu=nu)
    run = INTEGRATORS[method](disc.rhs, disc.max_dt, jnp.asarray(ts, dtype), opt)
    return run, disc, sch


def estimate_steps(equation, grid: Grid, u0, t1: float, *, scheme="weno5", flux=None, limiter="mc",
                   diffusion_order=None, cfl: float = 0.5, t0: float = 0.0, dtype=None) -> float:
    r"""Number of adaptive SSP-RK3 steps from ``t0`` to ``t1`` at the step size of the initial data,
    :math:`(t_1 - t_0) / (C\,Δt_{max}(u_0))`, with :math:`Δt_{max}` the stable step of :func:`solve`
    (advective speeds and the explicit viscous limit). Cheap (one evaluation of the speeds), for
    refusing hopeless runs before they start; the speeds of Burgers and HJ solutions do not grow
    (maximum principle), so it is not an under-estimate by more than the output landings.
    """
    sch = as_scheme(scheme, flux, limiter, diffusion_order)
    dtype = jnp.dtype(dtype or jnp.result_type(float))
    disc = build_rhs(equation, grid, sch, dtype)
    dt = sch.check_cfl(cfl) * float(disc.max_dt(check_initial_data(u0, disc.field_shape, dtype, grid)))
    return (float(t1) - float(t0)) / dt if dt > 0 else math.inf


def _location(grid: Grid, field_shape, flat_index: int) -> tuple[float, ...]:
    idx = np.unravel_index(int(flat_index), field_shape)[-grid.ndim:]
    return tuple(float(grid.centres(a)[i]) for a, i in enumerate(idx))


def solve(equation, grid: Grid, u0, t1: float, *, scheme="weno5", flux=None, limiter="mc", diffusion_order=None,
          cfl: float = 0.5, save_at=None, t0: float = 0.0, method: str = "ssprk3", dt=None,
          max_steps: int = 10_000_000, dtype=None, rtol=1e-8, atol=1e-10, progress=None, mesh=None) -> Solution:
    r"""Solve a Burgers or Hamilton–Jacobi problem on ``grid`` from ``u0`` at ``t0`` to ``t1``.

    Args:
        equation: :class:`~solver.equations.Burgers` or :class:`~solver.equations.HamiltonJacobi`.
        grid: the cell-centred :class:`~solver.grid.Grid` (boundaries included).
        u0: initial cell averages, shape ``grid.shape`` (N-D Burgers: ``(d, *grid.shape)``).
        t1: final time.
        scheme: ``godunov``, ``muscl``, ``weno5``, ``wenoz`` (finite volume) or ``spectral``, or a
            :class:`~solver.schemes.Scheme`.
        flux: numerical flux (Burgers: godunov/eo/llf/roe; HJ: godunov/lf/llf).
        cfl: CFL number in (0, 1].
        save_at: output times (``t1`` is appended when missing; default ``[t0, t1]``).
        method: ``ssprk3`` (CFL-adaptive), ``ssprk3-fixed`` (needs ``dt``; differentiable) or ``diffrax``.
        dtype: ``jnp.float64`` (default when x64 is on) or ``jnp.float32``.
        max_steps: stop (QShockInputError) after this many steps.
        progress: optional host function ``progress(t, n_steps)`` (``ssprk3``), see :func:`build_stepper`.
        mesh: split the grid across devices: a :class:`jax.sharding.Mesh` (mesh axis ``a`` splits
            grid axis ``a``), a device count (first axis) or a tuple of counts; see
            :mod:`solver.sharding`. The result equals the single-device solve (finite volume:
            bit-identical; spectral: to round-off).

    Returns:
        A :class:`~solver.solution.Solution`; for HJ ``p`` holds :math:`\nabla u`.

    Raises:
        QShockInputError: bad input (the message names it). BlowUpError: non-finite values appeared.
    """
    if not isinstance(grid, Grid):
        raise QShockInputError(f"grid must be a solver.Grid, got {type(grid).__name__}")
    if not isinstance(equation, (Burgers, HamiltonJacobi)):
        raise QShockInputError(f"equation must be Burgers or HamiltonJacobi, got {type(equation).__name__}")
    sch = as_scheme(scheme, flux, limiter, diffusion_order)
    ts = output_times(t0, t1, save_at)
    dtype = jnp.dtype(dtype or jnp.result_type(float))
    if dtype not in (jnp.float32, jnp.float64):
        raise QShockInputError(f"dtype must be float32 or float64, got {dtype}")
    if sch.name == "spectral" and equation.manifold is not None:
        return _solve_sphere(equation, grid, u0, t1, ts, method, dt, mesh)
    if sch.name == "spectral":
        from .spectral import solve_spectral

        return solve_spectral(equation, grid, u0, t1, save_at=ts, dtype=dtype, mesh=mesh)
    if method == "ssprk3-fixed" and dt is None:  # default fixed step: the CFL step of the initial data
        disc0 = build_rhs(equation, grid, sch, dtype)
        dt = sch.check_cfl(cfl) * float(disc0.max_dt(check_initial_data(u0, disc0.field_shape, dtype, grid)))
    chunked = progress is not None and method == "ssprk3" and mesh is None  # progress from a host loop
    run, disc, sch = build_stepper(equation, grid, ts, scheme=sch, cfl=cfl, method=method, dt=dt,
                                   max_steps=max_steps, dtype=dtype, rtol=rtol, atol=atol,
                                   progress=None if chunked else progress, mesh=mesh)
    u0 = check_initial_data(u0, disc.field_shape, dtype, grid)
    if chunked:
        advance = ssprk3_interval(disc.rhs, disc.max_dt, sch.check_cfl(cfl), max_steps)
        us, n, status, t_bad, ibad = run_with_progress(advance, u0, jnp.asarray(ts, dtype), progress)
    else:
        us, n, status, t_bad, ibad = jax.jit(run)(u0)
    _raise_on_status(int(status), float(t_bad), int(ibad), int(n), grid, disc, sch, equation, max_steps, t1)
    p = None
    if isinstance(equation, HamiltonJacobi):
        p = jax.jit(jax.vmap(disc.gradient))(us)
    meta = {
        "equation": equation.name, "scheme": sch.name, "flux": disc.info.get("flux"),
        "reconstruction": disc.info.get("reconstruction", disc.info.get("hj_derivative")),
        "nu": equation.nu, "cfl": cfl, "method": method, "dtype": str(dtype),
        "diffusion_order": sch.viscous_order,
        "manifold": type(equation.manifold).__name__ if equation.manifold is not None else "euclidean",
    }
    return Solution(t=jnp.asarray(ts, dtype), u=us, grid=grid, p=p, n_steps=int(n), metadata=meta)


def _solve_sphere(equation, grid: Grid, u0, t1, ts, method, dt, mesh) -> Solution:
    r"""``scheme='spectral'`` on S² (spherical chart): spherical harmonics on the ``nlat × nlon`` grid of
    cell centres (Fejér nodes), :func:`solver.spectral.sphere_etdrk4.solve_sphere_spectral`; ``method``
    ``'etdrk4'`` or ``'cole-hopf'`` chooses the time integration, any other value ``'auto'``; Burgers
    (``u0`` the covector ``(v_θ, v_φ)`` of a gradient field): :mod:`solver.spectral.sphere_burgers`."""
    from .spectral.sphere_etdrk4 import solve_sphere_spectral

    if mesh is not None:
        raise QShockInputError("spectral solves on the sphere run on one device; drop mesh/--devices")
    full = (np.allclose(grid.lower, (0.0, 0.0), atol=1e-12) and np.allclose(grid.upper, (math.pi, 2 * math.pi))
            if grid.ndim == 2 else False)
    if not full:
        raise QShockInputError("spectral solves on the sphere need the whole chart [0, pi] x [0, 2 pi) as the grid")
    if isinstance(equation, Burgers):  # gradient fields v = grad u, through the potential (ETDRK4)
        from .spectral.sphere_burgers import solve_sphere_burgers

        return solve_sphere_burgers(equation, u0, *grid.shape, t1, save_at=ts, sampling="fejer", dt=dt)
    return solve_sphere_spectral(equation, np.asarray(u0, float), *grid.shape, t1, save_at=ts, sampling="fejer",
                                 method=method if method in ("etdrk4", "cole-hopf") else "auto", dt=dt)


def _raise_on_status(status, t_bad, ibad, n, grid, disc, sch, equation, max_steps, t1):
    """Turn the stepper's status into BlowUpError (1: non-finite, 3: step collapsed) or
    QShockInputError (2: ``max_steps`` exhausted)."""
    if status == 1:
        raise BlowUpError(t_bad, _location(grid, disc.field_shape, ibad), n,
                          f"{sch.name} scheme, equation {equation.name}")
    if status == 2:
        raise QShockInputError(f"time stepping stopped after max_steps={max_steps} steps before t1={t1}; "
                               "raise max_steps or coarsen the grid")
    if status == 3:
        raise BlowUpError(t_bad, (float("nan"),) * grid.ndim, n, "time step collapsed to zero")
