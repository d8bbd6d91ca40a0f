r"""Shock prediction from the initial data by characteristics.

=====================================  =================================================  ===================
case                                   formula                                            ``method``
=====================================  =================================================  ===================
Burgers 1-D, flat                      :math:`t^* = -1/\min u_0'`                          ``flat-burgers``
HJ, :math:`H = \tfrac12|p|^2`, flat      :math:`t^* = 1/\max(-λ_{\min}(\nabla^2 u_0))`       ``flat-hessian``
HJ, convex :math:`H(p)` (no ``x``)       :math:`t^* = 1/\max(-λ_{\min}(H_{pp}^{1/2}\nabla^2u_0H_{pp}^{1/2}))`  ``flat-convex-H``
curved metric or ``x``-dependent ``H``  first zero of :math:`\det X` (Jacobi/Riccati, diffrax)  ``jacobi-riccati``
=====================================  =================================================  ===================

The flat convex case is the singularity of the Jacobian of
:math:`x_0 \mapsto x_0 + t\,H_p(\nabla u_0(x_0))`, i.e. of :math:`I + t H_{pp}\nabla^2u_0`.
N-D Burgers (gradient form) uses the HJ formulas with ``u0`` its potential. The minimum over
the feet is taken on a dense sample (the grid's cell centres, refined for callables) and then
refined on shrinking local stencils; the reported uncertainty is the change in the last
refinement plus the time-interpolation error (callables), or the difference between two
derivative approximations plus the sub-cell offset of the discrete extremum (cell values).
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ..equations import Burgers, HamiltonJacobi, quadratic_hamiltonian
from ..errors import QShockInputError
from ..grid import Grid
from ._result import ShockEstimate
from .riccati import jacobi_fold_times

__all__ = ["predict", "flat_hessian_time", "point_fn", "HashableFn"]


# --------------------------------------------------------------------------- helpers
def _domain(grid_or_chart):
    """(lower, upper, periodic, shape) of the sampling box."""
    if isinstance(grid_or_chart, Grid):
        g = grid_or_chart
        return np.array(g.lower), np.array(g.upper), tuple(g.periodic), g.shape
    if grid_or_chart is not None and hasattr(grid_or_chart, "domain"):
        lo, hi = (np.asarray(v, float) for v in grid_or_chart.domain)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise QShockInputError("predict: the chart's coordinates are unbounded; pass a Grid with the sampling box")
        per = tuple(getattr(grid_or_chart, "periodic", (False,) * len(lo)))
        return lo, hi, per, tuple([64] * len(lo))
    raise QShockInputError("predict: grid_or_chart must be a solver.Grid or a manifold chart with a bounded domain")


def point_fn(u0: Callable) -> Callable:
    """``u0(*coords)`` (CLI convention: one array per axis) as a scalar function ``f(x)`` of one
    point ``x`` of shape ``(d,)``, ready for ``jax.grad`` / ``jax.hessian``."""
    def f(x):
        return jnp.asarray(u0(*[x[a] for a in range(x.shape[0])])).reshape(())
    return f



def _sample(lo, hi, shape):
    axes = [lo[a] + (np.arange(n) + 0.5) * (hi[a] - lo[a]) / n for a, n in enumerate(shape)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=-1), tuple((hi - lo) / np.array(shape))


def _wrap(x, lo, hi, periodic):
    x = np.array(x, float)
    for a, per in enumerate(periodic):
        if per:
            x[..., a] = lo[a] + np.mod(x[..., a] - lo[a], hi[a] - lo[a])
    return x


def _local_stencil(x, h, d, m=5):
    offs = (np.arange(m) - (m - 1) / 2) / ((m - 1) / 2)
    mesh = np.meshgrid(*([offs] * d), indexing="ij")
    return x[None, :] + np.stack([mm.ravel() for mm in mesh], axis=-1) * np.asarray(h)[None, :]


def _refine(objective, x_best, t_best, h, lo, hi, periodic, iters=4):
    """Shrinking local stencils around the best foot; returns (x, t, change in last iteration)."""
    d = len(h)
    h = np.asarray(h, float)
    change = 0.0
    for _ in range(iters):
        pts = _wrap(_local_stencil(x_best, h, d), lo, hi, periodic)
        for a in range(d):
            if not periodic[a]:
                pts[:, a] = np.clip(pts[:, a], lo[a] + 1e-9 * (hi[a] - lo[a]), hi[a] - 1e-9 * (hi[a] - lo[a]))
        ts = objective(pts)
        i = int(np.argmin(ts))
        if ts[i] < t_best:
            change = t_best - ts[i]
            x_best, t_best = pts[i], float(ts[i])
        else:
            change = 0.0 if not math.isfinite(t_best) else change * 0.25
        h = h / 2.5
    return x_best, t_best, change


# --------------------------------------------------------------------------- flat formulas
def _hessian_eigs(hess):
    """Eigenvalues of a batch of symmetric matrices (smallest first)."""
    return jnp.linalg.eigvalsh(0.5 * (hess + jnp.swapaxes(hess, -1, -2)))


def flat_hessian_time(hess) -> np.ndarray:
    r"""Pointwise :math:`1/\max(0, -λ_{\min}(\nabla^2 u_0))` (``inf`` where convex) for a batch of Hessians."""
    lam = np.asarray(_hessian_eigs(jnp.asarray(hess)))[..., 0]
    with np.errstate(divide="ignore"):
        return np.where(lam < 0, -1.0 / np.where(lam < 0, lam, -1.0), np.inf)


def _convex_H_time(Hpp, hess):
    # eigenvalues of Hpp @ hess equal those of Hpp^{1/2} hess Hpp^{1/2} (Hpp SPD)
    w, V = np.linalg.eigh(Hpp)
    root = V @ (np.sqrt(np.maximum(w, 0))[..., None] * np.swapaxes(V, -1, -2))
    return flat_hessian_time(root @ hess @ root)


def _callable_flat(objective_fn, lo, hi, periodic, shape, d, n_dense):
    per_axis = max(int(math.ceil(n_dense ** (1.0 / d))), 8)
    dense = tuple(max(n, per_axis) for n in shape)
    pts, h = _sample(lo, hi, dense)
    ts = objective_fn(pts)
    i = int(np.argmin(ts))
    if not math.isfinite(ts[i]):
        return None, math.inf, 0.0
    x, t, change = _refine(objective_fn, pts[i], float(ts[i]), h, lo, hi, periodic, iters=6)
    return x, t, change


def _fd_derivative(f, h, periodic, axis):
    """Second-order centred derivative along ``axis`` (one-sided second order at open ends)."""
    if periodic:
        return (np.roll(f, -1, axis) - np.roll(f, 1, axis)) / (2 * h)
    return np.gradient(f, h, axis=axis, edge_order=2)


def _spectral_derivative(f, length, axis):
    n = f.shape[axis]
    k = 2j * np.pi * np.fft.fftfreq(n, d=length / n)
    shp = [1] * f.ndim
    shp[axis] = n
    if n % 2 == 0:
        k[n // 2] = 0.0
    return np.real(np.fft.ifft(np.fft.fft(f, axis=axis) * k.reshape(shp), axis=axis))


def _array_burgers_1d(u, grid: Grid):
    h = grid.dx[0]
    x = np.asarray(grid.centres())
    per = grid.periodic[0]
    du2 = _fd_derivative(u, h, per, 0)
    du = _spectral_derivative(u, grid.upper[0] - grid.lower[0], 0) if per else np.gradient(u, h, edge_order=2)
    if not per:  # fourth order interior for a second estimate
        du4 = du.copy()
        du4[2:-2] = (-u[4:] + 8 * u[3:-1] - 8 * u[1:-3] + u[:-4]) / (12 * h)
        du, du2 = du4, du
    i = int(np.argmin(du))
    m = du[i]
    # parabolic refinement of the minimum of u0' through three cells
    off = 0.0
    if 0 < i < len(u) - 1 or per:
        a, b, c = du[i - 1], du[i], du[(i + 1) % len(u)]
        den = a - 2 * b + c
        if den > 0:
            off = 0.5 * (a - c) / den
            m = b - 0.25 * (a - c) * off
    if m >= 0:
        return ShockEstimate(math.inf, None, 0.0, "flat-burgers", details={"min_du0": float(m)})
    t = -1.0 / m
    x0 = x[i] + off * h
    u_at = np.interp(x0, x, u, period=(grid.upper[0] - grid.lower[0]) if per else None)
    unc = t * t * (abs(m - du[i]) + abs(float(np.min(du2)) - float(np.min(du))))
    loc = _wrap(np.array([x0 + t * u_at]), np.array(grid.lower), np.array(grid.upper), grid.periodic)
    return ShockEstimate(t, (float(loc[0]),), float(unc), "flat-burgers",
                         location_uncertainty=float(h + abs(u_at) * unc),
                         details={"min_du0": float(m), "foot": float(x0), "sampling": "cell values"})


def _array_hessian(u, grid: Grid):
    d = grid.ndim
    grads = [_fd_derivative(u, grid.dx[a], grid.periodic[a], a) for a in range(d)]
    hess = np.empty(u.shape + (d, d))
    for a in range(d):
        for b in range(d):
            hess[..., a, b] = _fd_derivative(grads[a], grid.dx[b], grid.periodic[b], b)
    return np.stack(grads, -1), hess


# --------------------------------------------------------------------------- dispatcher
def predict(equation, u0, grid_or_chart, *, t_max: Optional[float] = None, n_dense: int = 8192,
            n_jacobi: int = 2048, n_save: int = 257, method: str = "auto") -> ShockEstimate:
    r"""First shock (Burgers) or kink (HJ) time and place from the initial data, by characteristics.

    Args:
        equation: :class:`~solver.equations.Burgers` or :class:`~solver.equations.HamiltonJacobi`
            (``equation.manifold`` selects the curved Jacobi/Riccati route; see the module table).
        u0: a callable ``u0(*coords)`` (one array per axis, the CLI ``--ic`` convention; for HJ
            and N-D Burgers the potential, for 1-D Burgers the velocity), or cell values on the
            grid (flat cases only).
        grid_or_chart: the :class:`~solver.grid.Grid` (sampling box, periodicity, resolution), or
            a chart with a bounded ``domain``.
        t_max: search horizon of the Jacobi integration (default: three times the flat estimate,
            at least 10); no fold before it gives ``time = inf``.
        n_dense: number of feet sampled for the closed-form criteria (callables).
        n_jacobi: at most this many feet integrated in the Jacobi route (then local refinement).
        n_save: saved times per characteristic (fold located by interpolation between them).
        method: ``'auto'``; ``'riccati'`` forces the diffrax Jacobi/Riccati integration on the
            sphere (where ``'auto'`` uses the closed-form great circles, :mod:`.geodesic`).

    Returns:
        :class:`ShockEstimate` (``time = inf`` and ``location = None`` when no shock forms).
    """
    if not isinstance(equation, (Burgers, HamiltonJacobi)):
        raise QShockInputError(f"predict: equation must be Burgers or HamiltonJacobi, got {type(equation).__name__}")
    box = _domain(grid_or_chart)
    is_burgers = isinstance(equation, Burgers)
    if not callable(u0):
        return _predict_from_values(equation, np.asarray(u0, float), grid_or_chart, box)
    f = point_fn(u0)
    if is_burgers and len(box[0]) == 1:
        return _predict_burgers_1d(f, equation.manifold, box, n_dense, t_max, n_jacobi, n_save)
    if equation.manifold is None and (is_burgers or equation.is_default_hamiltonian):
        return _predict_flat_hessian(f, box, n_dense)
    Hfun = equation.H if not is_burgers else (lambda x, p: quadratic_hamiltonian(x, p))
    if equation.manifold is None:
        est = _predict_flat_convex(Hfun, f, box, n_dense)
        if est is not None:
            return est
    return _predict_curved(equation, Hfun, f, box, t_max, n_jacobi, n_save, method)


def _predict_from_values(equation, arr, grid, box) -> ShockEstimate:
    """Flat cases from cell values: 1-D Burgers (:func:`_array_burgers_1d`) and the HJ Hessian criterion."""
    lo, hi, periodic, shape = box
    d = len(lo)
    is_burgers = isinstance(equation, Burgers)
    if not isinstance(grid, Grid):
        raise QShockInputError("predict: cell values need the Grid they live on")
    if not np.all(np.isfinite(arr)):
        raise QShockInputError("predict: initial data contain NaN or inf")
    if equation.manifold is not None or (isinstance(equation, HamiltonJacobi) and not equation.is_default_hamiltonian):
        raise QShockInputError("predict: curved or non-quadratic problems need u0 as a callable (e.g. the --ic expression)")
    if is_burgers and d > 1:
        raise QShockInputError("predict: N-D Burgers needs the potential as a callable")
    if arr.shape != grid.shape:
        raise QShockInputError(f"predict: u0 has shape {arr.shape}, expected {grid.shape}")
    if is_burgers:
        return _array_burgers_1d(arr, grid)
    grad, hess = _array_hessian(arr, grid)
    ts = flat_hessian_time(hess.reshape(-1, d, d))
    i = int(np.argmin(ts))
    t = float(ts[i])
    if not math.isfinite(t):
        return ShockEstimate(math.inf, None, 0.0, "flat-hessian")
    x0 = np.asarray(grid.points()).reshape(-1, d)[i]
    loc = _wrap(x0 + t * grad.reshape(-1, d)[i], lo, hi, periodic)
    h = max(grid.dx)
    return ShockEstimate(t, tuple(float(c) for c in loc), float(t * t * h * h * np.max(np.abs(hess))),
                         "flat-hessian", location_uncertainty=float(h * (1 + t * np.max(np.abs(hess)))),
                         details={"sampling": "cell values"})


def _predict_burgers_1d(f, manifold, box, n_dense, t_max, n_jacobi, n_save) -> ShockEstimate:
    r"""1-D Burgers velocity data: flat :math:`t^* = -1/\min u_0'`; on a chart the Jacobi route with
    :math:`H = p^2/(2g)`."""
    lo, hi, periodic, shape = box
    p0 = lambda x: jnp.reshape(f(x), (1,))  # noqa: E731
    dp0 = lambda x: jax.jacfwd(p0)(x)  # noqa: E731
    if manifold is not None:
        def H(x, p):  # gradient-form Burgers on a 1-D chart: H = p^2 / (2 g)
            return 0.5 * p[0] * p[0] / manifold.metric(x)[0, 0]

        return _jacobi(H, p0, dp0, lo, hi, periodic, shape, t_max, n_jacobi, n_save, flat_t=None)
    du = jax.jit(jax.vmap(lambda x: jax.grad(f)(x)[0]))

    def objective(pts):
        m = np.asarray(du(jnp.asarray(pts)))
        with np.errstate(divide="ignore"):
            return np.where(m < 0, -1.0 / np.where(m < 0, m, -1.0), np.inf)

    x0, t, change = _callable_flat(objective, lo, hi, periodic, shape, 1, n_dense)
    if x0 is None:
        return ShockEstimate(math.inf, None, 0.0, "flat-burgers")
    v = float(f(jnp.asarray(x0)))
    loc = _wrap(x0 + t * v, lo, hi, periodic)
    return ShockEstimate(t, (float(loc[0]),), float(change + 1e-12 * t), "flat-burgers",
                         location_uncertainty=float(abs(change) * abs(v) + 1e-10),
                         details={"foot": float(x0[0]), "min_du0": float(-1.0 / t)})


def _predict_flat_hessian(f, box, n_dense) -> ShockEstimate:
    r"""Flat :math:`H = \tfrac12|p|^2` (and N-D Burgers with potential ``u0``): the Hessian criterion."""
    lo, hi, periodic, shape = box
    grad_f = jax.grad(f)
    hess_b = jax.jit(jax.vmap(jax.hessian(f)))

    def objective(pts):
        return flat_hessian_time(hess_b(jnp.asarray(pts)))

    x0, t, change = _callable_flat(objective, lo, hi, periodic, shape, len(lo), n_dense)
    if x0 is None:
        return ShockEstimate(math.inf, None, 0.0, "flat-hessian")
    v = np.asarray(grad_f(jnp.asarray(x0)))
    loc = _wrap(x0 + t * v, lo, hi, periodic)
    return ShockEstimate(t, tuple(float(c) for c in loc), float(change + 1e-12 * t), "flat-hessian",
                         location_uncertainty=float(np.linalg.norm(v) * change + 1e-10),
                         details={"foot": [float(c) for c in x0]})


def _predict_flat_convex(Hfun, f, box, n_dense) -> Optional[ShockEstimate]:
    r"""Flat convex :math:`H(p)` without ``x`` dependence (checked on a sample): singularity of
    :math:`I + tH_{pp}\nabla^2u_0`. ``None`` when ``H`` depends on ``x`` (then the Jacobi route)."""
    lo, hi, periodic, shape = box
    grad_f, hess_f = jax.grad(f), jax.hessian(f)
    pts, _ = _sample(lo, hi, tuple(max(n, 16) for n in shape))
    pts = pts[:: max(1, len(pts) // 2048)]
    Hx = jax.jit(jax.vmap(lambda x: jax.grad(Hfun, argnums=0)(x, grad_f(x))))(jnp.asarray(pts))
    if float(jnp.max(jnp.abs(Hx))) != 0.0:
        return None
    Hpp_f = jax.jit(jax.vmap(lambda x: jax.hessian(Hfun, argnums=1)(x, grad_f(x))))
    hess_b = jax.jit(jax.vmap(hess_f))

    def objective(pts):
        P = jnp.asarray(pts)
        return _convex_H_time(np.asarray(Hpp_f(P)), np.asarray(hess_b(P)))

    x0, t, change = _callable_flat(objective, lo, hi, periodic, shape, len(lo), n_dense)
    if x0 is None:
        return ShockEstimate(math.inf, None, 0.0, "flat-convex-H")
    v = np.asarray(jax.grad(Hfun, argnums=1)(jnp.asarray(x0), grad_f(jnp.asarray(x0))))
    loc = _wrap(x0 + t * v, lo, hi, periodic)
    return ShockEstimate(t, tuple(float(c) for c in loc), float(change + 1e-12 * t), "flat-convex-H",
                         location_uncertainty=float(np.linalg.norm(v) * change + 1e-10),
                         details={"foot": [float(c) for c in x0]})


def _predict_curved(equation, Hfun, f, box, t_max, n_jacobi, n_save, method) -> ShockEstimate:
    """Curved metric or ``x``-dependent ``H``: great circles on the sphere (``method='auto'``, default H),
    otherwise the Jacobi/Riccati integration."""
    lo, hi, periodic, shape = box
    manifold = equation.manifold
    grad_f, hess_f = jax.grad(f), jax.hessian(f)
    flat_t = None
    if manifold is not None:
        flat_t = _covariant_flat_time(manifold, f, lo, hi, shape)
        if method == "auto" and type(manifold).__name__ == "Sphere" and equation.is_default_hamiltonian:
            return _sphere(manifold, HashableFn(grad_f), lo, hi, periodic, shape, t_max, n_jacobi, flat_t)
    if method not in ("auto", "riccati"):
        raise QShockInputError(f"predict: unknown method {method!r}; expected auto or riccati")
    return _jacobi(HashableFn(Hfun), HashableFn(grad_f), HashableFn(hess_f), lo, hi, periodic, shape, t_max,
                   n_jacobi, n_save, flat_t=flat_t)


class HashableFn:
    """Callable wrapper hashed by identity, for functions passed as static arguments to jitted
    integrators (:func:`jacobi_fold_times`, :func:`sphere_fold_times`): one compilation per
    wrapper, i.e. per :func:`predict` call, not one per new closure."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)




