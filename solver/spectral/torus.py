r"""Fourier pseudo-spectral solver for viscous Burgers and viscous HJ on periodic boxes.

The equation is written on the real-FFT coefficients as :math:`\hat v_t = L\hat v + N(\hat v)`
with :math:`L = -\nu|k|^2` (integrated exactly) and the dealiased nonlinear term of
:func:`solver.spectral.fourier.nonlinear_term`.

Time stepping (``method``):

* ``'etdrk4'`` — ETDRK4 with Kassam–Trefethen coefficients; fixed steps in a
  ``lax.scan`` over output intervals, each interval ``[s_{i-1}, s_i]`` split into
  ``n_i`` equal steps so that every output time is hit exactly.
* ``'diffrax'`` — adaptive IMEX: diffrax ``KenCarp4`` (ESDIRK for the stiff diffusion,
  ERK for the nonlinear term) with a PID step-size controller. The implicit stage
  equations are diagonal in Fourier space; a diagonal linear solver (one JVP for the
  diagonal, then a division) makes each implicit stage cost one FFT-free elementwise
  solve instead of a dense Jacobian. The state is passed as (real, imaginary) parts.

Default step: ``dt = cfl · min Δx / max|v0|`` with ``cfl = 0.25`` and ``v0`` the velocity
(Burgers: ``u0``; HJ: ``∇u0``), which bounds the speed for all time by the maximum
principle; ``dt = t1`` when the data do not move (pure diffusion is integrated exactly).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from ..equations import Burgers, HamiltonJacobi
from .._validate import final_time
from ..errors import BlowUpError, QShockInputError
from ..grid import Grid
from ..solution import Solution
from .etdrk4 import etdrk4_coefficients, etdrk4_step
from .fourier import _mode_index, retained_mask, linear_symbol, nonlinear_term, slab_nonlinear_term, spectral_gradient

__all__ = ["solve_spectral", "ResolutionWarning", "resolution_check", "default_dt"]


class ResolutionWarning(UserWarning):
    """The grid does not resolve the viscous layer: spectral answers would show Gibbs oscillations."""


# ----------------------------------------------------------------------------- validation
def _check_inputs(equation, grid: Grid, u0, t1, dtype):
    if not isinstance(equation, (Burgers, HamiltonJacobi)):
        raise QShockInputError(
            f"spectral solver: equation must be solver.Burgers or solver.HamiltonJacobi, got {type(equation).__name__}")
    if not isinstance(grid, Grid):
        raise QShockInputError(f"spectral solver: grid must be a solver.Grid, got {type(grid).__name__}")
    for a, b in enumerate(grid.boundaries):
        if b.kind != "periodic":
            raise QShockInputError(
                f"spectral solver needs periodic boundaries; axis {grid.axis_names[a]!r} is {b.kind!r}")
    for a, n in enumerate(grid.shape):
        if n < 4:
            raise QShockInputError(f"spectral solver: axis {grid.axis_names[a]!r} has {n} points; need at least 4")
    t1 = final_time(t1)
    u0 = np.asarray(u0)
    if dtype is None:
        dtype = u0.dtype if np.issubdtype(u0.dtype, np.floating) else jnp.result_type(float)
    dtype = jnp.dtype(dtype)
    if dtype not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise QShockInputError(f"dtype must be float32 or float64, got {dtype}")
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise QShockInputError("dtype float64 requested but JAX x64 is disabled (jax.config.update('jax_enable_x64', True))")
    vector = isinstance(equation, Burgers) and grid.ndim > 1
    want = ((grid.ndim,) if vector else ()) + grid.shape
    if u0.shape != want:
        raise QShockInputError(f"u0 has shape {u0.shape}; expected {want} for this equation and grid")
    if not np.all(np.isfinite(u0)):
        raise QShockInputError("u0 contains NaN or inf")
    return t1, u0, dtype, vector


def _check_save_at(save_at, t1):
    if save_at is None:
        return np.array([0.0, t1])
    s = np.atleast_1d(np.asarray(save_at, dtype=np.float64))
    if s.ndim != 1 or s.size == 0:
        raise QShockInputError("save_at must be a non-empty 1-D list of times")
    if not np.all(np.isfinite(s)) or s[0] < 0 or np.any(np.diff(s) < 0) or s[-1] > t1 * (1 + 1e-12) + 1e-300:
        raise QShockInputError(f"save_at must be finite, non-decreasing and within [0, t1={t1}]")
    return s


def default_dt(equation, grid: Grid, u0, cfl: float = 0.25) -> float:
    """Explicit step estimate ``cfl · min Δx / max|v0|`` (``inf`` when the velocity vanishes)."""
    u0 = np.asarray(u0, dtype=np.float64)
    if isinstance(equation, HamiltonJacobi):
        v = np.asarray(spectral_gradient(u0, grid))
    else:
        v = u0
    vmax = float(np.max(np.abs(v))) if v.size else 0.0
    return cfl * min(grid.dx) / vmax if vmax > 0 else math.inf


def _plan_steps(save_at, dt, steps_per_output):
    """Steps per output interval and the (few) distinct step sizes."""
    dts = np.diff(np.concatenate([[0.0], save_at]))
    if steps_per_output is not None:
        n = np.where(dts > 0, int(steps_per_output), 0)
    else:
        n = np.where(dts > 0, np.ceil(dts / dt * (1 - 1e-12)).astype(np.int64), 0)
        n = np.maximum(n, (dts > 0).astype(np.int64))
    h = np.where(n > 0, dts / np.maximum(n, 1), 0.0)
    key = np.round(h, 14 - int(np.floor(np.log10(max(np.max(h), 1e-300)))))
    uniq, idx = np.unique(key, return_inverse=True)
    hs = np.array([h[idx == j][0] for j in range(uniq.size)])
    return n.astype(np.int32), hs, idx.astype(np.int32)


# ----------------------------------------------------------------------------- resolution
def resolution_check(u, grid: Grid, tol: float = 1e-6, dealias: str = "3/2", width: float | None = None):
    r"""Relative amplitude of the top third of the retained band of modes, and the N needed.

    For each snapshot (leading axes) the spectrum envelope ``A(n)`` (max |û| over modes with
    shell index ``n = max_a |n_a|``) is inspected: ``tail = max_{n > 2K/3} A(n) / max A``.
    If ``tail > tol``, the exponential decay rate ``α`` between ``K/3`` and ``K`` is used to
    extrapolate the ``K*`` where the envelope falls below ``tol``; ``N* = N K*/K`` (rounded
    up to a power of two). ``K = N/3`` for ``dealias='2/3'``, ``N/2`` for ``'3/2'``.
    When the spectrum is flat (Gibbs: no measurable decay) and the viscous layer width
    ``width`` = 2ν/a (a = half the velocity jump) is given, ``N*`` follows from the tanh
    layer's spectrum :math:`e^{-\pi^2 n\,\delta/L_x}` instead.
    Returns ``(tail, N_needed or None)``.
    """
    u = np.asarray(u, dtype=np.float64)
    d = grid.ndim
    u = u.reshape((-1,) + grid.shape)
    uh = np.abs(np.fft.rfftn(u, axes=tuple(range(1, d + 1))))
    band = 3.0 if dealias == "2/3" else 2.0
    frac = np.zeros(uh.shape[1:])
    for a, m in enumerate(_mode_index(grid)):
        frac = np.maximum(frac, m / (grid.shape[a] / band))
    mask = retained_mask(grid, dealias) > 0
    K = int(min(grid.shape) // band)
    nb = max(K, 3)
    shell = np.minimum((frac * nb).astype(int), nb)
    env = np.zeros((uh.shape[0], nb + 1))
    for s in range(nb + 1):
        sel = (shell == s) & mask
        if np.any(sel):
            env[:, s] = uh[:, sel].max(axis=1)
    top = env.max(axis=1) + 1e-300
    tail_band = env[:, (2 * nb) // 3: nb].max(axis=1) / top
    tail = float(tail_band.max())
    if tail <= tol:
        return tail, None
    worst = int(np.argmax(tail_band))
    e = env[worst] / top[worst]
    n1, n2 = nb // 3, nb - 1
    a1, a2 = max(e[n1], 1e-300), max(e[n2], 1e-300)
    alpha = (math.log(a1) - math.log(a2)) / max(n2 - n1, 1)
    if alpha <= 0.05 and width:
        lx = max(h - l for l, h in zip(grid.lower, grid.upper))
        kstar = lx * math.log(1.0 / tol) / (math.pi**2 * width)
        factor = max(kstar / nb, 2.0)
    elif alpha <= 1e-3:
        factor = 8.0  # flat spectrum and no width estimate
    else:
        kstar = n1 + math.log(a1 / tol) / alpha
        factor = max(kstar / nb, 1.0) * 1.05
    nmax = max(grid.shape)
    return tail, int(2 ** math.ceil(math.log2(nmax * factor - 1e-9)))


# ----------------------------------------------------------------------------- ETDRK4 driver
def _etdrk4_run(N, coefs, v0, n_steps, tab_idx, h, inv, all_finite=None):
    """Outer scan over output intervals, inner while-loop of fixed steps; stops on non-finite
    (``all_finite(w)``: a sharded solve's global check)."""

    def outer(carry, xs):
        v, ok, done, t_ok = carry
        n, j, hh = xs
        c = jax.tree_util.tree_map(lambda a: a[j], coefs)

        def cond(s):
            i, _, good = s
            return (i < n) & good

        def body(s):
            i, w, _ = s
            wn = etdrk4_step(w, c, N)
            good = all_finite(wn) if all_finite is not None else jnp.all(jnp.isfinite(wn.real) & jnp.isfinite(wn.imag))
            return i + jnp.where(good, 1, 0), jnp.where(good, wn, w), good

        i, v, good = lax.while_loop(cond, body, (jnp.int32(0), v, ok))
        t_ok = t_ok + i.astype(t_ok.dtype) * hh
        return (v, good, done + i, t_ok), inv(v)

    init = (v0, jnp.bool_(True), jnp.int32(0), jnp.zeros((), jnp.float64 if jax.config.jax_enable_x64 else jnp.float32))
    (v, ok, done, t_ok), us = lax.scan(outer, init, (n_steps, tab_idx, h))
    return us, ok, done, t_ok, inv(v)


_etdrk4_jit = jax.jit(_etdrk4_run, static_argnums=(0, 6))


@functools.lru_cache(maxsize=64)
def _operators(equation, grid: Grid, dtype_name: str, lead: int, dealias: str):
    """Nonlinear term and inverse transform, cached so that jit sees the same callables."""
    dtype = jnp.dtype(dtype_name)
    ax = tuple(range(lead, lead + grid.ndim))
    N = nonlinear_term(equation, grid, dtype, dealias)

    def inv(v):
        return jnp.fft.irfftn(v, s=grid.shape, axes=ax).astype(dtype)

    return N, inv


def solve_spectral(equation, grid: Grid, u0, t1, *, save_at: Optional[Sequence[float]] = None,
                   dt: Optional[float] = None, steps_per_output: Optional[int] = None,
                   method: str = "etdrk4", dtype=None, rtol: float | None = None,
                   atol: float | None = None, resolution_tol: float = 1e-6,
                   contour_points: int = 64, dealias: str = "3/2", mesh=None) -> Solution:
    r"""Solve viscous Burgers or viscous HJ on a periodic box by Fourier pseudo-spectral methods.

    Equations (flat, periodic in every axis):

    * ``Burgers`` 1-D: :math:`u_t + (u^2/2)_x = \nu u_{xx}`;
      N-D gradient form :math:`v_t + \nabla(|v|^2/2) = \nu\Delta v`, ``u0`` shaped ``(d, *shape)``;
    * ``HamiltonJacobi``: :math:`u_t + H(x, \nabla u) = \nu\Delta u` (default
      :math:`H = \tfrac12|p|^2`); the returned ``Solution.p`` is the spectral gradient.

    Args:
        equation: :class:`solver.Burgers` or :class:`solver.HamiltonJacobi` (flat).
        grid: periodic :class:`solver.Grid`.
        u0: initial samples at the cell centres.
        t1: final time.
        save_at: output times in ``[0, t1]`` (default ``[0, t1]``).
        dt: step bound for ``'etdrk4'`` (initial step for ``'diffrax'``); default
            :func:`default_dt`. Ignored when ``steps_per_output`` is given.
        steps_per_output: fixed number of ETDRK4 steps in every output interval.
        method: ``'etdrk4'`` (fixed step) or ``'diffrax'`` (adaptive IMEX KenCarp4).
        dtype: ``float32`` or ``float64`` (default: that of ``u0``).
        rtol, atol: tolerances of the adaptive path (default 1e-10 in float64, 1e-5 in float32).
        resolution_tol: relative spectral-tail amplitude above which a
            :class:`ResolutionWarning` is issued (with the N needed).
        contour_points: points on the Kassam–Trefethen contour.
        dealias: ``'3/2'`` (default; zero-padding, alias-free on all ``|n| < N/2`` modes)
            or ``'2/3'`` (Orszag truncation to ``|n| < N/3``).
        mesh: split the first grid axis of a 2-D/3-D torus across devices (a
            :class:`jax.sharding.Mesh` or a device count; ``'etdrk4'`` only): slab FFTs with one
            all-to-all transpose each (:class:`~solver.spectral.fourier.SlabTransforms`).

    Raises:
        QShockInputError: non-periodic axis, bad shapes/times, NaN/inf in ``u0``.
        BlowUpError: the state became non-finite (time of the last finite state, location
            of its largest |u|, and the number of completed steps).
    """
    t1, u0, dtype, vector = _check_inputs(equation, grid, u0, t1, dtype)
    save_at = _check_save_at(save_at, t1)
    if method not in SPECTRAL_METHODS:
        raise QShockInputError(f"unknown spectral method {method!r}; expected 'etdrk4' or 'diffrax'")
    dt = _step_bound(equation, grid, u0, save_at, dt, steps_per_output)
    lead = 1 if vector else 0
    ax = tuple(range(lead, lead + grid.ndim))
    L = linear_symbol(grid, equation.nu)
    v0 = jnp.fft.rfftn(jnp.asarray(u0, dtype), axes=ax)
    opts = {"dt": dt, "steps_per_output": steps_per_output, "contour_points": contour_points, "rtol": rtol,
            "atol": atol, "dtype": dtype, "lead": lead, "u0": u0, "mesh": mesh, "equation": equation,
            "dealias": dealias}
    if mesh is not None:
        us, n_total, meta_dt, extra = _run_etdrk4_slab(L, v0, save_at, grid, opts, method)
    else:
        N, inv = _operators(equation, grid, jnp.dtype(dtype).name, lead, dealias)
        us, n_total, meta_dt, extra = SPECTRAL_METHODS[method](N, L, v0, inv, save_at, grid, opts)
    us = jnp.asarray(us)
    tail = _warn_if_underresolved(equation, grid, us, resolution_tol, dealias)
    p = spectral_gradient(us, grid) if isinstance(equation, HamiltonJacobi) else None
    meta = {"equation": equation.name, "scheme": "spectral", "method": method, "nu": equation.nu, "dt": meta_dt,
            "dtype": str(jnp.dtype(dtype)), "dealias": dealias, "spectral_tail": tail, **extra}
    return Solution(t=jnp.asarray(save_at, dtype), u=us, grid=grid, p=p, n_steps=n_total, metadata=meta)


def _run_etdrk4_slab(L, v0, save_at, grid: Grid, opts, method: str):
    """ETDRK4 with the spectral state in slabs over ``opts['mesh']`` (one ``shard_map``: FFTs by
    :class:`~solver.spectral.fourier.SlabTransforms`, the blow-up check a ``psum``)."""
    from ..sharding import spectral_mesh

    if method != "etdrk4":
        raise QShockInputError("sharded spectral solves use method 'etdrk4'")
    mesh, name, k = spectral_mesh(opts["mesh"], grid)
    dtype, lead = opts["dtype"], opts["lead"]
    run, mp = _slab_runner(opts["equation"], grid, jnp.dtype(dtype).name, lead, opts["dealias"], mesh)
    n_steps, hs, tab_idx = _plan_steps(save_at, opts["dt"], opts["steps_per_output"])
    widen = lambda a: np.pad(np.asarray(a), [(0, 0)] * (np.ndim(a) - 1) + [(0, mp - np.shape(a)[-1])])
    tabs = [etdrk4_coefficients(widen(L), h, opts["contour_points"], dtype=dtype) for h in hs]
    coefs = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *tabs)
    h_int = np.where(n_steps > 0, np.diff(np.concatenate([[0.0], save_at])) / np.maximum(n_steps, 1), 0.0)
    us, ok, done, t_ok, v_last = run(coefs, jnp.asarray(widen(v0)), jnp.asarray(n_steps), jnp.asarray(tab_idx),
                                     jnp.asarray(h_int))
    if not bool(ok):
        _raise_blowup(v_last, grid, float(t_ok), int(done), lead)
    return us, int(done), float(np.max(h_int)) if h_int.size else 0.0, {"contour_points": opts["contour_points"],
                                                                         "devices": k}


