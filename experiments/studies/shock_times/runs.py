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

__all__ = ["ARCHS", "train_group", "gauge", "group_config", "group_trainer", "lr_at"]

#: name -> model, data, trainer options, peak learning rates (full config; quick uses the first and
#: last) and the scale of the initial parameters (small init: plateau then sudden drop). The peak
#: rates are ≈ 1.5, 3 and 6 × 2/λ₀, λ₀ the median raw sharpness at initialisation of seeds 0-2 at
#: B = 64 (mlp-digits 5.6, cnn-digits 1.9, mlp-mnist1d 6.3, transformer-modadd 5.6,
#: meanfield-teacher 0.0024); under the linear warm-up of the study (η ramps from η/n to η over the
#: run) the edge ηλ = 2 is then crossed at different steps in different runs, or not at all.
#: tanh-teacher starts from a small initialisation (λ₀ ≈ 0; its events are plateau exits).
ARCHS = {
    "mlp-digits": dict(model="mlp", data="digits", width=32, depth=2, activation="relu", lrs=(0.5, 1.0, 2.0)),
    "cnn-digits": dict(model="cnn", data="digits", width=8, depth=2, activation="relu", lrs=(1.5, 3.0, 6.0)),
    "mlp-mnist1d": dict(model="mlp", data="mnist1d", width=32, depth=2, activation="relu", lrs=(0.5, 1.0, 2.0)),
    "transformer-modadd": dict(model="transformer", data="sequence", width=16, depth=2, activation="relu",
                               lrs=(0.5, 1.0, 2.0)),
    "meanfield-teacher": dict(model="meanfield", data="teacher", width=256, depth=2, activation="relu",
                              lrs=(1250.0, 2500.0, 5000.0)),
    "tanh-teacher": dict(model="mlp", data="teacher", width=16, depth=2, activation="tanh",
                         lrs=(0.5, 1.0, 2.0), init_scale=0.1),
}


def group_config(arch: str, batch: int, every: int, lanczos_iters: int = 10, eval_batch: int = 512):
    """The validated lab ``TrainConfig`` of ``arch`` at batch size ``batch`` (the trainer's own checks,
    e.g. ``batch`` ≤ the training-set size, run here; no trainer is built)."""
    from qshock.experiments.lab.data import load_dataset
    from qshock.experiments.lab.training import TrainConfig

    if arch not in ARCHS:
        raise QShockInputError(f"--config: unknown architecture {arch!r}; expected one of {', '.join(ARCHS)}")
    a = ARCHS[arch]
    cfg = TrainConfig(model=a["model"], data=a["data"], lr=1.0, steps=int(every), sharpness_every=int(every),
                      batch=int(batch), width=a["width"],
                      depth=a["depth"], activation=a["activation"], n_eigs=1, lanczos_iters=lanczos_iters,
                      sharpness_batch=eval_batch, quotient_sharpness=False, seeds=(0,))
    return cfg.validate(load_dataset(a["data"]).n_train)


def group_trainer(arch: str, batch: int, every: int, lanczos_iters: int = 10, eval_batch: int = 512):
    """The (cached) lab trainer of ``arch`` at batch size ``batch``; one ``run_chunk`` = ``every`` steps."""
    from qshock.experiments.lab.training import get_trainer

    return get_trainer(group_config(arch, batch, every, lanczos_iters, eval_batch))


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


def lr_at(lr: float, step, every: int, warmup: int = 0):
    r"""The learning rate used from ``step`` on (linear warm-up by chunks):
    η_k = η·min(1, (⌊k/every⌋ + 1)·every/warmup), constant η when ``warmup`` = 0. A function of
    the step only (not of the run length), so a longer run extends a shorter one exactly."""
    k = np.asarray(step)
    if not warmup:
        return np.full(k.shape, float(lr)) if k.ndim else float(lr)
    f = np.minimum(1.0, (k // every + 1) * every / float(warmup))
    return lr * f if k.ndim else float(lr * f)


def train_group(tr, combos, steps: int, every: int, init_scale: float = 1.0, lanczos_iters: int = 10,
                warmup: int = 0) -> dict:
    """Train every (lr, alpha, seed) of ``combos`` together for ``steps`` steps, the learning rate
    of a row following :func:`lr_at` (chunk by chunk; ``warmup`` = 0: constant).

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
    lr_max = np.asarray([c[0] for c in combos], float)
    for t in range(0, steps, every):
        if warmup:
            lr_t = jnp.asarray(lr_at(lr_max, np.full(len(combos), t), every, warmup))
            hp = dict(opt.hyperparams)
            hp["learning_rate"] = lr_t.astype(hp["learning_rate"].dtype).reshape(hp["learning_rate"].shape)
            opt = opt._replace(hyperparams=hp)
        theta, opt, m = tr.run_chunk(theta, opt, vtop, seeds, t)
        loss.append(np.asarray(m["loss"]))
        proj.append(np.asarray(m["update_proj"]))
        lam, vtop = top(theta, seeds, t + every)
        thetas.append(np.asarray(theta))
        sharp.append(np.asarray(lam))
    return {"thetas": np.stack(thetas), "ck_steps": np.arange(0, steps + 1, every),
            "loss": np.concatenate(loss, axis=1), "update_proj": np.concatenate(proj, axis=1),
            "sharpness": np.stack(sharp, axis=1)}
