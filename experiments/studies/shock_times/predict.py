r"""Predicted event steps of one run from its checkpoints (issue 9 §2, THEORY §7).

At checkpoint k (parameters θ_k only; nothing after k is read):

* **Reading (ii), step map.** The 1-D quotient chart through σ(π(θ_k)) along the top
  horizontal Hessian eigenvector d (:func:`~qshock.experiments.lab.slices.loss_chart`) and
  the solver's fold time τ*(θ_k) of v₀ = −grad_g L
  (:func:`~qshock.experiments.lab.readings.step_map_fold`). The effective step along d is
  η_eff = η‖J_σᵀ d‖², J_σ the Jacobian of the section map θ ↦ σ(π(θ)) at θ_k: since
  L(θ) = L(σ(θ)), an SGD step −η∇L(θ) = −ηJ_σᵀ∇L(θ_s) moves the section point by
  −ηJ_σJ_σᵀ∇L(θ_s) (η/‖w‖² on a scale-invariant group). Predicted oscillation onset: the
  first checkpoint with η_eff ≥ τ*; predicted spike: the first with η_eff ≥ 2τ*. η_eff depends
  on where θ_k sits on its orbit, i.e. on the conserved leaf label c (for a ReLU rescaling
  c = ‖W_in‖² − ‖W_out‖² per neuron, THEORY §3); the *quotient without c* version
  (``*_quotient_noc``) compares the same τ* with η itself, a function of π(θ_k) alone. The raw
  version uses the raw chart at θ_k and η. Charts and solves are made only at checkpoints where
  the screening curvature puts η_eff λ above ``screen`` × the threshold (τ* = 1/λ on a quadratic
  chart) and the prediction is not yet made, so a run costs a few of them. Screening, for every
  run and checkpoint at once (one vmapped call): the quotient sharpness λ_q = top eigenvalue of
  Π_h H(θ_s) Π_h (the chart's own construction) with its eigenvector d, η_eff = η‖J_σᵀd‖², and
  the raw sharpness the training loop measured.
* **Reading (i), coarse-graining.** At the first checkpoint k₀: the chart along the most
  negative horizontal direction, ν = ησ²/(4B) from the measured per-example gradient variance
  along it, the solver's HJ shock time t*, and k* = k₀ + t*/(2η) (THEORY §7). Raw version:
  the raw chart.
* **Baselines.** Raw sharpness: the first checkpoint with ηλ_max(H) ≥ 2 (spike). Linearised
  saddle escape from k₀: k = k₀ + ln(Δ/δ)/ln(1 + ημ) with μ = −λ_min along the raw bottom
  direction, δ = |g/λ| the distance of θ_{k₀} from the stationary point of the quadratic model
  along it and Δ the distance from that point to the minimum of the chart loss (both measured
  on the chart).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ReadingEngine", "combo_predictions", "PREDICTORS", "CALIBRATED"]

#: predictor -> observed event it forecasts
PREDICTORS = {
    "ii_onset_quotient": "oscillation", "ii_onset_quotient_noc": "oscillation", "ii_onset_raw": "oscillation",
    "ii_spike_quotient": "spike", "ii_spike_quotient_noc": "spike", "ii_spike_raw": "spike", "sharpness_2/eta": "spike",
    "i_drop_quotient": "drop", "i_drop_raw": "drop", "escape_linearised": "drop",
    "i_jump_quotient": "jump", "i_jump_raw": "jump",
    # reading (i) with its PDE-time-to-step factor fitted on the tuning seeds (evaluate.calibrate)
    "i_drop_quotient_cal": "drop", "i_drop_raw_cal": "drop", "i_jump_quotient_cal": "jump", "i_jump_raw_cal": "jump",
}
#: calibrated predictor -> the reading (i) predictor it rescales
CALIBRATED = {"i_drop_quotient_cal": "i_drop_quotient", "i_drop_raw_cal": "i_drop_raw",
              "i_jump_quotient_cal": "i_jump_quotient", "i_jump_raw_cal": "i_jump_raw"}


class ReadingEngine:
    """The compiled pieces shared by every checkpoint of one group (one trainer, one B)."""

    def __init__(self, tr, batch: int, n_chart: int = 33, n_out: int = 41, lanczos_iters: int = 10,
                 screen: float = 0.5, n_batches: int = 4):
        from qshock.experiments.lab.slices import ChartSymmetry, model_symmetry

        A = tr.arrays
        Xs, Ys = A["Xs"], A["Ys"]
        self.loss_fn = lambda p: tr.loss_acc(p, Xs, Ys)[0]  # noqa: E731 - one object: the chart jit cache
        self.batch_loss_fn = lambda p, b: tr.loss_acc(p, b["x"], b["y"])[0]  # noqa: E731
        nb = int(max(2, min(n_batches, A["X"].shape[0] // batch)))
        self.batches = {"x": A["X"][:nb * batch].reshape((nb, batch) + A["X"].shape[1:]),
                        "y": A["Y"][:nb * batch].reshape((nb, batch) + A["Y"].shape[1:])}
        sym = model_symmetry(tr.model_of, tr.task)
        self.sym = ChartSymmetry(jax.jit(sym.section), jax.jit(sym.tangents), sym.name)
        self._jt = jax.jit(lambda th, v: jax.vjp(sym.section, th)[1](v)[0])
        self._screen = jax.jit(jax.vmap(self._screen_one, in_axes=(0, 0)))
        self.batch, self.n, self.n_out, self.iters, self.screen_at = int(batch), int(n_chart), int(n_out), \
            int(lanczos_iters), float(screen)

    def _screen_one(self, theta, seed):
        from qshock.experiments.lab.sharpness import horizontal_projector, hvp, top_eigs

        ts = self.sym.section(theta)
        proj = horizontal_projector(self.sym.tangents(ts))
        key = jax.random.PRNGKey(seed + 31337)
        lam, v = top_eigs(lambda u: proj(hvp(self.loss_fn, ts, proj(u))), ts.shape[0], key, self.iters, 1, ts.dtype)
        v = proj(v)
        v = v / jnp.linalg.norm(v)
        w = jax.vjp(self.sym.section, theta)[1](v)[0]
        return lam[0], jnp.dot(w, w)

    def screen(self, thetas, seeds):
        """(λ_q, ‖J_σᵀd‖²) of every row of ``thetas`` (C, P) (module docstring)."""
        lam, eff = self._screen(jnp.asarray(thetas), jnp.asarray(seeds, jnp.int32))
        return np.asarray(lam, float), np.asarray(eff, float)

    def chart(self, theta, key, lr, raw=False, which="top", noise=False):
        """The 1-D chart at θ; with ``noise`` (reading (i)) also the mini-batch loss and gradient
        variance along it (for ν = ησ²/(4B))."""
        from qshock.experiments.lab.slices import loss_chart

        kw = dict(batch_loss_fn=self.batch_loss_fn, batches=self.batches) if noise else {}
        return loss_chart(self.loss_fn, jnp.asarray(theta), symmetries=None if raw else self.sym, m=1, which=which,
                          n=self.n, lr=lr, key=key, lanczos_iters=self.iters, raw=raw, **kw)

    def eta_eff(self, theta, direction, lr) -> float:
        """η‖J_σᵀ d‖² (module docstring); η when the section's Jacobian is not finite."""
        w = np.asarray(self._jt(jnp.asarray(theta), jnp.asarray(direction, jnp.asarray(theta).dtype)))
        v = float(np.dot(w, w))
        return lr * v if math.isfinite(v) and v > 0 else lr


