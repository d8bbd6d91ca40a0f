r"""Host-side forecasting from quotient measurements (docs/theory.md §2, §4, §7).

A :class:`Measurement` is what the monitor observes at one step k: the quotient sharpness λ_q
(top eigenvalue of Π_h H(θ_s) Π_h at the section point θ_s), its most negative Ritz value, and for
every scale group A (weights feeding a normalisation) x_A = ‖w_A‖², ‖g̃_A‖² = x_A‖g_A‖² and the
sphere sharpness λ_s,A at unit norm; for Adam the preconditioned sharpness λ_max(P⁻¹H).

**Distance to the fold and to the edge.** The step map x ↦ x − η_eff grad_g L folds at
η_eff λ = 1 and diverges at η_eff λ = 2 (reading (ii)). The :class:`Forecaster` reports
ρ = η_eff·λ_q with the effective step of the optimiser normalised so that the published edges
(THEORY §4) sit at ρ = 2:

* SGD / heavy ball β: η_eff = η/(1 + β) (edge 2(1 + β)/η); with scale groups the group with
  the largest η λ_s,A/(x_A(1 + β)) (η/‖w‖² is the effective step on a sphere, §7), λ_q = λ_s,A;
* Adam(W) with β₁: η_eff = η(1 − β₁)/(1 + β₁) on λ_max(P⁻¹H) (edge 38/η at β₁ = 0.9).

``to_fold = 1 − ρ`` and ``to_edge = 2 − ρ``.

**Forecasts** (a step k* > k with an uncertainty, and the law that produced it):

* ``"periodic-spike-law"`` (scale groups, weight decay λ > 0, SGD/heavy ball): iterate the exact
  norm identity x_{j+1} = (1−ηλ)² x_j + η²‖g̃‖²/x_j (heavy ball: its (x, p) recurrence) with
  ‖g̃‖² and λ_s frozen at their recent values and λ_s growing at its recent rate, until
  η λ_s/x ≥ 2(1 + β) (:func:`qshock.experiments.lab.forecast.crossing_steps`). Uncertainty:
  half the spread of k* with λ_s moved by its recent relative scatter.
* ``"step-map"``: the trend of ln ρ over the last ``fit_window`` observations (least squares)
  extrapolated to ρ = 2; uncertainty from the standard error of the slope. ρ ≥ 2 now: k* = k.
* ``"coarse-graining"`` (reading (i), a sudden drop, ``kind = "drop"``): on a loss plateau with
  negative curvature μ = −λ_min > 0, k* = k + 1/(2 η_eff μ) (PDE time t = 2ηk); uncertainty
  the half difference to the t = ηk variant, 1/(4 η_eff μ).

The forecast is the first available of: the periodic-spike law (the physical law of normalised
layers with weight decay), the step-map trend, the coarse-graining drop. ``warning`` is set when
ρ ≥ 2 or a spike is forecast within ``warn_within`` steps. Every forecast uses only the
measurements up to its step (causal).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError
from qshock.experiments.lab.forecast import crossing_steps
from qshock.experiments.lab.readings import step_of_fold

__all__ = ["Measurement", "Forecast", "Forecaster", "SOURCES", "effective_step"]

SOURCES = ("step-map", "periodic-spike-law", "coarse-graining")
_NAN = float("nan")


@dataclass(frozen=True)
class Measurement:
    """Quotient measurements at one step (arrays over scale groups; empty without them)."""

    step: int
    lr: float
    loss: float = _NAN
    lam_q: float = _NAN
    lam_min: float = _NAN
    lam_raw: float = _NAN
    lam_pre: float = _NAN
    grad_norm: float = _NAN
    x: tuple = ()
    gt2: tuple = ()
    lam_s: tuple = ()


@dataclass(frozen=True)
class Forecast:
    """One observation of the monitor and its forecast (module docstring).

    ``predicted_step`` is ``inf`` when nothing is forecast within the horizon; ``source`` is one of
    :data:`SOURCES` or ``"none"``; ``kind`` is ``"spike"``, ``"drop"`` or ``"none"``."""

    step: int
    lambda_q: float
    eta_eff: float
    ratio: float
    to_fold: float
    to_edge: float
    predicted_step: float
    uncertainty: float
    source: str
    kind: str
    warning: bool
    loss: float = _NAN
    detail: dict = field(default_factory=dict)

    @property
    def lead(self) -> float:
        """Steps from the observation to the forecast instability."""
        return self.predicted_step - self.step

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(d.pop("detail"))
        return {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in d.items()}


def effective_step(optimizer: str, lr: float, beta: float = 0.0, b1: float = 0.9) -> float:
    """η_eff with the stability edge at η_eff λ = 2 (module docstring)."""
    if optimizer == "adam":
        return lr * (1.0 - b1) / (1.0 + b1)
    return lr / (1.0 + (beta if optimizer == "momentum" else 0.0))


class Forecaster:
    """Turns a stream of :class:`Measurement` into :class:`Forecast` (module docstring).

    Args:
        optimizer: ``"sgd"``, ``"momentum"`` (heavy ball ``beta``) or ``"adam"`` (``b1``).
        weight_decay: λ of the norm identity (0: no periodic-spike law).
        horizon: the largest lead (steps) forecast; warn_within: warning lead (steps).
        fit_window: observations of the step-map trend (≥ 3); rate_window: observations of the
            λ_s growth rate; lam_window: observations whose median λ_s is used.
        plateau_window, plateau_tol: a plateau is a relative loss range ≤ tol over the window.
    """

    def __init__(self, optimizer="sgd", beta=0.0, b1=0.9, weight_decay=0.0, horizon=2000, warn_within=200,
                 fit_window=5, rate_window=6, lam_window=2, plateau_window=5, plateau_tol=0.02):
        if optimizer not in ("sgd", "momentum", "adam"):
            raise QShockInputError(f"monitor: optimizer must be sgd, momentum or adam, got {optimizer!r}")
        if not (0 <= beta < 1 and 0 <= b1 < 1):
            raise QShockInputError(f"monitor: momentum and b1 must be in [0, 1), got {beta}, {b1}")
        if not (math.isfinite(weight_decay) and weight_decay >= 0):
            raise QShockInputError(f"monitor: weight_decay must be >= 0, got {weight_decay}")
        if int(horizon) < 1 or int(fit_window) < 3 or min(int(rate_window), int(lam_window), int(plateau_window)) < 1:
            raise QShockInputError("monitor: horizon and the windows must be >= 1 (fit_window >= 3)")
        self.optimizer, self.b1, self.wd = optimizer, float(b1), float(weight_decay)
        self.beta = float(beta) if optimizer == "momentum" else 0.0
        self.horizon, self.warn_within = int(horizon), float(warn_within)
        self.fit_window, self.rate_window, self.lam_window = int(fit_window), int(rate_window), int(lam_window)
        self.plateau_window, self.plateau_tol = int(plateau_window), float(plateau_tol)
        self.history: list = []  # Measurement
        self.ratios: list = []  # (step, ratio)
        self.forecasts: list = []
        beta, H = self.beta, self.horizon
        self._cross = jax.jit(jax.vmap(lambda x, ls, eta, lam, p0, ut2, rate: crossing_steps(
            x, ls, eta, lam, H, beta=beta, p0=p0, ut2=ut2, lam_rate=rate),
            in_axes=(0, 0, None, None, 0, 0, 0)))

    # ------------------------------------------------------------------ ρ = η_eff λ_q
    def ratio_of(self, m: Measurement):
        """(λ_q, η_eff, ρ, critical group or -1) of one measurement."""
        eta = effective_step(self.optimizer, m.lr, self.beta, self.b1)
        if self.optimizer == "adam":
            return m.lam_pre, eta, eta * m.lam_pre, -1
        x, ls = np.asarray(m.x, float), np.asarray(m.lam_s, float)
        if x.size:
            r = eta * ls / x
            a = int(np.nanargmax(r)) if np.any(np.isfinite(r)) else 0
            return float(ls[a]), float(eta / x[a]), float(r[a]), a
        return m.lam_q, eta, eta * m.lam_q, -1

    # ------------------------------------------------------------------ sources
    def _periodic(self, m: Measurement):
        x = np.asarray(m.x, float)
        if not x.size or self.wd <= 0 or self.optimizer == "adam":
            return math.inf, _NAN
        eta, lam, beta, k = float(m.lr), self.wd, self.beta, len(self.history)
        ls_hist = np.asarray([h.lam_s for h in self.history], float).reshape(k, -1)
        steps = np.asarray([h.step for h in self.history], float)
        ls = np.median(ls_hist[-self.lam_window:], axis=0)
        rate = np.zeros_like(ls)
        if k >= max(3, self.rate_window):
            y = np.log(np.maximum(ls_hist[-self.rate_window:], 1e-300))
            rate = np.maximum(0.0, np.polyfit(steps[-self.rate_window:], y, 1)[0])
        rel = np.zeros_like(ls)
        if k >= 3:
            recent = ls_hist[-self.rate_window:]
            rel = np.median(np.abs(recent - np.median(recent, 0)), 0) / np.maximum(np.abs(ls), 1e-300)
        gt2 = np.nan_to_num(np.asarray(m.gt2, float), nan=0.0)
        p0 = -eta * lam * x / (1.0 - beta)
        ut2 = eta ** 2 * gt2 / (1.0 - beta) ** 2
        out = []
        for f in (1.0, 1.0 + rel, 1.0 - rel):
            j = np.asarray(self._cross(jnp.asarray(x), jnp.asarray(ls * f), eta, lam, jnp.asarray(p0),
                                       jnp.asarray(ut2), jnp.asarray(rate)))
            out.append(float(np.min(np.where(j >= self.horizon, np.inf, j))))
        if not math.isfinite(out[0]):
            return math.inf, _NAN
        lo, hi = out[1], out[2]
        unc = 0.5 * abs(hi - lo) if math.isfinite(lo) and math.isfinite(hi) else abs(out[0] - lo)
        return m.step + out[0], float(unc)

    def _step_map(self, m: Measurement, ratio: float):
        if ratio >= 2.0:
            return float(m.step), 0.0
        pts = [(s, r) for s, r in self.ratios[-self.fit_window:] if r > 0 and math.isfinite(r)]
        if len(pts) < 3:
            return math.inf, _NAN
        s, y = np.asarray(pts, float).T
        s = s - m.step
        y = np.log(y)
        A = np.stack([np.ones_like(s), s], 1)
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        a, b = coef
        if not b > 0:
            return math.inf, _NAN
        res = y - A @ coef
        dof = max(len(s) - 2, 1)
        se = math.sqrt(float(res @ res) / dof / max(float(np.sum((s - s.mean()) ** 2)), 1e-300))
        j = (math.log(2.0) - a) / b
        if j > self.horizon:
            return math.inf, _NAN
        js = [(math.log(2.0) - a) / bb if bb > 0 else math.inf for bb in (b - se, b + se)]
        unc = 0.5 * abs(min(js[0], self.horizon) - js[1])
        return m.step + max(j, 0.0), float(unc)

    def _coarse(self, m: Measurement, eta_eff: float):
        mu = -m.lam_min
        if not (math.isfinite(mu) and mu > 1e-3 * abs(m.lam_q) and mu > 0 and eta_eff > 0):
            return math.inf, _NAN
        losses = [h.loss for h in self.history[-self.plateau_window:]]
        if len(losses) < self.plateau_window or not np.all(np.isfinite(losses)):
            return math.inf, _NAN
        lv = np.asarray(losses, float)
        if (lv.max() - lv.min()) > self.plateau_tol * abs(lv.mean()):
            return math.inf, _NAN
        k = 1.0 / (2.0 * eta_eff * mu)
        return (m.step + k, 0.5 * k) if k <= self.horizon else (math.inf, _NAN)

    # ------------------------------------------------------------------ main entry
    def observe(self, m: Measurement) -> Forecast:
        """Record ``m`` and return the forecast made at its step (uses data up to it only)."""
        if self.history and m.step <= self.history[-1].step:
            raise QShockInputError(f"monitor: steps must increase, got {m.step} after {self.history[-1].step}")
        self.history.append(m)
        lam, eta_eff, ratio, group = self.ratio_of(m)
        self.ratios.append((m.step, ratio))
        fold = step_of_fold(1.0 / lam, eta_eff) if (lam > 0 and eta_eff > 0 and math.isfinite(lam)) else None
        cands = []
        for src, (k, u) in (("periodic-spike-law", self._periodic(m)), ("step-map", self._step_map(m, ratio))):
            if math.isfinite(k):
                cands.append((k, u, src, "spike"))
        if not cands:
            k, u = self._coarse(m, eta_eff)
            if math.isfinite(k):
                cands.append((k, u, "coarse-graining", "drop"))
        k, u, src, kind = cands[0] if cands else (math.inf, _NAN, "none", "none")
        warn = bool(ratio >= 2.0 or (kind == "spike" and k - m.step <= self.warn_within))
        detail = dict(group=group, lambda_raw=m.lam_raw, quotient_sharpness=m.lam_q, lambda_min=m.lam_min,
                      oscillating=bool(fold["oscillating"]) if fold else False)
        fc = Forecast(int(m.step), float(lam), float(eta_eff), float(ratio), 1.0 - ratio, 2.0 - ratio, float(k),
                      float(u), src, kind, warn, float(m.loss), detail)
        self.forecasts.append(fc)
        return fc
