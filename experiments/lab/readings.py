r"""Two readings of PDE time on a loss chart, solved with qshock's own finite-volume solver.

Both take a :class:`~qshock.experiments.lab.slices.LossChart` (loss on an Nᵐ cell-centred grid,
constant diagonal metric g; :func:`orthonormal` rescales it to g = I, as ``loss_chart`` already
delivers) and solve with the FV solver (WENO5 by default) on the chart box; closed forms are only
the check (``Reading.detail["closed_form"]``, from ``solver.shocks.predict`` on the grid).

* **Reading (ii), step map** (:func:`step_map_fold`). The GD map x ↦ x − τ grad_g L is the
  time-τ characteristic map of v_t + (v·∇)v = νΔv, v(0) = −grad_g L (docs/theory.md §2). 1-D:
  Burgers u_t + (u²/2)_x = νu_xx (velocity form); m-D: the curl-free gradient form
  v_t + ∇(|v|²/2) = νΔv. The fold time τ* is the blow-up of the compression
  G = max(−λ_min(sym ∇v)) found by ``solver.shocks.detect`` (straight-line fit of 1/G against t,
  exact along flat characteristics). Closed form: τ* = 1/maxₓ λ_max(Hess L(x)); quadratic: 1/λ.
* **Reading (i), coarse-graining** (:func:`coarse_grain_shock`). u_t + ½|∇u|²_g = νΔ_g u,
  u(0) = L. Inviscid closed form t* = 1/μ, μ = maxₓ(−λ_min(Hess_g L)). For ν > 0 the same
  fit on the pre-shock outputs (the viscous delay is O(√ν)); detect's time of maximal
  steepening is reported alongside.

Boundaries. The chart box is open: the loss is continued beyond every face (C², with the
face's slope and curvature on a plateau, then decaying, :func:`_extend_axis`), the solve runs on
the padded box with outflow boundaries, and ``detect`` sees the solution cropped to the box.
Without this, the zero-gradient ghost cells of an inflow face (the usual case: characteristics
converge towards the valley) inject a spurious compression of ~10 % that corrupts the fit.
Under-resolved 1-D data are spline-refined ×4 (:func:`refined`).

Conversions (docs/theory.md §7): :func:`sgd_nu` (ν = ησ²/(4B)), :func:`step_of_fold` (oscillation
where η_eff ≥ τ*, divergence/spike where η_eff ≥ 2τ*), :func:`step_of_coarse_time`
(k* = t*/(2η), and the t = ηk sensitivity variant k* = t*/η).

The gradient of the gridded loss is a second-order central difference (one-sided second order
at the faces): exact on quadratic data.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import BlowUpError, QShockInputError
from qshock.solver import Burgers, Grid, HamiltonJacobi, Solution, build_stepper
from qshock.solver.shocks import detect, predict

__all__ = ["Reading", "step_map_fold", "coarse_grain_shock", "sgd_nu", "step_of_fold", "step_of_coarse_time",
           "chart_gradient", "unit_solve", "stepper_cache_info"]

_FV = ("godunov", "muscl", "weno5", "wenoz")


@dataclass(frozen=True)
class Reading:
    """A PDE-time event read off a solver solution on a chart."""

    time: float  # τ* (step map) or t* (coarse-graining); inf if none before t_max
    uncertainty: float
    location: tuple  # chart coordinates (empty when no event)
    method: str  # e.g. "burgers-fv-weno5", "hj-fv-weno5"
    detail: dict = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return math.isfinite(self.time)


def chart_gradient(chart) -> np.ndarray:
    """dL/dx_i on the grid, shape (m, n, …, n): central differences (second order)."""
    return _grad(np.asarray(chart.loss, float), chart.grid().dx)


def orthonormal(chart):
    """The chart in orthonormal coordinates y_i = √g_ii x_i (constant diagonal metric → I):
    the same loss values on the box [−√g_ii e_i, √g_ii e_i]; times do not change and chart
    locations map back by x_i = y_i/√g_ii. Returns (chart, scale √g_ii)."""
    g = np.asarray(chart.metric, float)
    if not np.allclose(g, np.diag(np.diag(g)), atol=1e-10 * np.abs(g).max(), rtol=0) or np.any(np.diag(g) <= 0):
        raise QShockInputError("chart.metric must be diagonal and positive (loss_chart orthonormalises "
                               "its directions, metric = I)")
    sc = np.sqrt(np.diag(g))
    if np.allclose(sc, 1.0, rtol=0, atol=1e-12):
        return chart, sc
    return replace(chart, extent=jnp.asarray(np.asarray(chart.extent, float) * sc),
                   metric=jnp.eye(len(sc)), eigenvalues=jnp.asarray(np.asarray(chart.eigenvalues) / sc ** 2)), sc


def _check(chart, scheme, nu, t_max, n_out, pad, refine=None, kappa=None):
    if not hasattr(chart, "loss") or chart.loss is None:
        raise QShockInputError("chart must be a LossChart with its loss evaluated")
    if not np.all(np.isfinite(np.asarray(chart.loss))):
        raise QShockInputError("chart.loss contains NaN or inf (shrink the extent)")
    if scheme not in _FV:
        raise QShockInputError(f"scheme must be one of {', '.join(_FV)} (outflow chart boundaries), got {scheme!r}")
    if not (np.isfinite(nu) and nu >= 0):
        raise QShockInputError(f"nu must be a finite number >= 0, got {nu!r}")
    if t_max is not None and not (np.isfinite(t_max) and t_max > 0):
        raise QShockInputError(f"t_max must be a positive number, got {t_max!r}")
    if refine is not None and not (isinstance(refine, (int, np.integer)) and 1 <= refine <= 16):
        raise QShockInputError(f"refine must be None or an integer in [1, 16], got {refine!r}")
    if kappa is not None and not (np.isfinite(kappa) and kappa > 1):
        raise QShockInputError(f"kappa must be a number > 1 (fit window G <= kappa G0), got {kappa!r}")
    if pad is not None and not (np.isfinite(pad) and pad >= 0):
        raise QShockInputError(f"pad must be a number >= 0 (cells per face in units of n), got {pad!r}")
    if not (isinstance(n_out, int) and n_out >= 8):
        raise QShockInputError(f"n_out must be an integer >= 8, got {n_out!r}")


def _extend_axis(L, h, axis, pad):
    r"""Continue the cell values ``L`` by ``pad`` cells (width W = pad·h) beyond both faces of
    ``axis``. From the last cell centre, at outward distance s:

    .. math:: ∂_s L = p_e + q_e S(s),\quad S = s\ (s ≤ s_0),\ s_0 + w\tanh((s-s_0)/w)\ (s > s_0),

    s₀ = W/3, w = W/6, with p_e the one-sided third-order slope and q_e the curvature at the last
    cell (second differences extrapolated linearly), both exact on cubic data. So the outward
    curvature of the continued loss is q_e on a plateau of width s₀ (the data's curvature, no
    new compression) and then decays as q_e sech²((s−s₀)/w) to ≈ 0 at the padded face, where the
    zero-gradient (outflow) boundary condition is consistent; the continuation is C²."""
    L = np.moveaxis(np.asarray(L, float), axis, 0)
    W = pad * h
    s0, w = W / 3.0, W / 6.0
    s = h * np.arange(1, pad + 1)
    r = np.maximum(s - s0, 0.0)
    lc = w * w * (np.logaddexp(r / w, -r / w) - np.log(2.0))  # w² log cosh(r/w)
    intS = np.where(s <= s0, 0.5 * s * s, 0.5 * s0 * s0 + s0 * r + lc)
    shp = (-1,) + (1,) * (L.ndim - 1)
    out = []
    for side in (L[:4], L[::-1][:4]):  # face cell first, then inward
        Le, L1, L2, L3 = side
        pe = (11 * Le - 18 * L1 + 9 * L2 - 2 * L3) / (6 * h)  # outward slope (exact on cubics)
        qe = 2 * (Le - 2 * L1 + L2) / h ** 2 - (L1 - 2 * L2 + L3) / h ** 2
        out.append(Le[None] + pe[None] * s.reshape(shp) + qe[None] * intS.reshape(shp))
    full = np.concatenate([out[0][::-1], L, out[1]], axis=0)
    return np.moveaxis(full, 0, axis)


def _default_kappa(chart) -> float:
    """Fit window G ≤ κ·G₀: 1.5 in 1-D (early outputs: the cusp bias h²/(1−t)^k stays small),
    3 in 2-D/3-D (the coarser grids need a longer window to average the padding's error)."""
    return 1.5 if chart.loss.ndim == 1 else 3.0


def _default_pad(chart) -> float:
    """Padding per face in units of n: 2 in 1-D (cheap; keeps the decaying part of the
    continuation out of the box until late), 0.5 in 2-D and 3-D."""
    return 2.0 if chart.loss.ndim == 1 else 0.5


def _padded(chart, pad_frac):
    """The loss continued by max(24, ``pad_frac``·n) cells beyond every face (:func:`_extend_axis`),
    the padded outflow grid, and the index of the chart box inside it."""
    grid = chart.grid()
    L = np.asarray(chart.loss, float)
    pad = max(24, int(round(pad_frac * chart.n)))  # the decay width W/6 spans >= 4 cells
    for a in range(L.ndim):
        L = _extend_axis(L, grid.dx[a], a, pad)
    lo = [grid.lower[a] - pad * grid.dx[a] for a in range(L.ndim)]
    hi = [grid.upper[a] + pad * grid.dx[a] for a in range(L.ndim)]
    big = type(grid)(lo, hi, L.shape, boundaries="outflow", axis_names=grid.axis_names)
    crop = tuple(slice(pad, pad + chart.n) for _ in range(L.ndim))
    return L, big, crop


def _crop(sol, grid, crop):
    """The solution restricted to the chart box (for ``detect``; fields keep their axes)."""
    def c(f):
        if f is None:
            return None
        f = np.asarray(f)
        lead = (slice(None),) * (f.ndim - len(crop))
        return f[lead + crop]
    return type(sol)(t=sol.t, u=c(sol.u), grid=grid, p=c(sol.p), n_steps=sol.n_steps, metadata=sol.metadata)


def _local_resolution(v0, h, kappa, edge=3, r_abs=0.25):
    r"""detect's ``resolution`` r (its test: G·Δx ≤ r·osc(v₀)) for the fit window
    G ≤ min(κ·G₀, r_abs·osc_c/Δx): G₀ = max(−λ_min(sym ∇v₀)) the initial compression, osc_c
    the range of e·v₀ over the strongly compressive cells (−λ_min ≥ ½G₀), e the most compressive
    direction at the maximum, the ``edge`` cells of each face left out as in detect. So the fit
    uses the outputs up to t ≈ (1 − 1/κ)t* on flat characteristics, whatever the grid; the far
    field of v₀ on a wide box and the velocity along the front do not widen the window (late
    outputs bias the fit where the compressive region narrows, e.g. at a cusp).
    Returns (r, osc_c)."""
    v0 = np.asarray(v0, float)
    d = v0.shape[0]
    Dv = np.stack([np.stack([np.gradient(v0[i], h[j], axis=j) for j in range(d)], -1) for i in range(d)], -2)
    lam, vec = np.linalg.eigh(0.5 * (Dv + np.swapaxes(Dv, -1, -2)))
    comp = -lam[..., 0]
    inner = tuple(slice(edge, s - edge) if s > 2 * edge + 2 else slice(None) for s in comp.shape)
    mask = np.zeros(comp.shape, bool)
    mask[inner] = True
    cmax = comp[mask].max()
    osc = max(float(v0.max() - v0.min()), 1e-300)
    if not cmax > 0:
        return 0.05, osc
    sel = mask & (comp >= 0.5 * cmax)
    e = vec[np.unravel_index(np.argmax(np.where(mask, comp, -np.inf)), comp.shape)][:, 0]
    ve = np.einsum("i,i...->...", e, v0)[sel]
    osc_c = max(float(ve.max() - ve.min()), 1e-12 * osc)
    hmin = min(h)
    return min(kappa * cmax * hmin, r_abs * osc_c) / osc, osc_c


def refined(chart, k: int):
    """The chart with its loss interpolated (cubic spline per axis) to ``k``·n cells on the box:
    no new information, but the solver then resolves the curvature features of the sampled
    loss (used automatically when the data are under-resolved at t = 0)."""
    from scipy.interpolate import make_interp_spline

    grid = chart.grid()
    fine = grid.with_shape(tuple(k * s for s in grid.shape))
    L = np.asarray(chart.loss, float)
    for a in range(grid.ndim):  # tensor-product not-a-knot cubic spline: exact on cubics
        L = make_interp_spline(np.asarray(grid.centres(a)), L, k=3, axis=a)(np.asarray(fine.centres(a)))
    return replace(chart, n=k * chart.n, loss=L, loss_var=None)


def _auto_refine(run, chart, refine):
    """``run(chart) -> (est, extra)`` on the chart, or on :func:`refined` charts: with
    ``refine=None`` a 1-D chart whose data give no gradient fit (under-resolved at t = 0, where
    detect's smoothness-jump fallback fires at the first output) is solved again on 4n cells."""
    k = 1 if refine is None else int(refine)
    est, extra = run(chart if k == 1 else refined(chart, k))
    if refine is None and est.method != "gradient-fit" and chart.loss.ndim == 1:
        k = 4
        est, extra = run(refined(chart, k))
    return est, dict(extra, refine=k)


def _reading(est, method, detail, t_max, sc):
    detail = dict(detail, t_max=float(t_max), detect_method=est.method, detect=_small(est.details))
    if not est.found:
        return Reading(math.inf, math.nan, (), method, detail)
    loc = tuple(float(v) for v in np.asarray(est.location) / sc)  # back to the chart's coordinates
    return Reading(float(est.time), float(est.uncertainty), loc, method, detail)


def _small(d):
    """detect's details without the per-output histories (kept: the scalar estimators)."""
    return {k: v for k, v in d.items() if not isinstance(v, list)}


@functools.lru_cache(maxsize=128)
def _unit_stepper(kind: str, shape: tuple, spacing: tuple, n_out: int, scheme: str, cfl: float, viscous: bool):
    """One jitted ``(u0, s, ν') -> (us, p, n_steps, status, s_bad)`` per (kind, shape, spacing,
    n_out, scheme, cfl, ν' > 0): the FV stepper of ``solver.build_stepper`` on the grid of cell
    widths ``spacing`` (1 on the first axis) with outflow boundaries, built inside the jitted
    function so that the output times ``s`` (n_out of them) and the viscosity ν' are traced, not
    baked in (``viscous=False``: the inviscid stepper, ν' unused)."""
    lo = [0.0] * len(shape)
    grid = Grid(lo, [n * w for n, w in zip(shape, spacing)], shape, boundaries="outflow")
    eq = Burgers() if kind == "burgers" else HamiltonJacobi()

    def run(u0, s, nu):
        step, disc, _ = build_stepper(eq, grid, s, scheme=scheme, cfl=cfl, nu=nu if viscous else None)
        us, n, status, s_bad, _ = step(u0)
        p = jax.vmap(disc.gradient)(us) if kind == "hj" else None
        return us, p, n, status, s_bad

    return jax.jit(run)


def stepper_cache_info():
    """``functools`` cache statistics of the compiled unit-grid steppers (hits = solves that
    reused a compiled stepper)."""
    return _unit_stepper.cache_info()


def unit_solve(kind: str, grid, u0, ts, *, nu: float = 0.0, scheme: str = "weno5", cfl: float = 0.4):
    r"""``solve(Burgers(nu) | HamiltonJacobi(nu), grid, u0, ts[-1], save_at=ts)`` (outflow
    boundaries, flat metric) through a cached compiled stepper on the unit grid.

    With h = Δx₀ the map x = hX, t = hs leaves the velocity v = V (Burgers
    v_t + v v_x = νv_xx) and the gradient p = ∇u = ∇_X U, u = hU (HJ u_t + ½|∇u|² = νΔu)
    unchanged and turns ν into ν' = ν/h: both equations are invariant under x → x/a, t → t/a,
    ν → ν/a (with u → u/a for HJ). Since the states the scheme sees (v, resp. the one-sided
    differences of U) are the same numbers, the CFL steps are the same fractions of the output
    intervals and WENO's ε acts on the same smoothness indicators: the result equals the direct
    ``solve`` up to rounding. The compiled stepper depends only on (kind, shape, Δx_a/h,
    len(ts), scheme, cfl, whether ν > 0) — the output times and ν' are traced, so charts of one
    shape share it whatever their box and viscosity. Returns a :class:`Solution` on ``grid`` in the original
    units."""
    h = float(grid.dx[0])
    spacing = tuple(float(d) / h for d in grid.dx)
    ts = np.asarray(ts, float)
    nu_unit = float(nu) / h
    run = _unit_stepper(kind, tuple(grid.shape), spacing, int(ts.size), scheme, float(cfl), nu_unit > 0)
    u0 = np.asarray(u0, float)
    us, p, n, status, s_bad = run(jnp.asarray(u0 / h if kind == "hj" else u0), jnp.asarray(ts / h),
                                  jnp.asarray(nu_unit))
    if int(status) != 0:
        raise BlowUpError(h * float(s_bad), (math.nan,) * grid.ndim, int(n),
                          f"{scheme} scheme, {kind} on the chart (status {int(status)})")
    meta = {"equation": "burgers" if kind == "burgers" else "hj", "scheme": scheme, "nu": float(nu),
            "cfl": float(cfl), "method": "ssprk3", "dtype": str(us.dtype), "manifold": "euclidean", "unit_grid": True}
    return Solution(t=jnp.asarray(ts), u=us * h if kind == "hj" else us, grid=grid, p=p, n_steps=int(n), metadata=meta)


def _grad(L, h):
    return np.stack([np.gradient(L, h[a], axis=a, edge_order=2) for a in range(L.ndim)])


def step_map_fold(chart, *, nu: float = 0.0, scheme: str = "weno5", t_max: float | None = None,
                  n_out: int = 121, cfl: float = 0.4, kappa: float | None = None, pad: float | None = None,
                  refine: int | None = None) -> Reading:
    r"""Reading (ii): fold time τ* of the step map x ↦ x − τ grad_g L, from the Burgers solve.

    v₀ = −g⁻¹∇L, solved on the chart box padded by ``pad``·n cells per face (at least 24; default
    :func:`_default_pad`: 2 in 1-D, 0.5 in 2-D/3-D; the loss continued C² with decaying
    curvature, :func:`_extend_axis`: outflow boundaries then inject no spurious compression) to
    ``t_max`` (default 1.5× the closed-form fold 1/maxₓλ_max(Hess L) on the box,
    ``detail["closed_form"]``) with ``n_out`` outputs. τ* is ``detect``'s gradient-fit time on
    the solution cropped to the chart box, fitted over the outputs where the compression is
    below ``kappa`` times its initial value (:func:`_local_resolution`; default
    :func:`_default_kappa`). ``refine``: solve on
    the loss interpolated to refine·n cells (``None``: 1, and 4 when a 1-D chart is
    under-resolved, :func:`_auto_refine`; ``detail["refine"]``). The uncertainty is detect's
    (fit spread plus Δx/osc(v₀)). ``time = inf`` when L has no positive curvature on the box
    or no fold forms before t_max.
    """
    _check(chart, scheme, nu, t_max, n_out, pad, refine, kappa)
    chart, sc = orthonormal(chart)
    m = chart.loss.ndim
    cf = predict(HamiltonJacobi(), -np.asarray(chart.loss, float), chart.grid())  # fold of x ↦ x + t∇(−L)
    lam_top = float(np.max(np.asarray(chart.eigenvalues)))
    detail = {"closed_form": float(cf.time), "closed_form_origin": 1.0 / lam_top if lam_top > 0 else math.inf,
              "nu": float(nu), "n": chart.n, "m": m}
    method = f"burgers-fv-{scheme}"
    if not math.isfinite(cf.time):
        return Reading(math.inf, math.nan, (), method, dict(detail, t_max=math.nan))
    t1 = float(t_max or 1.5 * cf.time)
    ts = np.linspace(0.0, t1, n_out)

    def run(ch):
        p = _default_pad(ch) if pad is None else float(pad)
        grid = ch.grid()
        Lp, big, crop = _padded(ch, p)
        v0 = -_grad(Lp, big.dx)
        sol = unit_solve("burgers", big, v0[0] if m == 1 else v0, ts, nu=nu, scheme=scheme, cfl=cfl)
        res, osc_c = _local_resolution(v0[(slice(None),) + crop], grid.dx, kappa or _default_kappa(ch))
        est = detect(_crop(sol, grid, crop), nu=nu, resolution=res)
        return est, {"pad": p, "resolution": res, "osc_compressive": osc_c}

    est, extra = _auto_refine(run, chart, refine)
    return _reading(est, method, dict(detail, **extra), t1, sc)


def _viscous_shock_time(t_out, est, nu):
    """t*: ``detect``'s gradient fit (for ν > 0 over the outputs before the compression reaches a
    quarter of its peak: the viscous layer only caps G later), else its time of maximal
    steepening (argmax G)."""
    if est.found:
        return float(est.time), float(est.uncertainty), tuple(est.location), "gradient-fit"
    tm = est.details.get("max_steepening_time")
    if tm is None:
        return math.inf, math.nan, (), "none"
    dt = float(np.max(np.diff(np.asarray(t_out))))
    return float(tm), dt, (), "max-steepening"


def coarse_grain_shock(chart, *, nu: float, scheme: str = "weno5", t_max: float | None = None,
                       n_out: int = 121, cfl: float = 0.4, kappa: float | None = None, pad: float | None = None,
                       refine: int | None = None) -> Reading:
    r"""Reading (i): shock time t* of u_t + ½|∇u|²_g = νΔ_g u, u(0) = L (HJ on the padded chart box).

    Default ``t_max`` is 2.5× the inviscid closed form t* = 1/μ, μ = maxₓ(−λ_min(Hess L)) on
    the box (``detail["closed_form"]``). t* is the blow-up time of the compression
    G(t) = max(−λ_min(∇p)) of p = ∇u, extrapolated (``detect``'s gradient fit) from the outputs
    where it is resolved and, for ν > 0, below a quarter of its viscous peak; on the double well
    it tends to 1 as ν → 0 (the viscous delay is O(√ν)). ``detail["detect"]`` also carries
    detect's time of maximal steepening (argmax G over the outputs, the post-shock growth of the
    layer included) and the layer width against 2ν/a. ``time = inf`` when L is convex on the
    box (μ ≤ 0) or nothing forms before t_max. Padding and ``refine`` as in :func:`step_map_fold`.
    """
    _check(chart, scheme, nu, t_max, n_out, pad, refine, kappa)
    chart, sc = orthonormal(chart)
    L = np.asarray(chart.loss, float)
    cf = predict(HamiltonJacobi(), L, chart.grid())
    detail = {"closed_form": float(cf.time), "nu": float(nu), "n": chart.n, "m": L.ndim}
    method = f"hj-fv-{scheme}"
    if not math.isfinite(cf.time):
        return Reading(math.inf, math.nan, (), method, dict(detail, t_max=math.nan))
    t1 = float(t_max or 2.5 * cf.time)
    ts = np.linspace(0.0, t1, n_out)

    def run(ch):
        p = _default_pad(ch) if pad is None else float(pad)
        grid = ch.grid()
        Lp, big, crop = _padded(ch, p)
        sol = unit_solve("hj", big, Lp, ts, nu=nu, scheme=scheme, cfl=cfl)
        res, osc_c = _local_resolution(_grad(np.asarray(ch.loss, float), grid.dx), grid.dx, kappa or _default_kappa(ch))
        est = detect(_crop(sol, grid, crop), nu=nu, resolution=res)
        return est, {"pad": p, "resolution": res, "osc_compressive": osc_c, "sol_t": np.asarray(sol.t)}

    est, extra = _auto_refine(run, chart, refine)
    t, unc, loc, how = _viscous_shock_time(extra.pop("sol_t"), est, nu)
    detail = dict(detail, **extra, t_max=t1, estimator=how, detect_method=est.method, detect=_small(est.details))
    return Reading(t, unc, tuple(float(v) for v in np.asarray(loc) / sc[:len(loc)]) if loc else (), method, detail)


def sgd_nu(chart, lr: float, batch: int) -> float:
    """ν = η σ²/(4B) (docs/theory.md §1), σ² the per-example gradient variance along the chart
    directions (``chart.grad_var``), averaged over them (isotropic noise on the chart)."""
    if not (np.isfinite(lr) and lr > 0):
        raise QShockInputError(f"lr must be positive, got {lr!r}")
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise QShockInputError(f"batch must be a positive integer, got {batch!r}")
    s2 = float(np.mean(np.asarray(chart.grad_var, float)))
    return lr * s2 / (4.0 * batch)


def step_of_fold(tau_star: float, eta_eff: float) -> dict:
    """docs/theory.md §7, reading (ii): at a checkpoint with fold time τ* and effective step η_eff,
    ``oscillating`` = η_eff ≥ τ*, ``diverging`` = η_eff ≥ 2τ* (spike, catapult), and the
    margins η_eff/τ*."""
    if not (np.isfinite(eta_eff) and eta_eff > 0):
        raise QShockInputError(f"eta_eff must be positive, got {eta_eff!r}")
    if not (tau_star > 0):
        raise QShockInputError(f"tau_star must be positive (inf: no fold), got {tau_star!r}")
    ratio = eta_eff / tau_star if math.isfinite(tau_star) else 0.0
    return {"ratio": float(ratio), "oscillating": bool(ratio >= 1.0), "diverging": bool(ratio >= 2.0),
            "tau_star": float(tau_star), "eta_eff": float(eta_eff)}


def step_of_coarse_time(t_star: float, lr: float) -> dict:
    """docs/theory.md §7, reading (i): PDE time t = 2ηk, so k* = t*/(2η); the sensitivity variant
    t = ηk gives k* = t*/η. inf stays inf."""
    if not (np.isfinite(lr) and lr > 0):
        raise QShockInputError(f"lr must be positive, got {lr!r}")
    if not (t_star >= 0):
        raise QShockInputError(f"t_star must be >= 0 (inf: no shock), got {t_star!r}")
    return {"k_star": t_star / (2.0 * lr), "k_star_eta": t_star / lr, "t_star": float(t_star), "lr": float(lr)}