def _fold(chart, eta, n_out):
    from qshock.experiments.lab.readings import step_map_fold

    try:
        return float(step_map_fold(chart, n_out=n_out).time)
    except Exception:  # noqa: BLE001 - a chart the solver rejects gives no reading, recorded as NaN
        return math.nan


def _step_map_track(eng, thetas, ck_steps, lrs, seed, screen, sharpness):
    """Per-checkpoint reading (ii) records and the first-crossing predictions (causal).
    ``screen`` = (λ_q, ‖J_σᵀd‖²) per checkpoint, ``sharpness`` the raw λ_max per checkpoint,
    ``lrs`` the learning rate used from each checkpoint on. Three versions: ``quotient`` (τ* of the quotient chart against η_eff = η‖J_σᵀd‖², which
    depends on where θ sits on its orbit, i.e. on the conserved leaf label c), ``quotient_noc``
    (the same τ* against η: the quotient point alone, without c) and ``raw`` (raw chart, η)."""
    tags = ("quotient", "quotient_noc", "raw")
    pred = {f"ii_{e}_{t}": None for t in tags for e in ("onset", "spike")}
    track = []
    for j, k in enumerate(ck_steps):
        eff, lr = float(screen[1][j]), float(lrs[j])
        rec = {"step": int(k), "lr": lr, "lam_q": float(screen[0][j]), "lam_raw": float(sharpness[j]),
               "eta_eff": lr * eff if math.isfinite(eff) and eff > 0 else lr, "tau_q": None, "tau_raw": None}
        key = jax.random.fold_in(jax.random.PRNGKey(int(seed) + 104729), int(k))
        for tag in tags:
            eta, lam, which = {"quotient": (rec["eta_eff"], rec["lam_q"], "q"), "quotient_noc": (lr, rec["lam_q"], "q"),
                               "raw": (lr, rec["lam_raw"], "raw")}[tag]
            on, sp = f"ii_onset_{tag}", f"ii_spike_{tag}"
            near = (pred[on] is None and eta * lam >= eng.screen_at) or (pred[sp] is None and eta * lam >= 2 * eng.screen_at)
            if not near:
                continue
            if rec[f"tau_{which}"] is None:
                chart = eng.chart(thetas[j], key, lr, raw=which == "raw")
                rec[f"tau_{which}"] = _fold(chart, eta, eng.n_out)
                rec[f"chart_lam_{which}"] = float(chart.eigenvalues[0])
            tau = rec[f"tau_{which}"]
            if math.isfinite(tau) and tau > 0:
                if pred[on] is None and eta >= tau:
                    pred[on] = int(k)
                if pred[sp] is None and eta >= 2 * tau:
                    pred[sp] = int(k)
        track.append(rec)
    return pred, track


