r"""``ShockMonitor``: drop-in instability forecaster for a user's own training loop.

    monitor = ShockMonitor(loss_fn, params, symmetries=[Scale(("layers.0.weight",)), ...],
                           every=100, lr=1e-1, weight_decay=5e-4)
    for step in range(steps):
        ...                                     # the user's optax update
        fc = monitor.update(step, params, batch, opt_state)   # Forecast, or None between observations
        if fc is not None and fc.warning: ...

Every ``every`` steps (and at step 0) one jitted call measures, on the batch passed
(``loss_fn(params, batch)`` a scalar; θ the flat parameter vector, ``ravel_pytree`` order):

* the quotient sharpness λ_q = λ_max(Π_h H(θ_s) Π_h) at the section point θ_s = σ(π(θ)) of the
  given symmetries, Π_h the projector onto the horizontal space (complement of the orbit
  tangents), by Lanczos (:func:`qshock.experiments.lab.sharpness.lanczos`, the same start vector
  and key use as :func:`~qshock.experiments.lab.sharpness.quotient_sharpness`), and the most
  negative Ritz value of the same run (reading (i));
* for every :class:`~qshock.experiments.monitor.symmetries.Scale` group A: x_A = ‖θ_A‖²,
  ‖g̃_A‖² = x_A ‖g_A‖² and the sphere sharpness λ_max(P_A H(θ_s) P_A) at unit norm (P_A the
  tangent projector of A's unit sphere, other coordinates frozen);
* for Adam-type states (an ``optax.ScaleByAdamState`` in ``opt_state``): λ_max(P⁻¹H) with
  P = diag(√ν̂ + ε), ν̂ = ν/(1 − β₂ᵗ) (THEORY §4, Cohen et al. 2022);
* optionally (``raw=True``) the raw sharpness λ_max(H) (the raw-coordinate baseline).

The host-side :class:`~qshock.experiments.monitor.forecaster.Forecaster` turns these into a
:class:`~qshock.experiments.monitor.forecaster.Forecast`. The learning rate and weight decay are
read from ``opt_state.hyperparams`` (``optax.inject_hyperparams``) when present, else from the
constructor. Any optax optimiser can be used: an Adam-type state selects the preconditioned
sharpness, a ``TraceState`` heavy ball (give ``momentum``), anything else is read as SGD.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from qshock.errors import QShockInputError
from qshock.experiments.lab.sharpness import hvp, lanczos, preconditioned_sharpness, sharpness, top_eigs

from .forecaster import Forecaster, Measurement
from .symmetries import FlatSymmetries

__all__ = ["ShockMonitor", "ritz_extremes", "horizontal_projector_chol", "adam_state", "detect_optimizer"]


def ritz_extremes(matvec, dim: int, key, iters: int, dtype):
    """(largest, smallest) Ritz values of one Lanczos run; the start vector and keys are those of
    :func:`qshock.experiments.lab.sharpness.top_eigs`, so the largest equals its first value."""
    iters = int(min(iters, dim))
    k0, k1 = jax.random.split(key)
    v0 = jax.random.normal(k0, (dim,), dtype)
    alpha, beta, _ = lanczos(matvec, v0, iters, k1)
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    ev = jnp.linalg.eigvalsh(T)
    return ev[-1], ev[0]


def horizontal_projector_chol(J):
    """v ↦ v − J (JᵀJ)⁻¹ Jᵀ v, the projector of :func:`qshock.experiments.lab.sharpness.horizontal_projector`,
    by a Cholesky solve (jitter 100 ε max diag(JᵀJ); a zero column is ignored). JAX's CPU ``pinv``
    (an ``eigh``) costs ~0.4 s at K ≈ 100 orbit directions; this costs < 1 ms. Full-rank J: equal
    to round-off; nearly dependent columns are regularised by the jitter."""
    if J.shape[1] == 0:
        return lambda v: v
    G = J.T @ J
    d = jnp.diag(G)
    G = G + jnp.diag(100 * jnp.finfo(J.dtype).eps * jnp.max(d) + jnp.where(d == 0, 1.0, 0.0))
    C = jax.scipy.linalg.cho_factor(G, lower=True)
    return lambda v: v - J @ jax.scipy.linalg.cho_solve(C, J.T @ v)


def adam_state(opt_state):
    """The first ``optax.ScaleByAdamState`` inside ``opt_state`` (or None)."""
    isadam = lambda s: isinstance(s, optax.ScaleByAdamState)  # noqa: E731
    for leaf in jax.tree.leaves(opt_state, is_leaf=isadam):
        if isadam(leaf):
            return leaf
    return None


def detect_optimizer(opt_state) -> str:
    """``"adam"`` (an Adam-type state), ``"momentum"`` (an ``optax.TraceState``) or ``"sgd"``."""
    if opt_state is None:
        return "sgd"
    if adam_state(opt_state) is not None:
        return "adam"
    istrace = lambda s: isinstance(s, optax.TraceState)  # noqa: E731
    return "momentum" if any(istrace(s) for s in jax.tree.leaves(opt_state, is_leaf=istrace)) else "sgd"


def _hyper(opt_state, name, default):
    for leaf in jax.tree.leaves(opt_state, is_leaf=lambda s: hasattr(s, "hyperparams")):
        if hasattr(leaf, "hyperparams") and name in leaf.hyperparams:
            return float(leaf.hyperparams[name])
    return default


class ShockMonitor:
    """Forecasts training instabilities from quotient observables (module docstring).

    Args:
        loss_fn: ``loss_fn(params, batch) -> scalar`` (params: the pytree of ``params_or_model``).
        params_or_model: the parameters (a pytree of arrays) or an equinox model (its array
            leaves are the parameters; ``loss_fn`` then receives the model).
        symmetries: list of ``Translation``/``Scale``/``Rescale``/``GL`` (by parameter paths).
        every: observation interval (steps). Default: 500 (1 + G) with G the number of ``Scale``
            groups (a measurement runs 1 + G Lanczos loops of ``lanczos_iters`` = 10), which keeps
            the cost under 10 % of training on the lab's models (``benchmarks/bench_monitor.py``). lr, weight_decay: used when ``opt_state`` does not
            carry them (``optax.inject_hyperparams``). momentum: heavy-ball β (for a TraceState).
        optimizer: ``"auto"`` (from ``opt_state``), ``"sgd"``, ``"momentum"`` or ``"adam"``.
        b1, b2, eps: Adam constants (the preconditioner and its edge).
        lanczos_iters: Lanczos iterations per eigenvalue. key: PRNG key (folded with the step).
        raw: also measure the raw sharpness. Further keyword arguments go to :class:`Forecaster`.
    """

    def __init__(self, loss_fn, params_or_model, symmetries=(), every: int | None = None, lr: float | None = None,
                 weight_decay: float | None = None, momentum: float = 0.9, optimizer: str = "auto",
                 b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, lanczos_iters: int = 10, key=None,
                 raw: bool = False, **forecast_kw):
        if not callable(loss_fn):
            raise QShockInputError("ShockMonitor: loss_fn must be callable as loss_fn(params, batch)")
        if every is not None and not (isinstance(every, (int, np.integer)) and every >= 1):
            raise QShockInputError(f"ShockMonitor: every must be a positive integer, got {every!r}")
        if lr is not None and not (math.isfinite(lr) and lr > 0):
            raise QShockInputError(f"ShockMonitor: lr must be > 0, got {lr!r}")
        if int(lanczos_iters) < 2:
            raise QShockInputError(f"ShockMonitor: lanczos_iters must be >= 2, got {lanczos_iters!r}")
        params, self.static = eqx.partition(params_or_model, eqx.is_array)
        self.sym = FlatSymmetries(params, symmetries)
        n_scale = int(self.sym.scale_masks.shape[0])
        self.every = int(every) if every is not None else 500 * (1 + n_scale)
        self.loss_fn, self.lr, self.wd = loss_fn, lr, weight_decay
        self.momentum, self.optimizer, self.b1, self.b2, self.eps = float(momentum), optimizer, b1, b2, eps
        self.iters, self.raw = int(lanczos_iters), bool(raw)
        self.key = jax.random.PRNGKey(0) if key is None else key
        self.forecast_kw = forecast_kw
        self.forecaster = None
        self.masks = jnp.asarray(self.sym.scale_masks)
        self._measure = jax.jit(self._measure_impl)

    # ------------------------------------------------------------------ jitted measurement
    def flat(self, params_or_model):
        """Flat parameter vector θ of ``params_or_model`` (the layout given at construction)."""
        return ravel_pytree(eqx.filter(params_or_model, eqx.is_array))[0]

    def _loss(self, theta, batch):
        return self.loss_fn(eqx.combine(self.sym.unravel(theta), self.static), batch)

    def _group_sharpness(self, f, ts, key):
        def one(m):
            u = m * ts / jnp.linalg.norm(m * ts)
            proj = lambda v: m * v - jnp.dot(u, v) * u  # noqa: E731
            return top_eigs(lambda v: proj(hvp(f, ts, proj(v).astype(ts.dtype))), ts.shape[0], key, self.iters, 1,
                            ts.dtype)[0][0]
        return jax.lax.map(one, self.masks.astype(ts.dtype)) if self.masks.shape[0] else jnp.zeros((0,), ts.dtype)

    def _measure_impl(self, theta, batch, key, precond):
        f = lambda th: self._loss(th, batch)  # noqa: E731
        loss, g = jax.value_and_grad(f)(theta)
        ts = self.sym.section(theta)
        # the barrier keeps XLA from fusing the tangent computation into the Lanczos loop (5x slower)
        proj = horizontal_projector_chol(jax.lax.optimization_barrier(self.sym.tangents(ts)))
        top, bottom = ritz_extremes(lambda v: proj(hvp(f, ts, proj(v).astype(ts.dtype))), theta.shape[0], key,
                                    self.iters, ts.dtype)
        M = self.masks.astype(theta.dtype)
        x = M @ (theta * theta)
        out = dict(loss=loss, grad_norm=jnp.linalg.norm(g), lam_q=top, lam_min=bottom, x=x, gt2=x * (M @ (g * g)),
                   lam_s=self._group_sharpness(f, ts, key))
        if precond is not None:
            out["lam_pre"] = preconditioned_sharpness(f, theta, precond, key, self.iters, 1)[0]
        if self.raw:
            out["lam_raw"] = sharpness(f, theta, key, self.iters, 1)[0][0]
        return out

    def measure(self, step: int, params, batch, opt_state=None) -> Measurement:
        """The :class:`Measurement` at ``step`` (no forecast; any step)."""
        theta = self.flat(params)
        if theta.shape[0] != self.sym.n_params:
            raise QShockInputError(f"ShockMonitor: params have {theta.shape[0]} entries, expected {self.sym.n_params}")
        precond = None
        ad = adam_state(opt_state) if opt_state is not None else None
        if ad is not None:
            n = int(np.max(np.asarray(ad.count)))
            nu = ravel_pytree(ad.nu)[0]
            if n > 0:
                precond = jnp.sqrt(nu / (1 - self.b2 ** n)) + self.eps
        o = jax.device_get(self._measure(theta, batch, jax.random.fold_in(self.key, int(step)), precond))
        lr = _hyper(opt_state, "learning_rate", self.lr)
        if lr is None:
            raise QShockInputError("ShockMonitor: no learning rate: pass lr= (or use optax.inject_hyperparams)")
        tup = lambda a: tuple(float(v) for v in np.asarray(a).reshape(-1))  # noqa: E731
        return Measurement(int(step), float(lr), float(o["loss"]), float(o["lam_q"]), float(o["lam_min"]),
                           float(o.get("lam_raw", math.nan)), float(o.get("lam_pre", math.nan)),
                           float(o["grad_norm"]), tup(o["x"]), tup(o["gt2"]), tup(o["lam_s"]))

    def _forecaster(self, opt_state):
        if self.forecaster is None:
            kind = detect_optimizer(opt_state) if self.optimizer == "auto" else self.optimizer
            wd = _hyper(opt_state, "weight_decay", self.wd if self.wd is not None else 0.0)
            self.forecaster = Forecaster(kind, beta=self.momentum if kind == "momentum" else 0.0, b1=self.b1,
                                         weight_decay=wd, **self.forecast_kw)
        return self.forecaster

    def update(self, step: int, params, batch, opt_state=None):
        """At observation steps (``step % every == 0``) measure and return a ``Forecast``; else None."""
        if int(step) % self.every:
            return None
        fc = self._forecaster(opt_state)
        if fc.optimizer == "adam" and (opt_state is None or adam_state(opt_state) is None):
            raise QShockInputError("ShockMonitor: optimizer 'adam' needs the optax state (opt_state=...)")
        return fc.observe(self.measure(step, params, batch, opt_state))

    @property
    def forecasts(self) -> list:
        """Every forecast made so far."""
        return [] if self.forecaster is None else list(self.forecaster.forecasts)