@functools.lru_cache(maxsize=16)
def _slab_runner(equation, grid: Grid, dtype_name: str, lead: int, dealias: str, mesh):
    """The jitted ``shard_map`` of :func:`_etdrk4_run` on slabs (cached: one compilation per problem)."""
    name = mesh.axis_names[0]
    d = grid.ndim
    N, T = slab_nonlinear_term(equation, grid, jnp.dtype(dtype_name), dealias, name, mesh.shape[name])
    state, field = P(*(None,) * (lead + d - 1), name), P(*(None,) * lead, name)

    def all_finite(w):
        return lax.psum(jnp.sum(~(jnp.isfinite(w.real) & jnp.isfinite(w.imag))), name) == 0

    def block(coefs, v0, n_steps, tab_idx, h):
        return _etdrk4_run(N, coefs, v0, n_steps, tab_idx, h, lambda v: T.irfftn(v, grid.shape[-1], lead),
                           all_finite)

    run = jax.jit(jax.shard_map(block, mesh=mesh, check_vma=False,
                                in_specs=(P(None, *(None,) * (d - 1), name), state, P(), P(), P()),
                                out_specs=(P(None, *field), P(), P(), P(), field)))
    return run, T.mp


def _step_bound(equation, grid: Grid, u0, save_at, dt, steps_per_output) -> float:
    """Validated ETDRK4 step bound (or initial adaptive step): ``dt``, else :func:`default_dt`."""
    if steps_per_output is not None and (int(steps_per_output) != steps_per_output or steps_per_output < 1):
        raise QShockInputError(f"steps_per_output must be a positive integer, got {steps_per_output!r}")
    if dt is not None and not (math.isfinite(float(dt)) and float(dt) > 0):
        raise QShockInputError(f"dt must be a positive number, got {dt!r}")
    if dt is None:
        dt = default_dt(equation, grid, u0)
        if not math.isfinite(dt):
            dt = max(float(save_at[-1]), 1e-300)
    return float(dt)