def _steps_until(amount: float, inc, k0: int, warm_end: int) -> float:
    """Fractional number of steps n from k0 with Σ_{j=k0}^{k0+n−1} inc(j) = ``amount`` (linear
    within the last step); ``inc`` is constant from ``warm_end`` on, so with no warm-up it is
    amount/inc(k0) exactly."""
    acc, j = 0.0, int(k0)
    while j < warm_end:
        d = inc(j)
        if acc + d >= amount:
            return j - k0 + (amount - acc) / d
        acc, j = acc + d, j + 1
    return j - k0 + (amount - acc) / inc(j)


def _escape(chart, lr_of, k0, warm_end):
    """Linearised saddle escape on a bottom chart: the n with Π(1 + η_j μ) = Δ/δ over the steps
    from k0 (ln(Δ/δ)/ln(1 + ημ) at a constant η; module docstring)."""
    lam = float(chart.eigenvalues[0])
    if not lam < 0:
        return None, {}
    mu = -lam
    x = np.asarray(chart.grid().centres(0), float)
    L = np.asarray(chart.loss, float)
    xs = -float(chart.gradient[0]) / lam
    delta = max(abs(xs), 0.5 * float(x[1] - x[0]))
    Delta = abs(float(x[int(np.argmin(L))]) - xs)
    if not Delta > delta:
        return None, {"mu": mu, "delta": delta, "Delta": Delta}
    n = _steps_until(math.log(Delta / delta), lambda j: math.log1p(lr_of(j) * mu), k0, warm_end)
    return n, {"mu": mu, "delta": delta, "Delta": Delta}


def _coarse_grain(eng, theta0, k0, lr_of, seed, warm_end):
    """Reading (i) from the first checkpoint, quotient and raw, and the escape baseline. ν uses
    η at k0; the PDE time after k0 is t = 2Σ_j η_j (THEORY §7: t = 2ηk at a constant η)."""
    from qshock.experiments.lab.readings import coarse_grain_shock, sgd_nu

    key = jax.random.fold_in(jax.random.PRNGKey(int(seed) + 15485863), int(k0))
    lr = lr_of(k0)
    out, info = {}, {}
    for tag, raw in (("quotient", False), ("raw", True)):
        chart = eng.chart(theta0, key, lr, raw=raw, which="bottom", noise=True)
        nu = sgd_nu(chart, lr, eng.batch)
        try:
            t = float(coarse_grain_shock(chart, nu=nu, n_out=eng.n_out).time)
        except Exception:  # noqa: BLE001 - recorded as no reading
            t = math.nan
        k = _steps_until(t, lambda j: 2.0 * lr_of(j), k0, warm_end) if math.isfinite(t) and t >= 0 else None
        out[f"i_drop_{tag}"] = out[f"i_jump_{tag}"] = None if k is None else int(round(k0 + k))
        info[tag] = {"t_star": t, "nu": nu, "mu": -float(chart.eigenvalues[0])}
        if raw:
            ke, ei = _escape(chart, lr_of, k0, warm_end)
            out["escape_linearised"] = None if ke is None else int(round(k0 + ke))
            info["escape"] = ei
    return out, info


def combo_predictions(eng, thetas, ck_steps, lr: float, seed: int, sharpness, screen=None, warmup: int = 0) -> dict:
    """Every predictor of :data:`PREDICTORS` for one run (thetas (n_ck, P) at ``ck_steps``);
    ``screen`` = (λ_q, ‖J_σᵀd‖²) per checkpoint (computed here when None). ``lr`` is the peak
    learning rate; with ``warmup`` > 0 the run used η_k = :func:`~.runs.lr_at` (lr, k, every,
    warmup), every = the checkpoint spacing, and each prediction at checkpoint k uses η_k (the
    schedule is fixed before training, so this is causal)."""
    from .runs import lr_at

    ck_steps = np.asarray(ck_steps)
    every = int(ck_steps[1] - ck_steps[0]) if len(ck_steps) > 1 else 1
    lr_of = lambda j: lr_at(lr, j, every, warmup)  # noqa: E731
    lrs = np.asarray([lr_of(int(k)) for k in ck_steps], float)
    if screen is None:
        lam, eff = zip(*[eng.screen(np.asarray(t)[None], [seed]) for t in thetas])
        screen = (np.concatenate(lam), np.concatenate(eff))
    pred, track = _step_map_track(eng, thetas, ck_steps, lrs, seed, screen, sharpness)
    ci, info = _coarse_grain(eng, thetas[0], int(ck_steps[0]), lr_of, seed, int(warmup))
    pred.update(ci)
    hit = np.nonzero(lrs * np.asarray(sharpness, float) >= 2.0)[0]
    pred["sharpness_2/eta"] = int(ck_steps[hit[0]]) if hit.size else None
    return {"predicted": pred, "track": track, "reading_i": info}
