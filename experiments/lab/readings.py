r"""Two readings of PDE time on a loss chart, solved with qshock's own finite-volume solver.

Both take a :class:`~qshock.experiments.lab.slices.LossChart` (loss on an Nᵐ cell-centred grid,
constant metric g) and solve on ``chart.grid()`` (outflow boundaries); the closed forms are only
the check (``Reading.detail["closed_form"]``).

* **Reading (ii), step map** (:func:`step_map_fold`). The GD map x ↦ x − τ grad_g L is the
  time-τ characteristic map of v_t + (v·∇)v = νΔv, v(0) = −grad_g L (THEORY §2). 1-D:
  Burgers u_t + (u²/2)_x = νu_xx with u₀ = −L'/g (velocity form); m-D: the curl-free gradient
  form v_t + ∇(|v|²/2) = νΔv (flat metric in orthonormal chart coordinates). The fold time τ*
  is the blow-up of the compression found by ``solver.shocks.detect`` (straight-line fit of
  1/G against t). Closed form (flat): τ* = 1/maxₓ λ_max(Hess L(x)); quadratic: 1/λ.
* **Reading (i), coarse-graining** (:func:`coarse_grain_shock`). u_t + ½|∇u|²_g = νΔ_g u,
  u(0) = L. Inviscid closed form t* = 1/maxₓ(−λ_min(Hess_g L)) (μ = max(−λ_min)). For ν > 0 the
  shock time is read from the solution's compression history (see the function).

Conversions (THEORY §7): :func:`sgd_nu` (ν = ησ²/(4B)), :func:`step_of_fold` (oscillation
where η_eff ≥ τ*, divergence/spike where η_eff ≥ 2τ*), :func:`step_of_coarse_time`
(k* = t*/(2η), and the t = ηk sensitivity variant k* = t*/η).

The gradient of the gridded loss is a second-order central difference (one-sided second order
at the faces): exact on quadratic and cubic charts up to a constant, which does not change τ*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qshock.errors import QShockInputError
from qshock.solver import Burgers, HamiltonJacobi, solve
from qshock.solver.shocks import detect, predict

__all__ = ["Reading", "step_map_fold", "coarse_grain_shock", "sgd_nu", "step_of_fold", "step_of_coarse_time",
           "chart_gradient"]

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
    L = np.asarray(chart.loss, float)
    h = chart.grid().dx
    return np.stack([np.gradient(L, h[a], axis=a, edge_order=2) for a in range(L.ndim)])


def _metric(chart):
    g = np.asarray(chart.metric, float)
    return g, bool(np.allclose(g, np.eye(g.shape[0]), atol=1e-8, rtol=0))


def _check(chart, scheme, nu, t_max, n_out):
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
    if not (isinstance(n_out, int) and n_out >= 8):
        raise QShockInputError(f"n_out must be an integer >= 8, got {n_out!r}")


def _reading(est, method, detail, t_max):
    detail = dict(detail, t_max=float(t_max), detect_method=est.method, detect=_small(est.details))
    if not est.found:
        return Reading(math.inf, math.nan, (), method, detail)
    return Reading(float(est.time), float(est.uncertainty), tuple(est.location), method, detail)


def _small(d):
    """detect's details without the per-output histories (kept: the scalar estimators)."""
    return {k: v for k, v in d.items() if not isinstance(v, list)}


def step_map_fold(chart, *, nu: float = 0.0, scheme: str = "weno5", t_max: float | None = None,
                  n_out: int = 121, cfl: float = 0.4) -> Reading:
    r"""Reading (ii): fold time τ* of the step map x ↦ x − τ grad_g L, from the Burgers solve.

    v₀ = −g⁻¹∇L on ``chart.grid()``; solved to ``t_max`` (default 2.5× the closed-form fold
    1/maxₓλ_max(Hess L), which is ``detail["closed_form"]``) with ``n_out`` outputs, and τ* is
    ``detect``'s gradient-fit time. The uncertainty is detect's (fit spread plus Δx/osc(v₀)).
    Returns ``time = inf`` when L has no positive curvature on the box or no fold before t_max.
    """
    _check(chart, scheme, nu, t_max, n_out)
    g, flat = _metric(chart)
    m = chart.loss.ndim
    grid = chart.grid()
    dL = chart_gradient(chart)
    cf = predict(HamiltonJacobi(), -np.asarray(chart.loss, float), grid)  # fold of x ↦ x + t∇(−L)
    detail = {"closed_form": float(cf.time), "nu": float(nu), "n": chart.n, "m": m,
              "closed_form_origin": float(1.0 / np.max(np.asarray(chart.eigenvalues))) if np.max(np.asarray(chart.eigenvalues)) > 0 else math.inf}
    if not math.isfinite(cf.time):
        return Reading(math.inf, math.nan, (), f"burgers-fv-{scheme}", dict(detail, t_max=math.nan))
    t1 = float(t_max or 2.5 * cf.time)
    ts = np.linspace(0.0, t1, n_out)
    if m == 1:
        manifold = None if flat else chart.manifold()
        u0 = -dL[0]  # flat: the velocity; curved: the covector p = g v = −L' of the metric form
        sol = solve(Burgers(nu=nu, manifold=manifold), grid, u0, t1, scheme=scheme, save_at=ts, cfl=cfl)
        est = detect(sol, manifold=manifold, nu=nu)
    else:
        if not flat:
            raise QShockInputError("step_map_fold: m >= 2 needs an orthonormal chart (metric = I)")
        sol = solve(Burgers(nu=nu), grid, -dL, t1, scheme=scheme, save_at=ts, cfl=cfl)
        est = detect(sol, nu=nu)
    return _reading(est, f"burgers-fv-{scheme}", detail, t1)