def _run_etdrk4(N, L, v0, inv, save_at, grid: Grid, opts):
    """Fixed-step ETDRK4 (Kassam–Trefethen contour coefficients per distinct step), jitted scan."""
    n_steps, hs, tab_idx = _plan_steps(save_at, opts["dt"], opts["steps_per_output"])
    tabs = [etdrk4_coefficients(L, h, opts["contour_points"], dtype=opts["dtype"]) for h in hs]
    coefs = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *tabs)
    h_int = np.where(n_steps > 0, np.diff(np.concatenate([[0.0], save_at])) / np.maximum(n_steps, 1), 0.0)
    us, ok, done, t_ok, v_last = _etdrk4_jit(N, coefs, v0, jnp.asarray(n_steps), jnp.asarray(tab_idx),
                                             jnp.asarray(h_int), inv)
    n_total = int(done)
    if not bool(ok):
        _raise_blowup(v_last, grid, float(t_ok), n_total, opts["lead"])
    meta_dt = float(np.max(h_int)) if h_int.size else 0.0
    return us, n_total, meta_dt, {"contour_points": opts["contour_points"]}


def _run_imex(N, L, v0, inv, save_at, grid: Grid, opts):
    """Adaptive IMEX KenCarp4 (diffrax) with ``rtol``/``atol`` (default 1e-10 float64, 1e-5 float32)."""
    from ._imex import imex_solve

    dtype, dt, lead = opts["dtype"], opts["dt"], opts["lead"]
    rtol = opts["rtol"] if opts["rtol"] is not None else (1e-10 if dtype == jnp.float64 else 1e-5)
    atol = opts["atol"] if opts["atol"] is not None else rtol
    us, n_total, ok, info = imex_solve(N, L, v0, save_at, dt, rtol, atol, inv, dtype)
    if not ok:
        ax = tuple(range(lead, lead + grid.ndim))
        good = [i for i in range(us.shape[0]) if np.all(np.isfinite(np.asarray(us[i])))]
        i = good[-1] if good else 0
        last = np.asarray(us[i]) if good else np.asarray(opts["u0"])
        _raise_blowup(jnp.fft.rfftn(jnp.asarray(last), axes=ax), grid, float(save_at[i]) if good else 0.0,
                      n_total, lead, detail=info)
    return us, n_total, dt, {"rtol": rtol, "atol": atol, "imex": "KenCarp4"}


