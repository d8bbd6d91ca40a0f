"""Training groups of the shock-times study through the lab trainer, with kept checkpoints.

A *group* is one (architecture, batch size B): every (η, α, seed) combination of the group is
one row of a single vmapped state of the lab's :class:`~qshock.experiments.lab.training.Trainer`
(the optimiser state carries η per row), so a group costs one compilation. Every ``every``
steps the parameters of all rows are kept (the checkpoints the charts are built from), and the
top Hessian eigenpair of the evaluation loss is measured by Lanczos (raw sharpness; its vector
feeds the trainer's ``update_proj``, the input of the oscillation detector).

Gauge (α ≠ 1), applied to θ₀ before training (same function, another parametrisation):
MLP: the first hidden layer's ReLU rescaling (W₀, b₀) ↦ α(W₀, b₀), W₁ ↦ W₁/α;
Transformer: W_Q ↦ αW_Q, W_K ↦ W_K/α in every head of the first block (A = αI ∈ GL(d_h)).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from qshock.errors import QShockInputError

__all__ = ["ARCHS", "train_group", "gauge", "group_trainer"]

#: name -> model, data, trainer options, learning rates (full config; quick uses the first and last),
#: and the scale of the initial parameters (small init: plateau then sudden drop)
ARCHS = {
    "mlp-digits": dict(model="mlp", data="digits", width=32, depth=2, activation="relu", lrs=(0.2, 0.5, 1.0)),
    "cnn-digits": dict(model="cnn", data="digits", width=8, depth=2, activation="relu", lrs=(0.2, 0.5, 1.0)),
    "mlp-mnist1d": dict(model="mlp", data="mnist1d", width=32, depth=2, activation="relu", lrs=(0.2, 0.5, 1.0)),
    "transformer-modadd": dict(model="transformer", data="sequence", width=16, depth=2, activation="relu",
                               lrs=(0.2, 0.5, 1.0)),
    "meanfield-teacher": dict(model="meanfield", data="teacher", width=256, depth=2, activation="relu",
                              lrs=(50.0, 150.0, 300.0)),
    "tanh-teacher": dict(model="mlp", data="teacher", width=16, depth=2, activation="tanh",
                         lrs=(0.25, 0.5, 1.0), init_scale=0.1),
}


def group_trainer(arch: str, batch: int, every: int, lanczos_iters: int = 10, eval_batch: int = 512):
    """The (cached) lab trainer of ``arch`` at batch size ``batch``; one ``run_chunk`` = ``every`` steps."""
    from qshock.experiments.lab.training import TrainConfig, get_trainer

    if arch not in ARCHS:
        raise QShockInputError(f"--config: unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
    a = ARCHS[arch]
    cfg = TrainConfig(model=a["model"], data=a["data"], lr=1.0, steps=int(every), sharpness_every=int(every),
                      batch=int(batch), width=a["width"],
                      depth=a["depth"], activation=a["activation"], n_eigs=1, lanczos_iters=lanczos_iters,
                      sharpness_batch=eval_batch, quotient_sharpness=False, seeds=(0,))
    from qshock.experiments.lab.data import load_dataset

    cfg = cfg.validate(load_dataset(a["data"]).n_train)
    return get_trainer(cfg)


def gauge(tr, theta, alpha: float):
    """θ under the rescaled parametrisation of module docstring (α = 1: unchanged)."""
    if alpha == 1.0:
        return theta
    from qshock.experiments.lab.models import MLP, Transformer
    from qshock.experiments.lab.observables import ravel_model

    m = tr.model_of(theta)
    if isinstance(m, MLP):
        m = eqx.tree_at(lambda t: (t.weights[0], t.biases[0], t.weights[1]), m,
                        (alpha * m.weights[0], alpha * m.biases[0], m.weights[1] / alpha))
    elif isinstance(m, Transformer):
        b = m.blocks[0]
        m = eqx.tree_at(lambda t: (t.blocks[0].W_Q, t.blocks[0].W_K), m, (alpha * b.W_Q, b.W_K / alpha))
    else:
        raise QShockInputError(f"gauge: no rescaling registered for {type(m).__name__}")
    return ravel_model(m).astype(theta.dtype)


def _top_fn(tr, iters):
    from qshock.experiments.lab.sharpness import sharpness

    Xs, Ys = tr.arrays["Xs"], tr.arrays["Ys"]

    def one(theta, seed, t):
        f = lambda p: tr.loss_acc(p, Xs, Ys)[0]  # noqa: E731
        e, v = sharpness(f, theta, jax.random.fold_in(jax.random.PRNGKey(seed + 7919), t), iters, 1)
        return e[0], v

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def train_group(tr, combos, steps: int, every: int, init_scale: float = 1.0, lanczos_iters: int = 10) -> dict:
    """Train every (lr, alpha, seed) of ``combos`` together for ``steps`` steps.

    Returns host arrays: ``thetas`` (n_ck, C, P) at ``ck_steps`` = 0, every, …, steps; per step
    ``loss`` and ``update_proj`` (C, steps); raw ``sharpness`` (C, n_ck). The randomness of a
    row is a function of (seed, step) only, so a longer run extends a shorter one exactly.
    """
    if steps % every:
        raise QShockInputError(f"--config: steps {steps} must be a multiple of every {every}")
    parts, seeds = [], []
    for lr, alpha, seed in combos:
        th, st, vt = tr.init(jnp.asarray([seed], jnp.int32), lr, 0.0, 0.0)
        th = gauge(tr, th[0] * init_scale, alpha)[None]
        parts.append((th, st, vt))
        seeds.append(seed)
    theta, opt, vtop = jax.tree.map(lambda *a: jnp.concatenate(a), *parts)
    seeds = jnp.asarray(seeds, jnp.int32)
    top = _top_fn(tr, lanczos_iters)
    lam, vtop = top(theta, seeds, 0)
    thetas, sharp, loss, proj = [np.asarray(theta)], [np.asarray(lam)], [], []
    if tr.cfg.sharpness_every != every:
        raise QShockInputError(f"train_group: the trainer runs chunks of {tr.cfg.sharpness_every} steps, not {every}")
    for t in range(0, steps, every):
        theta, opt, m = tr.run_chunk(theta, opt, vtop, seeds, t)
        loss.append(np.asarray(m["loss"]))
        proj.append(np.asarray(m["update_proj"]))
        lam, vtop = top(theta, seeds, t + every)
        thetas.append(np.asarray(theta))
        sharp.append(np.asarray(lam))
    return {"thetas": np.stack(thetas), "ck_steps": np.arange(0, steps + 1, every),
            "loss": np.concatenate(loss, axis=1), "update_proj": np.concatenate(proj, axis=1),
            "sharpness": np.stack(sharp, axis=1)}
