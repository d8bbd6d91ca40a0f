r"""The quotient chart of a checkpoint: the loss on an m-dimensional slice through σ(π(θ)).

Construction (issue 9, docs/theory.md §2 and §7). Given a full-batch loss ``L`` on flat parameters
θ ∈ ℝᴾ and the parameter symmetries of the model:

1. **Section point.** θ_s = σ(π(θ)), the canonical orbit representative of
   :func:`qshock.experiments.lab.observables.project` (unit norm for scale groups, unit
   incoming norm for ReLU rescalings, centred logits, balanced attention factors, sorted
   mean-field particles). Gauge-equivalent θ and g·θ give the same θ_s.
2. **Horizontal Hessian.** J (P×K) spans the orbit tangents at θ_s
   (:func:`~qshock.experiments.lab.observables.orbit_tangents`) and Π_h = I − J(JᵀJ)⁺Jᵀ. The
   directions d_1..d_m are the top (``which="top"``) or most negative (``which="bottom"``)
   eigenvectors of Π_h H(θ_s) Π_h from the lab's Lanczos started in, and restarted within,
   range(Π_h); they are re-projected, orthonormalised and rotated so that
   dᵢᵀ H dⱼ = λᵢ δᵢⱼ (Rayleigh–Ritz in their span). So ⟨dᵢ, J⟩ = 0 to rounding.
3. **Chart and metric.** x ∈ ℝᵐ ↦ θ(x) = θ_s + Σᵢ xᵢ dᵢ. The quotient metric of a Riemannian
   submersion on horizontal vectors is the Euclidean one, so the chart inherits the constant
   metric g_ij = ⟨dᵢ, dⱼ⟩ (= I to rounding; it is computed, not assumed). The loss on the
   chart is L(θ(x)); it is gauge invariant because θ_s is.
4. **Raw baseline** (``raw=True``): the same at θ itself with the raw Hessian H(θ) and no
   projection (Euclidean metric); this moves under rescalings (Dinh et al. 2017).

Mini-batch statistics: with ``batch_loss_fn(theta, batch)`` and a list (or stacked pytree) of
``batches`` of size B, ``loss_var`` is the variance over batches of the mini-batch loss at
every grid point, and ``grad_var[i] = B · Var_b⟨∇L_b(θ_origin), dᵢ⟩`` is the per-example
gradient variance σ²ᵢ along dᵢ (mini-batch gradient variance = σ²/B). ν = ησ²/(4B) follows
(:func:`qshock.experiments.lab.readings.sgd_nu`).

The grid is cell centred: ``n`` cells per axis on [−eᵢ, eᵢ] (odd ``n`` puts the origin at a
centre). Evaluation is ``jax.lax.map`` (chunks of ``vmap``) inside one ``jit``; pass the same
``loss_fn`` / ``batch_loss_fn`` objects across checkpoints to reuse the compiled evaluator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError
from qshock.experiments.lab.sharpness import horizontal_projector, hvp, lanczos
from qshock.manifolds import FlatManifold
from qshock.solver import Grid

__all__ = ["LossChart", "ChartSymmetry", "ChartMetric", "loss_chart", "model_symmetry", "as_symmetry",
           "chart_extent", "CHART_CELLS"]

Array = jax.Array


# ---------------------------------------------------------------- symmetry description
@dataclass(frozen=True)
class ChartSymmetry:
    """What the chart needs to know about the symmetries: the section map θ ↦ σ(π(θ)) on flat
    parameters and the orbit tangents (P, K) at a section point (K = 0: no continuous group)."""

    section: Callable[[Array], Array]
    tangents: Callable[[Array], Array]
    name: str = "custom"


@lru_cache(maxsize=64)
def model_symmetry(model_of: Callable, task: str) -> ChartSymmetry:
    """The lab's symmetries of a model (``observables.symmetries``) on flat parameters.

    ``model_of(theta)`` builds the equinox model (e.g. ``Trainer.model_of``); ``task`` is
    ``"classification"`` or ``"regression"``. Works for every lab model (MLP, CNN,
    Transformer, MeanField). Section and tangents are jitted and cached per
    ``(model_of, task)``, so successive checkpoints of a run reuse the compiled maps."""
    from qshock.experiments.lab import observables as obs

    def section(theta):
        return obs.ravel_model(obs.project(model_of(theta), task)).astype(theta.dtype)

    def tangents(theta_s):
        return obs.orbit_tangents(model_of(theta_s), task).astype(theta_s.dtype)

    return ChartSymmetry(jax.jit(section), jax.jit(tangents), f"lab:{task}")


def _identity_symmetry() -> ChartSymmetry:
    return ChartSymmetry(lambda th: th, lambda th: jnp.zeros((th.shape[0], 0), th.dtype), "none")


def as_symmetry(symmetries: Any) -> ChartSymmetry:
    """Accept ``None`` (no symmetry), a :class:`ChartSymmetry`, a pair ``(model_of, task)`` or
    an object with ``model_of`` and ``task`` attributes (the lab's ``Trainer``)."""
    if symmetries is None:
        return _identity_symmetry()
    if isinstance(symmetries, ChartSymmetry):
        return symmetries
    if isinstance(symmetries, tuple) and len(symmetries) == 2 and callable(symmetries[0]):
        return model_symmetry(*symmetries)
    if hasattr(symmetries, "model_of") and hasattr(symmetries, "task"):
        return model_symmetry(symmetries.model_of, symmetries.task)
    raise QShockInputError("symmetries must be None, a ChartSymmetry, (model_of, task) or a Trainer, "
                           f"got {type(symmetries).__name__}")


# ---------------------------------------------------------------- the chart as a manifold
class ChartMetric(FlatManifold):
    """ℝᵐ with the constant metric g_ij the section inherits on the chart (Γ = 0)."""

    g: tuple = eqx.field(static=True)

    def metric(self, x):
        return jnp.asarray(self.g, jnp.result_type(x, float))

    @property
    def coordinate_names(self):
        return tuple(f"x{i}" for i in range(len(self.g)))

    @property
    def domain(self):
        m = len(self.g)
        return (tuple(-math.inf for _ in range(m)), tuple(math.inf for _ in range(m)))

    @property
    def name(self):
        return "loss-chart"


@dataclass(frozen=True)
class LossChart:
    """The loss of a checkpoint on an m-dimensional chart (see the module docstring)."""

    origin: Array
    directions: Array
    eigenvalues: Array
    metric: Array
    extent: Array
    n: int
    loss: Array
    loss_var: Array
    grad_var: Array
    quotient: bool
    gradient: Array | None = None  # (m,) dL/dx_i at the origin
    info: dict = field(default_factory=dict)

    @property
    def m(self) -> int:
        return int(self.directions.shape[0])

    def grid(self, boundaries: str = "outflow") -> Grid:
        """Cell-centred grid of the chart box [−e, e]^m with ``n`` cells per axis."""
        e = [float(v) for v in np.asarray(self.extent)]
        return Grid([-v for v in e], e, (self.n,) * self.m, boundaries=boundaries,
                    axis_names=tuple(f"x{i}" for i in range(self.m)))

    def manifold(self) -> ChartMetric:
        """The chart as a manifold with the constant inherited metric (accepted by the solver)."""
        g = np.asarray(self.metric, float)
        return ChartMetric(g=tuple(tuple(float(v) for v in row) for row in g))

    def point(self, x) -> Array:
        """Parameters θ(x) = origin + xᵀ D of chart coordinates ``x`` (…, m)."""
        return self.origin + jnp.asarray(x) @ self.directions


# ---------------------------------------------------------------- directions
def _ritz(loss_fn, origin, J, key, top, *, m, iters):
    """Top (``top`` true) or bottom m eigenpairs of Π H(origin) Π restricted to range(Π) (rows
    of D, λ); ``top`` is traced, so both share one compilation."""
    proj = horizontal_projector(J)
    op = lambda v: proj(hvp(loss_fn, origin, proj(v)))  # noqa: E731
    k0, k1 = jax.random.split(key)
    v0 = jax.random.normal(k0, origin.shape, origin.dtype)
    alpha, beta, V = lanczos(op, v0, iters, k1, proj=proj)
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    _, ev = jnp.linalg.eigh(T)  # ascending
    sel = jnp.where(top, ev[:, ::-1][:, :m], ev[:, :m])
    Y = jax.vmap(proj)((V.T @ sel).T)
    Q, _ = jnp.linalg.qr(Y.T)  # (P, m) orthonormal
    D = jax.vmap(proj)(Q.T)
    D = D / jnp.linalg.norm(D, axis=1, keepdims=True)
    Hm = jax.vmap(lambda d: D @ op(d))(D)
    lam, R = jnp.linalg.eigh(0.5 * (Hm + Hm.T))
    order = jnp.where(top, jnp.arange(m)[::-1], jnp.arange(m))
    lam, R = lam[order], R[:, order]
    D = R.T @ D
    return D, lam


_ritz_jit = jax.jit(_ritz, static_argnames=("loss_fn", "m", "iters"))


# ---------------------------------------------------------------- statistics at the origin
def _stack_batches(batches):
    if isinstance(batches, (list, tuple)):
        return jax.tree.map(lambda *xs: jnp.stack(xs), *batches)
    return batches


def _grad_var(batch_loss_fn, origin, D, batches, B):
    """σ²_i = B · Var_b ⟨∇L_b(origin), d_i⟩ (unbiased over batches)."""
    g = jax.vmap(lambda b: jax.grad(batch_loss_fn)(origin, b))(batches)  # (nb, P)
    c = g @ D.T  # (nb, m)
    return B * jnp.var(c, axis=0, ddof=1)


_grad_var_jit = jax.jit(_grad_var, static_argnames=("batch_loss_fn",))
# the orbit dimension: rank of the Gram matrix JᵀJ (NumPy's tolerance rule, on the device)
_orbit_rank_jit = jax.jit(lambda J: jnp.linalg.matrix_rank(J.T @ J))
_value_and_grad_jit = jax.jit(lambda loss_fn, x: jax.value_and_grad(loss_fn)(x), static_argnums=0)


def chart_extent(gradient, eigenvalues, grad_var, lr, loss0, *, c_step=4.0, c_noise=4.0, c_valley=1.5,
                 level=0.5):
    r"""Half-widths of the chart box (the default rule of :func:`loss_chart`):

    .. math:: e_i = \max\big(c_{step}\,η|g_i|,\; c_{noise}\,η σ_i,\; c_{valley}|g_i|/|λ_i|,
              \sqrt{2 ΔL/|λ_i|}\big),\quad ΔL = level·\max(L_0, 10^{-6}).

    The first two are the step and noise scales of one SGD step (dropped when ``lr`` is None);
    the third puts the valley of the quadratic model along dᵢ (x = −gᵢ/λᵢ, where the
    characteristics of the step map meet, i.e. the quadratic fold region) inside the box; the
    fourth reaches the level where the quadratic model has changed by ΔL. |λ| is floored at
    10⁻⁸ · max|λ|."""
    g = np.abs(np.asarray(gradient, float))
    lam = np.abs(np.asarray(eigenvalues, float))
    lam = np.maximum(lam, 1e-8 * max(float(lam.max()), 1e-300))
    terms = [c_valley * g / lam, np.sqrt(2.0 * level * max(float(loss0), 1e-6) / lam)]
    if lr is not None:
        terms += [c_step * lr * g, c_noise * lr * np.sqrt(np.maximum(np.asarray(grad_var, float), 0.0))]
    return np.max(np.stack(terms), axis=0)


# ---------------------------------------------------------------- grid evaluation
def _grid_eval(loss_fn, batch_loss_fn, origin, D, pts, batches, chunk):
    def one(x):
        th = origin + x @ D
        lv = loss_fn(th)
        if batch_loss_fn is None:
            return lv, jnp.zeros_like(lv)
        bl = jax.vmap(lambda b: batch_loss_fn(th, b))(batches)
        return lv, jnp.var(bl, ddof=1)

    return jax.lax.map(one, pts, batch_size=chunk)


_grid_eval_jit = jax.jit(_grid_eval, static_argnames=("loss_fn", "batch_loss_fn", "chunk"))


#: cells per chart axis that :func:`loss_chart` accepts (inclusive)
CHART_CELLS = (5, 1025)


def _check_inputs(theta, m, which, n, lr, batch_loss_fn, batches, key, lanczos_iters, extent):
    if not (isinstance(theta, (jax.Array, np.ndarray)) and theta.ndim == 1 and theta.shape[0] >= 1):
        raise QShockInputError(f"theta must be a flat parameter vector (P,), got shape {np.shape(theta)}")
    if m not in (1, 2, 3):
        raise QShockInputError(f"m must be 1, 2 or 3, got {m!r}")
    if which not in ("top", "bottom"):
        raise QShockInputError(f"which must be 'top' or 'bottom', got {which!r}")
    if not (isinstance(n, (int, np.integer)) and CHART_CELLS[0] <= n <= CHART_CELLS[1]):
        raise QShockInputError(f"n must be an integer in [{CHART_CELLS[0]}, {CHART_CELLS[1]}], got {n!r}")
    if lr is not None and not (np.isfinite(lr) and lr > 0):
        raise QShockInputError(f"lr must be a positive number or None, got {lr!r}")
    if (batch_loss_fn is None) != (batches is None):
        raise QShockInputError("batch_loss_fn and batches must be given together")
    if key is None:
        raise QShockInputError("key (a jax PRNG key) is required")
    if not (isinstance(lanczos_iters, (int, np.integer)) and lanczos_iters >= m):
        raise QShockInputError(f"lanczos_iters must be an integer >= m={m}, got {lanczos_iters!r}")
    if extent is not None:
        e = np.broadcast_to(np.asarray(extent, float), (m,))
        if not np.all(np.isfinite(e) & (e > 0)):
            raise QShockInputError(f"extent must be positive and finite, got {extent!r}")


def loss_chart(loss_fn: Callable, theta, *, symmetries=None, m: int = 1, which: str = "top", n: int = 65,
               lr: float | None = None, batch_loss_fn: Callable | None = None, batches=None, key=None,
               lanczos_iters: int = 20, raw: bool = False, extent=None, batch_size: int | None = None,
               chunk: int = 256, extent_fn: Callable | None = None) -> LossChart:
    """The quotient (or, with ``raw=True``, raw) loss chart of the checkpoint ``theta``.

    Args:
        loss_fn: full-batch loss ``L(theta) -> scalar`` on flat parameters (P,).
        theta: the checkpoint (P,).
        symmetries: see :func:`as_symmetry` (``None``: no group, the section is the identity).
        m: chart dimension (1, 2 or 3); which: ``"top"`` or ``"bottom"`` eigenvectors.
        n: cells per axis; lr: the step η (enters the default extent only).
        batch_loss_fn, batches: mini-batch loss ``(theta, batch) -> scalar`` and a list or
            stacked pytree of batches (for ``loss_var`` and ``grad_var``; zeros without them).
        key: PRNG key of the Lanczos start; lanczos_iters: Krylov dimension (capped by the
            horizontal dimension).
        raw: the baseline at θ with raw Hessian eigenvectors and the Euclidean metric.
        extent: half-widths (scalar or (m,)); ``None``: :func:`chart_extent`.
        batch_size: B for ``grad_var`` (default: leading size of the first batch leaf).
        chunk: points per ``vmap`` chunk of the grid evaluation.
        extent_fn: optional ``(e, grad_var) -> e'`` applied to the half-widths before the grid is
            evaluated (e.g. to widen the box so that a solve on it reuses a compiled stepper).

    Raises:
        QShockInputError: bad input (named), before any work.
    """
    _check_inputs(theta, m, which, n, lr, batch_loss_fn, batches, key, lanczos_iters, extent)
    theta = jnp.asarray(theta)
    sym = _identity_symmetry() if raw else as_symmetry(symmetries)
    origin = jnp.asarray(sym.section(theta), theta.dtype)
    J = jnp.asarray(sym.tangents(origin), theta.dtype)
    rank = int(_orbit_rank_jit(J)) if J.shape[1] else 0
    dim_h = theta.shape[0] - rank
    if dim_h < m:
        raise QShockInputError(f"m={m} exceeds the horizontal dimension {dim_h}")
    iters = int(min(lanczos_iters, dim_h))
    D, lam = _ritz_jit(loss_fn, origin, J, key, jnp.asarray(which == "top"), m=m, iters=iters)
    loss0, g = _value_and_grad_jit(loss_fn, origin)
    gc = D @ g
    if batches is not None:
        batches = _stack_batches(batches)
        B = batch_size or int(jax.tree.leaves(batches)[0].shape[1])
        gv = _grad_var_jit(batch_loss_fn, origin, D, batches, B)
    else:
        gv = jnp.zeros(m, theta.dtype)
    if extent is None:
        e = chart_extent(gc, lam, gv, lr, float(loss0))
    else:
        e = np.broadcast_to(np.asarray(extent, float), (m,)).copy()
    if extent_fn is not None:
        e = np.broadcast_to(np.asarray(extent_fn(e, np.asarray(gv, float)), float), (m,)).copy()
    metric = D @ D.T
    chart = LossChart(origin, D, lam, metric, jnp.asarray(e, theta.dtype), int(n), None, None, gv, not raw,
                      gradient=gc, info={})
    pts = chart.grid().points(theta.dtype).reshape(-1, m)
    lv, vv = _grid_eval_jit(loss_fn, batch_loss_fn, origin, D, pts, batches, min(chunk, pts.shape[0]))
    shape = (int(n),) * m
    info = {"symmetry": sym.name, "orbit_rank": rank, "lanczos_iters": iters, "loss_origin": float(loss0),
            "max_orthogonality": float(jnp.max(jnp.abs(D @ J))) if J.shape[1] else 0.0}
    return LossChart(origin, D, lam, metric, chart.extent, int(n), lv.reshape(shape), vv.reshape(shape), gv,
                     not raw, gradient=gc, info=info)