#: registered spectral time integrators: name -> ``(N, L, v0, inv, save_at, grid, opts) -> (us, steps, dt, meta)``
SPECTRAL_METHODS = {"etdrk4": _run_etdrk4, "diffrax": _run_imex}


def _warn_if_underresolved(equation, grid: Grid, us, resolution_tol, dealias) -> float:
    """Relative spectral tail of the snapshots; a :class:`ResolutionWarning` (with the N needed) above
    ``resolution_tol``. The expected layer width ``4ν/jump`` of the velocity sets the needed N."""
    nu = equation.nu
    vel = np.asarray(spectral_gradient(us, grid) if isinstance(equation, HamiltonJacobi) else us)
    vel = vel.reshape(vel.shape[0], -1, grid.size)
    jump = float(np.max(np.ptp(vel, axis=-1))) if vel.size else 0.0
    width = 4 * nu / jump if jump > 0 and nu > 0 else None
    tail, n_needed = resolution_check(np.asarray(us).reshape((-1,) + grid.shape), grid, resolution_tol, dealias, width)
    if n_needed is not None:
        warnings.warn(
            f"spectral solve under-resolved: relative spectral tail {tail:.2e} > {resolution_tol:.0e} "
            f"(viscous layer not resolved by N={max(grid.shape)}); use N >= {n_needed} per axis "
            f"(or a larger nu) to avoid Gibbs oscillations", ResolutionWarning, stacklevel=3)
    return tail


def _raise_blowup(v_last, grid: Grid, t, steps, lead, detail=""):
    ax = tuple(range(lead, lead + grid.ndim))
    u = np.asarray(jnp.fft.irfftn(v_last, s=grid.shape, axes=ax))
    mag = np.abs(u) if lead == 0 else np.sqrt(np.sum(u * u, axis=0))
    mag = np.where(np.isfinite(mag), mag, np.inf)
    idx = np.unravel_index(int(np.argmax(mag)), grid.shape)
    loc = tuple(float(grid.lower[a] + (idx[a] + 0.5) * grid.dx[a]) for a in range(grid.ndim))
    raise BlowUpError(t, loc, steps, detail or "spectral state became non-finite (try a smaller dt)")
