"""Conservation laws (Kunin et al. 2021, docs/theory.md §3) under SGD with weight decay λ.

An MLP whose hidden (W, b) feed a layer norm without epsilon has an exact scale symmetry.
The study checks the discrete identity ‖θ_{k+1}‖² = (1 − ηλ)²‖θ_k‖² + η²‖g_k‖², the
modified-gradient-flow integral ‖θ(t)‖² = e^{−2λt}‖θ(0)‖² + η∫₀ᵗ e^{−2λ(t−τ)}‖g(τ)‖² dτ
(t = ηk), and the translation law 1ᵀb(t) = e^{−λt} 1ᵀb(0) of the logits layer.

Figures: ``conservation_sqnorm``, ``conservation_residual``, ``conservation_translation``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qshock.errors import QShockInputError

from .driver import StudyConfig, StudyResult
from .stats import first_step, fmt, mean_std
from .figures_common import arr, figure_stem

__all__ = ["NAME", "Config", "run", "figures"]

NAME = "conservation"
ALIASES = ()


@dataclass(frozen=True)
class Config(StudyConfig):
    model: str = "mlp"
    data: str = "digits"
    width: int = 32
    depth: int = 2
    lr: float = 0.1
    weight_decay: float = 0.01
    steps: int = 1000
    batch: int = 64

    @classmethod
    def quick(cls):
        return cls(width=16, steps=200, batch=32)

    def validate(self):
        if self.lr <= 0 or self.weight_decay < 0 or self.steps < 1 or self.batch < 1:
            raise QShockInputError("--config: need lr > 0, weight_decay >= 0, steps >= 1, batch >= 1")


def _conservation_item(p, seed):
    import jax
    import jax.numpy as jnp

    from qshock.experiments.lab import training

    cfg = training.TrainConfig(model=p.model, data=p.data, lr=float(p.lr), steps=1, norm=True,
                               width=int(p.width), depth=int(p.depth), dtype="float64",
                               batch=int(p.batch), quotient_sharpness=False).validate(None)
    tr = training.get_trainer(cfg)
    theta0 = tr.init(jnp.asarray([seed], jnp.int32), cfg.lr, 0.0, 0.0)[0][0]
    # masks of the scale-invariant groups (hidden (W_l, b_l)) and the logits bias / weights
    tmpl = tr.unravel(jnp.zeros_like(theta0))
    L = len(tmpl.weights)

    def mask(fn):
        from jax.flatten_util import ravel_pytree
        return ravel_pytree(fn(tmpl))[0]

    def setter(which):
        def fn(t):
            w = [jnp.ones_like(a) if ("W", i) in which else a for i, a in enumerate(t.weights)]
            b = [jnp.ones_like(a) if ("b", i) in which else a for i, a in enumerate(t.biases)]
            return _replace(t, w, b)
        return fn

    def _replace(t, w, b):
        import equinox as eqx
        t = eqx.tree_at(lambda m: m.weights, t, w)
        return eqx.tree_at(lambda m: m.biases, t, b)

    groups = jnp.stack([mask(setter({("W", l), ("b", l)})) for l in range(L - 1)])  # (G, P)
    bmask = mask(setter({("b", L - 1)}))
    X, Y = tr.arrays["X"], tr.arrays["Y"]
    N, B = X.shape[0], min(int(p.batch), X.shape[0])
    eta, lam = float(p.lr), float(p.weight_decay)
    key = jax.random.PRNGKey(1000 + int(seed))

    @jax.jit
    def run(th):
        def step(th, t):
            idx = jax.random.choice(jax.random.fold_in(key, t), N, (B,), replace=False)
            g = jax.grad(lambda z: tr.loss_acc(z, X[idx], Y[idx])[0])(th)
            thA, gA = groups * th, groups * g
            rec = dict(sq=jnp.sum(thA ** 2, 1), gsq=jnp.sum(gA ** 2, 1),
                       cos=jnp.sum(thA * gA, 1) / jnp.sqrt(jnp.sum(thA ** 2, 1) * jnp.sum(gA ** 2, 1) + 1e-300),
                       bsum=jnp.sum(bmask * th), gbsum=jnp.sum(bmask * g))
            return th - eta * (g + lam * th), rec  # the optax sgd + add_decayed_weights update
        th, rec = jax.lax.scan(step, th, jnp.arange(int(p.steps)))
        last = dict(sq=jnp.sum((groups * th) ** 2, 1), bsum=jnp.sum(bmask * th))
        return rec, last

    rec, last = jax.device_get(run(theta0))
    sq = np.concatenate([rec["sq"], last["sq"][None]], 0)  # (K+1, G): |theta_A|^2 at steps 0..K
    gsq = rec["gsq"]  # (K, G)
    K = gsq.shape[0]
    disc = (1 - eta * lam) ** 2 * sq[:-1] + eta ** 2 * gsq
    disc_err = np.abs(sq[1:] - disc) / sq[1:]
    # modified gradient flow integral, t = eta k, left Riemann sum with d tau = eta
    t = eta * np.arange(K + 1)
    integ = np.zeros_like(sq)
    for k in range(1, K + 1):
        integ[k] = integ[k - 1] * np.exp(-2 * lam * eta) + eta * eta * gsq[k - 1] * np.exp(-2 * lam * eta)
    flow = np.exp(-2 * lam * t)[:, None] * sq[0] + integ
    flow_err = np.abs(flow - sq) / sq
    bs = np.concatenate([rec["bsum"], [last["bsum"]]])
    trans_pred = np.exp(-lam * t) * bs[0]
    trans_disc = (1 - eta * lam) ** np.arange(K + 1) * bs[0]
    return dict(seed=int(seed), lr=eta, weight_decay=lam, lambda_t=float(lam * t[-1]),
                max_abs_cos_g_theta=float(np.max(np.abs(rec["cos"]))),
                discrete_identity_max_rel=float(disc_err.max()),
                integral_law_max_rel=float(flow_err.max()), integral_law_final_rel=float(flow_err[-1].max()),
                gradient_flow_only_final_rel=float(np.max(np.abs(np.exp(-2 * lam * t[-1]) * sq[0] - sq[-1]) / sq[-1])),
                translation_max_abs_gsum=float(np.max(np.abs(rec["gbsum"]))),
                translation_exp_max_rel=float(np.max(np.abs(bs - trans_pred) / np.abs(trans_pred))),
                translation_discrete_max_rel=float(np.max(np.abs(bs - trans_disc) / np.abs(trans_disc))),
                series=dict(t=t, sqnorm=sq.T, flow=flow.T, disc_err=disc_err.T, bsum=bs, bsum_pred=trans_pred))


def run(p, seeds, store, log) -> StudyResult:
    """One item per seed; one row per conserved quantity (mean ± std over seeds). Needs float64."""
    import jax

    if not jax.config.jax_enable_x64:
        raise QShockInputError("the conservation study needs float64, which is off: call "
                               "jax.config.update('jax_enable_x64', True) first (the qshock CLI does)")
    items = []
    for s in seeds:
        items.append(store.item(f"seed{s}", dict(p.params(), seed=int(s)), lambda: _conservation_item(p, s)))
    keys = [("|cos(g_A, theta_A)| max", "max_abs_cos_g_theta"),
            ("discrete identity, max rel err", "discrete_identity_max_rel"),
            ("integral law (modified flow), max rel err", "integral_law_max_rel"),
            ("integral law, rel err at t_end", "integral_law_final_rel"),
            ("gradient flow e^{-2 lam t} only, rel err at t_end", "gradient_flow_only_final_rel"),
            ("1^T b: |1^T g| max", "translation_max_abs_gsum"),
            ("1^T b vs e^{-lam t}, max rel err", "translation_exp_max_rel"),
            ("1^T b vs (1-eta lam)^k, max rel err", "translation_discrete_max_rel")]
    rows = [{"quantity": label, "value": mean_std([d[k] for d in items])[:2],
             "_fmt": [label, fmt([d[k] for d in items])]} for label, k in keys]
    return StudyResult(["quantity", f"value (eta {p.lr:g}, lambda {p.weight_decay:g}, lambda t_end "
                        f"{items[0]['lambda_t']:.3g})"], rows, items)


def figures(run_dir: str, doc: dict, formats=("pdf", "png")) -> list:
    """Draw the three conservation figures from the results document ``doc``."""
    from qshock.experiments.lab.plotting import COLORS, figure, save

    items, stem = doc["items"], figure_stem(run_dir)
    written = []
    fig, ax = figure()
    fig2, ax2 = figure()
    fig3, ax3 = figure()
    for j, d in enumerate(items):
        s = d["series"]
        t = arr(s["t"])
        for g, (sq, fl, de) in enumerate(zip(s["sqnorm"], s["flow"], s["disc_err"])):
            col = COLORS[(g + 2 * j) % len(COLORS)]
            ax.plot(t, arr(sq), color=col, lw=1.2, label=f"‖θ_A‖² layer {g} (seed {d['seed']})")
            ax.plot(t, arr(fl), color=col, ls="--", lw=1, label="integral law" if g == 0 and j == 0 else None)
            ax2.semilogy(t[1:], np.maximum(arr(de), 1e-18), color=col, lw=0.6, label=f"layer {g} (seed {d['seed']})")
        ax3.plot(t, arr(s["bsum"]), color=COLORS[j % len(COLORS)], lw=1.2, label=f"1ᵀb measured (seed {d['seed']})")
        ax3.plot(t, arr(s["bsum_pred"]), color="k", ls="--", lw=0.8, label="e^{−λt} 1ᵀb(0)" if j == 0 else None)
    ax.set(xlabel="t = η k", ylabel="‖θ_A‖² (scale-invariant group)", title="measured (solid) vs integral law (dashed)")
    ax.legend(fontsize=6)
    ax2.set(xlabel="t = η k", ylabel="relative error of discrete identity")
    ax2.legend(fontsize=6)
    ax3.set(xlabel="t = η k", ylabel="1ᵀb (logits bias)")
    ax3.legend(fontsize=6)
    written += save(fig, stem("conservation_sqnorm"), formats)
    written += save(fig2, stem("conservation_residual"), formats)
    written += save(fig3, stem("conservation_translation"), formats)
    return written