def _viscous_shock_time(sol, est, nu):
    """t* for ν > 0: the fit of 1/G over the outputs before the compression reaches a quarter of
    its peak (``detect``'s gradient fit; the viscous layer only caps G later), else detect's
    time of maximal steepening."""
    if est.found:
        return float(est.time), float(est.uncertainty), tuple(est.location), "gradient-fit"
    tm = est.details.get("max_steepening_time")
    if tm is None:
        return math.inf, math.nan, (), "none"
    dt = float(np.max(np.diff(np.asarray(sol.t))))
    return float(tm), dt, (), "max-steepening"


def coarse_grain_shock(chart, *, nu: float, scheme: str = "weno5", t_max: float | None = None,
                       n_out: int = 121, cfl: float = 0.4) -> Reading:
    r"""Reading (i): shock time t* of u_t + ½|∇u|²_g = νΔ_g u, u(0) = L (HJ on ``chart.grid()``).

    Default ``t_max`` is 2.5× the inviscid closed form t* = 1/μ, μ = maxₓ(−λ_min(Hess L))
    (``detail["closed_form"]``). For ν = 0 (and ν > 0) t* is the blow-up of the compression
    G(t) = max(−λ_min(∇p)) of p = ∇u extrapolated from the outputs where it is resolved (and
    below a quarter of its viscous peak): ``detect``'s gradient fit. ``detail`` also carries
    detect's time of maximal steepening (argmax G) and the layer width against 2ν/a.
    Returns ``time = inf`` when L is convex on the box (μ ≤ 0) or nothing forms before t_max.
    """
    _check(chart, scheme, nu, t_max, n_out)
    g, flat = _metric(chart)
    grid = chart.grid()
    manifold = None if flat else chart.manifold()
    L = np.asarray(chart.loss, float)
    cf = predict(HamiltonJacobi(), L, grid) if flat else predict(HamiltonJacobi(manifold=manifold), L, grid)
    detail = {"closed_form": float(cf.time), "nu": float(nu), "n": chart.n, "m": L.ndim}
    if not math.isfinite(cf.time):
        return Reading(math.inf, math.nan, (), f"hj-fv-{scheme}", dict(detail, t_max=math.nan))
    t1 = float(t_max or 2.5 * cf.time)
    ts = np.linspace(0.0, t1, n_out)
    sol = solve(HamiltonJacobi(nu=nu, manifold=manifold), grid, L, t1, scheme=scheme, save_at=ts, cfl=cfl)
    est = detect(sol, manifold=manifold, nu=nu)
    t, unc, loc, how = _viscous_shock_time(sol, est, nu)
    detail = dict(detail, t_max=t1, estimator=how, detect_method=est.method, detect=_small(est.details))
    return Reading(t, unc, loc, f"hj-fv-{scheme}", detail)


def sgd_nu(chart, lr: float, batch: int) -> float:
    """ν = η σ²/(4B) (THEORY §1), σ² the per-example gradient variance along the chart
    directions (``chart.grad_var``), averaged over them (isotropic noise on the chart)."""
    if not (np.isfinite(lr) and lr > 0):
        raise QShockInputError(f"lr must be positive, got {lr!r}")
    if not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise QShockInputError(f"batch must be a positive integer, got {batch!r}")
    s2 = float(np.mean(np.asarray(chart.grad_var, float)))
    return lr * s2 / (4.0 * batch)


def step_of_fold(tau_star: float, eta_eff: float) -> dict:
    """THEORY §7, reading (ii): at a checkpoint with fold time τ* and effective step η_eff,
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
    """THEORY §7, reading (i): PDE time t = 2ηk, so k* = t*/(2η); the sensitivity variant
    t = ηk gives k* = t*/η. inf stays inf."""
    if not (np.isfinite(lr) and lr > 0):
        raise QShockInputError(f"lr must be positive, got {lr!r}")
    if not (t_star >= 0):
        raise QShockInputError(f"t_star must be >= 0 (inf: no shock), got {t_star!r}")
    return {"k_star": t_star / (2.0 * lr), "k_star_eta": t_star / lr, "t_star": float(t_star), "lr": float(lr)}
