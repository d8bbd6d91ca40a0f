"""ShockMonitor in a user's own Equinox training loop (docs/guide/monitor.md).

A small MLP whose hidden layer feeds a LayerNorm (so its weights are scale invariant), trained
with full-batch SGD + weight decay on synthetic blobs: the weight norm shrinks, the effective step
η/‖w‖² grows, and the monitor forecasts when η_eff·λ_q reaches the edge 2.

    python examples/monitor_equinox_mlp.py [--out docs/data/monitor/example.txt]
"""

import argparse
import io
import os
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from qshock.experiments.monitor import Scale, ShockMonitor, Translation


class MLP(eqx.Module):
    hidden: eqx.nn.Linear
    norm: eqx.nn.LayerNorm
    out: eqx.nn.Linear

    def __init__(self, key, d=8, h=16, c=3):
        k1, k2 = jax.random.split(key)
        self.hidden = eqx.nn.Linear(d, h, key=k1)
        self.norm = eqx.nn.LayerNorm(h, use_weight=False, use_bias=False)
        self.out = eqx.nn.Linear(h, c, key=k2)

    def __call__(self, x):
        return self.out(jax.nn.relu(self.norm(self.hidden(x))))


def main(out=None, steps=1200):
    kx, ky, km = jax.random.split(jax.random.PRNGKey(0), 3)
    y = jax.random.randint(ky, (256,), 0, 3)
    x = jax.random.normal(kx, (256, 8)) + 2.0 * jax.nn.one_hot(y, 8)
    model = MLP(km)
    # --- the monitor in 20 lines -------------------------------------------------------------
    def loss_fn(model, batch):
        xb, yb = batch
        logits = jax.vmap(model)(xb)
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(yb)), yb])

    opt = optax.inject_hyperparams(lambda learning_rate, weight_decay: optax.chain(
        optax.add_decayed_weights(weight_decay), optax.sgd(learning_rate)))(learning_rate=0.5, weight_decay=0.01)
    state = opt.init(eqx.filter(model, eqx.is_array))
    monitor = ShockMonitor(loss_fn, model, symmetries=[
        Scale(("hidden.weight", "hidden.bias")),         # feeds the LayerNorm: scale invariant
        Translation("out.weight", "out.bias", axis=0),   # softmax logits: translation invariant
    ], every=50)

    @eqx.filter_jit
    def step(model, state):
        g = eqx.filter_grad(loss_fn)(model, (x, y))
        u, state = opt.update(g, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, u), state

    for k in range(steps):
        fc = monitor.update(k, model, (x, y), state)   # a Forecast every 50 steps, else None
        if fc is not None:
            print(f"step {k:5d} loss {fc.loss:.4f} η_eff·λ_q {fc.ratio:.3f} -> next instability "
                  f"{fc.predicted_step:.0f} ± {fc.uncertainty:.0f} ({fc.source})" + ("  WARNING" if fc.warning else ""))
        model, state = step(model, state)
    # ------------------------------------------------------------------------------------------
    return monitor


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="also write the printed lines to this file (docs data)")
    ap.add_argument("--steps", type=int, default=1200)
    a = ap.parse_args()
    buf, real = io.StringIO(), sys.stdout
    sys.stdout = type("Tee", (), {"write": lambda s, t: (buf.write(t), real.write(t))[1],
                                  "flush": lambda s: real.flush()})()
    try:
        main(steps=a.steps)
    finally:
        sys.stdout = real
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(buf.getvalue())