def _covariant_flat_time(manifold, f, lo, hi, shape):
    r"""The flat formula with the covariant Hessian in an orthonormal frame (curvature ignored)."""
    def ortho_hess(x):
        g = manifold.metric(x)
        gam = manifold.christoffel(x)
        cov = jax.hessian(f)(x) - jnp.einsum("kij,k->ij", gam, jax.grad(f)(x))
        w, V = jnp.linalg.eigh(g)
        e = V @ jnp.diag(1 / jnp.sqrt(w)) @ V.T
        return e @ cov @ e

    pts, _ = _sample(lo, hi, tuple(max(n, 32) for n in shape))
    hs = jax.jit(jax.vmap(ortho_hess))(jnp.asarray(pts))
    ts = flat_hessian_time(hs)
    return float(np.min(ts))


def _jacobi(H, p0, dp0, lo, hi, periodic, shape, t_max, n_jacobi, n_save, flat_t):
    d = len(lo)
    per_axis = np.array(shape, float)
    scale = (n_jacobi / np.prod(per_axis)) ** (1.0 / d)
    coarse = tuple(max(4, int(round(n * min(scale, 4.0)))) for n in shape)
    pts, h = _sample(lo, hi, coarse)
    if t_max is None:
        t_max = 10.0 if flat_t is None or not math.isfinite(flat_t) else max(3.0 * flat_t, 1.0)
    t_max = float(t_max)

    def objective(p):
        return jacobi_fold_times(H, p0, dp0, jnp.asarray(p), t_max, n_save)

    times, xs, ps, err = objective(pts)
    n_failed = int(np.sum(~np.isfinite(times)))
    i = int(np.argmin(times))
    if not math.isfinite(times[i]):
        return ShockEstimate(math.inf, None, 0.0, "jacobi-riccati",
                             details={"t_max": t_max, "flat_time": flat_t})
    best = {"x0": pts[i], "t": float(times[i]), "x": xs[i], "err": float(err[i])}

    x_best, t_best, change = pts[i], float(times[i]), 0.0
    hh = np.asarray(h, float)
    for _ in range(3):
        cand = _wrap(_local_stencil(x_best, hh, d), lo, hi, periodic)
        for a in range(d):
            if not periodic[a]:
                cand[:, a] = np.clip(cand[:, a], lo[a] + 1e-6 * (hi[a] - lo[a]), hi[a] - 1e-6 * (hi[a] - lo[a]))
        t, x, _, e = objective(cand)
        j = int(np.argmin(t))
        change = max(0.0, t_best - float(t[j]))
        if t[j] < t_best:
            x_best, t_best = cand[j], float(t[j])
            best = {"x0": cand[j], "t": float(t[j]), "x": x[j], "err": float(e[j])}
        hh = hh / 2.5
    loc = _wrap(best["x"], lo, hi, periodic)
    unc = change + best["err"] + 1e-9 * t_best
    return ShockEstimate(float(best["t"]), tuple(float(c) for c in loc), float(unc), "jacobi-riccati",
                         location_uncertainty=float(np.max(hh) * 2.5),
                         details={"foot": [float(c) for c in best["x0"]], "t_max": t_max, "flat_time": flat_t,
                                  "failed_trajectories": n_failed})


