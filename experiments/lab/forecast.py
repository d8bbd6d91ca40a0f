"""Forecasting periodic loss spikes of normalised networks from the conservation laws.

Setting (docs/theory.md §3, §7). A parameter group w (the weights feeding a normalisation) is scale
invariant, so <g, w> = 0 and g(w) = g̃(ŵ)/‖w‖, with g̃ the gradient at unit norm. With weight
decay λ, plain SGD obeys the exact discrete identity

    x_{k+1} = (1 − ηλ)² x_k + η² ‖g̃_k‖² / x_k,          x = ‖w‖²,                     (1)

and the raw sharpness along the group is λ_raw = λ_s / x, with λ_s the sharpness at the
unit-norm section (the quotient / sphere sharpness). Gradient descent on the group is unstable
when η λ_raw ≥ 2, i.e. when the effective step η_eff = η/x satisfies η_eff λ_s ≥ 2; heavy ball
with momentum β is unstable at η_eff λ_s ≥ 2(1 + β) (Cohen et al. 2021). So from an observation
step k₀ the next spike is forecast by iterating (1) with ‖g̃‖² and λ_s frozen at their recent
values until the edge is reached. If the gradient term is negligible this has the closed form

    k* − k₀ ≈ ln(2 x_{k₀} / (η λ_s)) / (−2 ln(1 − ηλ)).                                    (2)

Heavy-ball momentum, θ_{k+1} = θ_k + u_k, u_k = β u_{k−1} − η(g_k + λθ_k). With p_k = <θ_k, u_k>
(only the group's coordinates) and <θ, g> = 0 the pair (x, p) obeys the exact recurrence

    x_{k+1} = x_k + 2 p_k + ‖u_k‖²,   p_{k+1} = β (p_k + ‖u_k‖²) − ηλ x_{k+1},             (3)

and ‖u_k‖² = ũ²_k / x_k + p_k² / x_k with ũ² the tangential update at unit norm (the
tangential update scales like 1/‖w‖). For β = 0, p_k = −ηλ x_k and ũ² = η²‖g̃‖², and (3) is
(1) exactly. Its continuum limit (t = ηk) is the damped oscillator of THEORY §3,
ẍ + 2γẋ + ω²x = 2|θ̇|² with γ = (1−β)/(η(1+β)), ω² = 4λ/(η(1+β)); without forcing its slow
root r = −γ + √(γ² − ω²) ≈ −2λ/(1−β) replaces −2λ in (2) (``oscillator_crossing``).

Every function is pure; the JAX ones are jit-able and vmap-able over any argument. A step
count of ``horizon`` (or ``inf`` for the closed forms) means "no crossing within the horizon".
``forecast_run`` evaluates forecasts at many observation steps of one run using, for each
step k₀, only data up to k₀ (causal by construction: extending the run never changes an
earlier forecast).

Hybrid (identity + the λ_s trend of the current cycle, ``last_spike_forecasts``). A spike
lowers λ_s (the ratio η λ_s/x falls below the edge) and the next crossing comes from two
trends: x decays as (1)/(3) prescribe exactly, and λ_s re-sharpens. Within a cycle ln λ_s is
close to linear in k, so after the last spike the forecaster fits ln λ_s(k) = a + ρ (k − k₀) to
the observations from the post-spike minimum of the ratio up to k₀ (each group), and iterates
(1)/(3) with λ_s = e^{a + ρ j} until η λ_s/x_j ≥ edge. Before a spike, or with fewer than
``min_obs`` observations in the cycle, the given fallback is used.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError

__all__ = ["edge", "sgd_identity_step", "momentum_step", "iterate_identity", "crossing_steps",
           "closed_form_crossing", "equilibrium_sqnorm", "equilibrium_crossing", "oscillator_params",
           "oscillator_crossing", "RecentState", "recent_state", "forecast_run", "raw_trend_crossing",
           "history_forecasts", "last_spike_forecasts", "residual_interval", "interval_coverage"]


def _check(eta, lam, beta=0.0):
    """QShockInputError naming the argument when eta <= 0, lam < 0 or beta outside [0, 1)."""
    if not (np.ndim(eta) or (math.isfinite(float(eta)) and float(eta) > 0)):
        raise QShockInputError(f"forecast: eta must be a finite number > 0, got {eta}")
    if not (np.ndim(lam) or (math.isfinite(float(lam)) and float(lam) >= 0)):
        raise QShockInputError(f"forecast: lam (weight decay) must be >= 0, got {lam}")
    if not (np.ndim(beta) or 0.0 <= float(beta) < 1.0):
        raise QShockInputError(f"forecast: beta (momentum) must be in [0, 1), got {beta}")


def edge(beta=0.0):
    """Stability edge of η_eff λ_s: 2 for gradient descent, 2(1 + β) for heavy ball."""
    return 2.0 * (1.0 + beta)


def sgd_identity_step(x, gt2, eta, lam):
    """One step of identity (1): x ↦ (1 − ηλ)² x + η² ‖g̃‖² / x."""
    return (1.0 - eta * lam) ** 2 * x + eta ** 2 * gt2 / x


def momentum_step(x, p, ut2, eta, lam, beta):
    """One step of recurrence (3): (x, p) ↦ (x', p') with ‖u‖² = (ũ² + p²)/x."""
    u2 = (ut2 + p * p) / x
    x1 = x + 2.0 * p + u2
    return x1, beta * (p + u2) - eta * lam * x1


def iterate_identity(x0, gt2, eta, lam, n: int):
    """x_0 .. x_n of identity (1) with constant ‖g̃‖² (lax.scan); shape (n + 1,)."""
    def body(x, _):
        x1 = sgd_identity_step(x, gt2, eta, lam)
        return x1, x1
    _, xs = jax.lax.scan(body, jnp.asarray(x0), None, length=int(n))
    return jnp.concatenate([jnp.asarray(x0)[None], xs])


def crossing_steps(x0, lam_s, eta, lam, horizon: int, gt2=0.0, beta=0.0, p0=None, ut2=None, lam_rate=0.0):
    """Steps j ≥ 0 until η λ_s e^{ρ j} / x_j ≥ edge(β), iterating (3) (which is (1) for β = 0).

    Args:
        x0: ‖w‖² at the observation step; lam_s: sharpness at unit norm (frozen).
        gt2: ‖g̃‖² (used for β = 0 and as ũ² = η²‖g̃‖² when ``ut2`` is None).
        p0: <θ, u> at the observation step (default −ηλ x0, exact for β = 0).
        ut2: tangential update at unit norm, ũ² = (‖u‖² − p²/x) x.
        lam_rate: ρ, growth rate per step of ln λ_s (sharpening at unit norm; 0 = λ_s frozen).
        horizon: the largest number of steps iterated.

    Returns ``j*`` (float; ``horizon`` when there is no crossing within the horizon). A
    crossing is ``j* = 0`` when the edge is already reached at x0. jit/vmap friendly.
    """
    x0 = jnp.asarray(x0)
    p0 = -eta * lam * x0 if p0 is None else jnp.asarray(p0, x0.dtype)
    ut2 = eta ** 2 * jnp.asarray(gt2, x0.dtype) if ut2 is None else jnp.asarray(ut2, x0.dtype)
    thr = edge(beta)

    def body(carry, j):
        x, p, hit = carry
        crossed = (eta * lam_s * jnp.exp(lam_rate * j) / x >= thr) & (hit < 0)
        hit = jnp.where(crossed, j, hit)
        x, p = momentum_step(x, p, ut2, eta, lam, beta)
        return (x, p, hit), None

    (_, _, hit), _ = jax.lax.scan(body, (x0, p0, jnp.asarray(-1, jnp.int32)), jnp.arange(int(horizon), dtype=jnp.int32))
    return jnp.where(hit < 0, float(horizon), hit.astype(x0.dtype))


def closed_form_crossing(x0, lam_s, eta, lam, beta=0.0):
    """Closed form (2) with the edge of ``edge(β)``: ln(edge(β) x0/(η λ_s)) / (−2 ln(1 − ηλ)).

    For β > 0 the decay rate per step is −η r (``oscillator_crossing``). Returns 0 when the edge
    is already reached, ``inf`` when λ = 0 (no decay, no crossing)."""
    _check(eta, lam, beta)
    x0, lam_s = np.asarray(x0, float), np.asarray(lam_s, float)
    ratio = edge(beta) * x0 / (eta * lam_s)
    if lam == 0:
        return np.where(ratio <= 1, 0.0, np.inf)
    rate = -2.0 * math.log1p(-eta * lam) if beta == 0 else -eta * oscillator_params(eta, lam, beta)[2]
    return np.where(ratio <= 1, 0.0, np.log(np.maximum(ratio, 1.0)) / rate)


def equilibrium_sqnorm(gt2, eta, lam):
    """Fixed point of (1) to first order in ηλ: ‖w‖⁴ → η‖g̃‖²/(2λ), i.e. x_eq = √(η‖g̃‖²/(2λ))."""
    _check(eta, lam)
    return np.sqrt(eta * np.asarray(gt2, float) / (2.0 * lam)) if lam > 0 else np.inf


def equilibrium_crossing(x0, gt2, lam_s, eta, lam):
    """Equilibrium baseline: x relaxes linearly to x_eq, x_j = x_eq + (x0 − x_eq)(1 − ηλ)^{2j};
    steps until η λ_s / x_j ≥ 2 (``inf`` if x_eq is above the edge value η λ_s / 2)."""
    _check(eta, lam)
    xe, x0, xc = equilibrium_sqnorm(gt2, eta, lam), float(x0), eta * float(lam_s) / 2.0
    if x0 <= xc:
        return 0.0
    if lam == 0 or xe >= xc:
        return math.inf
    return math.log((xc - xe) / (x0 - xe)) / (2.0 * math.log1p(-eta * lam))


def oscillator_params(eta, lam, beta):
    """(γ, ω², r) of ẍ + 2γẋ + ω²x = 2|θ̇|² (t = ηk): γ = (1−β)/(η(1+β)), ω² = 4λ/(η(1+β)), and
    the slow root r = −γ + √(γ² − ω²) ≈ −2λ/(1−β).

    The forcing 2|θ̇|² is O(ηλ/(1−β)²) relative to ω²x only in the overdamped regime
    (1−β)² > 4ηλ(1+β), where e^{rt} is the decay of ‖θ‖² to that order (tests/test_forecast.py
    measures order 1 in ηλ). When underdamped r is returned as the real part −γ, which is not the
    decay rate of ‖θ‖² (the forcing is then of the same order)."""
    _check(eta, lam, beta)
    g = (1.0 - beta) / (eta * (1.0 + beta))
    w2 = 4.0 * lam / (eta * (1.0 + beta))
    r = -g + math.sqrt(g * g - w2) if g * g >= w2 else -g
    return g, w2, r


def oscillator_crossing(x0, lam_s, eta, lam, beta):
    """Closed form (2) for heavy ball: x decays like e^{r t}, t = ηk, and the edge is 2(1 + β)."""
    return closed_form_crossing(x0, lam_s, eta, lam, beta)


def raw_trend_crossing(ks, eta_lam_raw, k0, thr=2.0):
    """Raw-coordinate baseline: fit a line to η λ_raw(k) at the observation steps ``ks`` (≤ k0)
    and extrapolate it to ``thr`` (= 2/η in units of η); steps after k0, or ``inf``."""
    ks, y = np.asarray(ks, float), np.asarray(eta_lam_raw, float)
    ok = np.isfinite(y)
    ks, y = ks[ok], y[ok]
    if y.size and y[-1] >= thr:
        return 0.0
    if y.size < 2:
        return math.inf
    a, b = np.polyfit(ks - k0, y, 1)
    return float(max(0.0, (thr - b) / a)) if a > 0 else math.inf


@dataclass(frozen=True)
class RecentState:
    """What the forecaster knows at step k₀ for one group: x = ‖w‖², p = <θ, u>, recent ‖g̃‖²
    (median over the window), recent ũ², λ_s (median of the last observations) and its growth
    rate ρ per step (least-squares slope of ln λ_s over the last ``rate_window`` observations,
    clipped at 0; 0 when ``rate_window`` < 3)."""

    x: float
    p: float
    gt2: float
    ut2: float
    lam_s: float
    lam_rate: float = 0.0


def recent_state(k0, sq, gsq, usq, lam_s_obs, obs_steps, eta, lam, beta, window=20, lam_window=1, rate_window=0):
    """The ``RecentState`` of one group at step k₀ from the per-step logs up to k₀ only.

    ``sq[k]``, ``gsq[k]`` are ‖w_k‖², ‖g_k‖² before update k; ``usq[k]`` = ‖θ_{k+1} − θ_k‖²
    (known once step k is done, so only k < k₀ is used); ``lam_s_obs`` the unit-norm sharpness at
    ``obs_steps`` (only steps ≤ k₀ are used)."""
    lo = max(0, k0 - window)
    x = float(sq[k0])
    gt2 = float(np.median(sq[lo:k0 + 1] * gsq[lo:k0 + 1]))
    if k0 >= 1 and beta > 0:
        j = np.arange(max(0, lo), k0)
        pj = 0.5 * (sq[j + 1] - sq[j] - usq[j])  # p_j from (3), exact
        p = beta * (pj[-1] + usq[k0 - 1]) - eta * lam * x
        ut2 = float(np.median(np.maximum(usq[j] * sq[j] - pj * pj, 0.0)))
    else:
        p, ut2 = -eta * lam * x, eta ** 2 * gt2
    seen = np.nonzero(np.asarray(obs_steps) <= k0)[0]
    ls = float(np.median(np.asarray(lam_s_obs)[seen[-lam_window:]])) if seen.size else float("nan")
    rate = 0.0
    if rate_window >= 3 and seen.size >= rate_window:
        idx = seen[-rate_window:]
        y = np.log(np.maximum(np.asarray(lam_s_obs, float)[idx], 1e-300))
        rate = max(0.0, float(np.polyfit(np.asarray(obs_steps, float)[idx], y, 1)[0]))
    return RecentState(x, float(p), gt2, float(ut2), ls, rate)


def forecast_run(sq, gsq, usq, lam_s_obs, obs_steps, eta, lam, beta=0.0, horizon=4000, window=20,
                 lam_window=1, at=None, rate_window=0):
    """Forecast crossing steps at every observation step k₀ of one run (causal).

    Args:
        sq, gsq, usq: per-step logs of shape (steps, G) (G normalised groups), as in
            ``recent_state``; lam_s_obs: (n_obs, G) unit-norm sharpness at ``obs_steps``.
        at: the observation steps k₀ to forecast from (default: ``obs_steps`` below ``steps``).
        rate_window: observations used for the sharpening rate ρ of ``iterate`` (0: λ_s frozen).

    Returns a dict of arrays over k₀: ``k0``; absolute forecast steps ``iterate`` (iterating (3),
    i.e. (1) for β = 0, with the sharpening rate ρ), ``closed`` (closed form (2) / oscillator), ``equilibrium`` (the
    equilibrium baseline, β = 0 formula), each the minimum over groups (``inf`` = none within
    ``horizon``); and ``group`` (which group crosses first under ``iterate``). Each entry is a
    function of the logs up to its k₀ only.
    """
    _check(eta, lam, beta)
    sq, gsq, usq = (np.asarray(a, float).reshape(len(a), -1) for a in (sq, gsq, usq))
    lam_s_obs = np.asarray(lam_s_obs, float).reshape(len(obs_steps), -1)
    G = sq.shape[1]
    ks = np.asarray([k for k in obs_steps if k < sq.shape[0]] if at is None else at, int)
    st = [[recent_state(k, sq[:, a], gsq[:, a], usq[:, a], lam_s_obs[:, a], obs_steps, eta, lam, beta,
                        window, lam_window, rate_window) for a in range(G)] for k in ks]
    field = lambda n: np.asarray([[getattr(s, n) for s in row] for row in st], float).reshape(len(ks), G)  # noqa: E731
    x, p, gt2, ut2, ls, rho = (field(n) for n in ("x", "p", "gt2", "ut2", "lam_s", "lam_rate"))
    cross = jax.jit(jax.vmap(lambda a, b, c, d, e: crossing_steps(a, b, eta, lam, horizon, beta=beta, p0=c, ut2=d,
                                                                   lam_rate=e)))
    it = np.asarray(cross(*(jnp.asarray(v.reshape(-1)) for v in (x, ls, p, ut2, rho)))).reshape(len(ks), G)
    it = np.where(it >= horizon, np.inf, it)
    closed = np.asarray(closed_form_crossing(x, ls, eta, lam, beta), float).reshape(len(ks), G)
    eq = np.asarray([[equilibrium_crossing(x[i, a], gt2[i, a], ls[i, a], eta, lam) for a in range(G)]
                     for i in range(len(ks))], float).reshape(len(ks), G)
    return dict(k0=ks, iterate=ks + it.min(1), closed=ks + closed.min(1), equilibrium=ks + eq.min(1),
                group=np.argmin(it, 1), lam_s=ls, x=x, p=p, gt2=gt2, ut2=ut2)


def history_forecasts(k0s, spikes, period, first):
    """History baselines at each k₀ from the spikes observed at steps ≤ k₀ (causal).

    ``constant``: last spike + ``period`` (before any spike: ``first``); ``periodic``: last spike
    + (last − previous interval) (fewer than two spikes: as ``constant``). A forecast already in
    the past is moved to k₀ + 1."""
    sp = np.sort(np.asarray(spikes, float))
    const, per = [], []
    for k in np.asarray(k0s):
        seen = sp[sp <= k]
        c = first if seen.size == 0 else seen[-1] + period
        q = seen[-1] + (seen[-1] - seen[-2]) if seen.size >= 2 else c
        const.append(max(c, k + 1))
        per.append(max(q, k + 1))
    return dict(constant=np.asarray(const, float), periodic=np.asarray(per, float))


@functools.lru_cache(maxsize=32)
def _vmapped_crossing(eta, lam, horizon, beta):
    return jax.jit(jax.vmap(lambda a, b, q, u, r: crossing_steps(a, b, eta, lam, horizon, beta=beta, p0=q, ut2=u,
                                                                  lam_rate=r)))


def last_spike_forecasts(k0s, x, p, ut2, lam_s, ratio, spikes, eta, lam, beta=0.0, horizon=4000, fallback=None,
                         min_obs=3, thr=None):
    """Hybrid forecasts (module docstring) at every k₀, from the spikes observed at steps ≤ k₀.

    Args:
        k0s: observation steps (n,); x, p, ut2, lam_s: (n, G) state at each k₀ (``forecast_run``'s
            ``x``, ``p``, ``ut2``, ``lam_s``); ratio: (n, G) measured η λ_s / x at each k₀;
            spikes: detected spike steps; fallback: (n,) forecasts used when the current cycle has
            fewer than ``min_obs`` observations (default ``inf``); thr: the level of η λ_s / x
            forecast (default ``edge(beta)``; a measured λ_s can spike at another level).

    Returns (n,) absolute forecast steps (``inf``: no crossing within ``horizon``). Entry i reads
    rows ≤ i and spikes ≤ k0s[i] only (causal)."""
    _check(eta, lam, beta)
    k0s = np.asarray(k0s, int)
    x, p, ut2, lam_s, ratio = (np.asarray(a, float).reshape(len(k0s), -1) for a in (x, p, ut2, lam_s, ratio))
    sp = np.sort(np.asarray(spikes, float))
    out = np.full(len(k0s), np.inf) if fallback is None else np.asarray(fallback, float).copy()
    rows, a0, rho = [], [], []
    for i, k in enumerate(k0s):
        seen = sp[sp <= k]
        if not seen.size:
            continue
        j0 = int(np.searchsorted(k0s, seen[-1], side="left"))
        if i - j0 + 1 < min_obs:
            continue
        j0 += int(np.argmin(ratio[j0:i + 1].max(1)))  # the cycle starts at the post-spike minimum
        if i - j0 + 1 < min_obs:
            continue
        t = k0s[j0:i + 1] - k
        y = np.log(np.maximum(lam_s[j0:i + 1], 1e-300))
        A = np.vstack([np.ones_like(t), t]).T.astype(float)
        coef = np.linalg.lstsq(A, y, rcond=None)[0]  # (2, G): intercept at k0, slope per step
        rows.append(i)
        a0.append(np.exp(coef[0]))
        rho.append(coef[1])
    if rows:
        i, n = np.asarray(rows), len(k0s)  # padded to n rows: one compilation per run length
        scale = 1.0 if thr is None else edge(beta) / float(thr)
        pad = lambda v: np.concatenate([v, np.repeat(v[-1:], n - len(v), 0)]).reshape(-1)  # noqa: E731
        cross = _vmapped_crossing(float(eta), float(lam), int(horizon), float(beta))
        j = np.asarray(cross(*(jnp.asarray(pad(np.asarray(v))) for v in (x[i], scale * np.asarray(a0), p[i], ut2[i],
                                                                        np.asarray(rho)))))
        j = j.reshape(n, -1)[:len(i)].min(1)
        out[i] = np.where(j >= horizon, np.inf, k0s[i] + j)
    return out


def residual_interval(residuals, level=0.8):
    """(q_lo, q_hi): the (1 − level)/2 and (1 + level)/2 quantiles of the finite ``residuals``
    (observed − forecast); the interval of a forecast f is [f + q_lo, f + q_hi]. (nan, nan) when
    there is no finite residual."""
    if not 0.0 < float(level) < 1.0:
        raise QShockInputError(f"forecast: level must be in (0, 1), got {level}")
    r = np.asarray(residuals, float).reshape(-1)
    r = r[np.isfinite(r)]
    if not r.size:
        return math.nan, math.nan
    lo, hi = np.quantile(r, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


def interval_coverage(observed, forecast, interval):
    """Share of the pairs with finite ``observed`` and ``forecast`` for which observed − forecast
    lies in ``interval`` = (q_lo, q_hi) (ends included); None when there is no such pair."""
    d = np.asarray(observed, float).reshape(-1) - np.asarray(forecast, float).reshape(-1)
    d = d[np.isfinite(d)]
    lo, hi = interval
    if not d.size or not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return float(np.mean((d >= lo) & (d <= hi)))