def _sphere(manifold, grad_f, lo, hi, periodic, shape, t_max, n_sample, flat_t):
    from .geodesic import sphere_fold_point, sphere_fold_times

    d = len(lo)
    scale = (n_sample / np.prod(np.array(shape, float))) ** (1.0 / d)
    coarse = tuple(max(8, int(round(n * min(scale, 4.0)))) for n in shape)
    pts, h = _sample(lo, hi, coarse)
    if t_max is None:
        t_max = 2 * np.pi if flat_t is None or not math.isfinite(flat_t) else min(3.0 * flat_t, 2 * np.pi)
    t_max = float(t_max)
    times, dt = sphere_fold_times(manifold, grad_f, pts, t_max)
    i = int(np.argmin(times))
    if not math.isfinite(times[i]):
        return ShockEstimate(math.inf, None, 0.0, "sphere-geodesic", details={"t_max": t_max, "flat_time": flat_t})
    x_best, t_best = pts[i], float(times[i])
    hh = np.asarray(h, float)
    change = 0.0
    for _ in range(4):
        cand = _wrap(_local_stencil(x_best, hh, d), lo, hi, periodic)
        for a in range(d):
            if not periodic[a]:
                cand[:, a] = np.clip(cand[:, a], lo[a] + 1e-6 * (hi[a] - lo[a]), hi[a] - 1e-6 * (hi[a] - lo[a]))
        ts_c, _ = sphere_fold_times(manifold, grad_f, cand, t_max)
        j = int(np.argmin(ts_c))
        change = max(0.0, t_best - float(ts_c[j]))
        if ts_c[j] < t_best:
            x_best, t_best = cand[j], float(ts_c[j])
        hh = hh / 2.5
    t_newton, X = sphere_fold_point(manifold, grad_f, x_best, t_best)
    polished = abs(t_newton - t_best) < dt
    t_final = t_newton if polished else t_best
    if not polished:  # Newton left the bracket (degenerate fold): the grid point's position
        from .geodesic import _flow

        X = np.asarray(_flow(manifold, grad_f, jnp.asarray(x_best), t_best))
    loc = np.asarray(manifold.from_embedding(jnp.asarray(X)))
    # sampling of the feet (last refinement change) plus, unpolished, the time-grid spacing
    unc = change + (0.0 if polished else dt) + 1e-9 * t_final
    return ShockEstimate(float(t_final), tuple(float(c) for c in loc), float(unc),
                         "sphere-geodesic", location_uncertainty=float(np.max(hh) * 2.5),
                         details={"foot": [float(c) for c in x_best], "t_max": t_max, "flat_time": flat_t})
