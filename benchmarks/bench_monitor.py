"""Overhead of ``ShockMonitor`` at its default cadence on the lab's models (same-run ratio).

For each model: ``t_train`` = wall time of ``every`` optimisation steps (the default cadence,
500 (1 + number of scale groups)) (the trainer's jitted
``run_chunk``, one seed, mini-batch 64, float32, no observations) and ``t_monitor`` = wall time of
one ``ShockMonitor.update`` at an observation step (gradient, quotient-sharpness Lanczos with the
symmetries given by paths, per-group sphere sharpness, forecast) on the same mini-batch; best of
3 after a warm-up. ``overhead = t_monitor / t_train`` is the fraction of training time the
monitor adds at cadence ``every`` (target ≤ 10 %). Times on a shared machine are pessimistic;
the ratio is measured in one run.
"""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from qshock.experiments.lab.training import TrainConfig, get_trainer
from qshock.experiments.monitor import ShockMonitor, Rescale, Scale, Translation

EVERY = None  # the monitor's default cadence: 500 (1 + number of scale groups)
ITERS = 10  # its default Lanczos iterations


def _symmetries(model, norm, n_hidden):
    """The lab's symmetries of ``model`` as parameter paths (``n_hidden`` layers / conv blocks)."""
    if model == "cnn":
        return [Translation("W_out", "b_out")] + [Scale((f"kernels.{i}", f"biases.{i}")) for i in range(n_hidden)]
    syms = [Translation(f"weights.{n_hidden}", f"biases.{n_hidden}")]
    if norm:
        return syms + [Scale((f"weights.{i}", f"biases.{i}")) for i in range(n_hidden)]
    return syms + [Rescale((f"weights.{i}", f"biases.{i}"), (f"weights.{i + 1}",)) for i in range(n_hidden)]


CASES = (("mlp", "digits", False), ("mlp", "digits", True), ("cnn", "mnist1d", True))


def _best(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def run(report, cases=CASES, every=EVERY, repeats=3):
    """Measure and ``report`` the monitor overhead per model (module docstring)."""
    for model, data, norm in cases:
        probe = get_trainer(TrainConfig(model=model, data=data, lr=0.05, batch=64, steps=1, norm=norm,
                                        dtype="float32").validate(10 ** 9))
        m0 = probe.model_of(probe.init(jnp.zeros(1, jnp.int32), 0.05, 0.0, 0.9)[0][0])
        paths = _symmetries(model, norm, len(m0.kernels) if model == "cnn" else len(m0.weights) - 1)
        n_scale = sum(isinstance(s, Scale) for s in paths)
        ev = every or 500 * (1 + n_scale)
        cfg = TrainConfig(model=model, data=data, lr=0.05, batch=64, steps=ev, sharpness_every=ev, norm=norm,
                          dtype="float32").validate(10 ** 9)
        tr = get_trainer(cfg)
        seeds = jnp.zeros(1, jnp.int32)
        th, st, v = tr.init(seeds, 0.05, 0.0, 0.9)
        jax.block_until_ready(tr.run_chunk(th, st, v, seeds, 0))
        t_train = _best(lambda: tr.run_chunk(th, st, v, seeds, ev), repeats)
        xb, yb = tr.arrays["X"][:64], tr.arrays["Y"][:64]
        params = eqx.filter(tr.model_of(th[0]), eqx.is_array)
        mon = ShockMonitor(lambda p, b: tr.loss_acc(ravel_pytree(p)[0], *b)[0], params, paths, every=every, lr=0.05,
                           lanczos_iters=ITERS)
        assert mon.every == ev
        mon.update(0, params, (xb, yb))
        k = [0]

        def one():
            k[0] += ev
            return jnp.asarray(mon.update(k[0], params, (xb, yb)).ratio)
        t_mon = _best(one, repeats)
        report({"table": f"monitor overhead (default cadence, Lanczos {ITERS}, batch 64, float32)",
                "model": model + ("+norm" if norm else ""), "data": data, "params": tr.n_params, "every": ev,
                "t_train_s": t_train, "t_monitor_s": t_mon, "overhead": t_mon / t_train})


def markdown(rows) -> str:
    """The rows as the markdown table of docs/guide/monitor.md."""
    lines = [f"Measured by `python -m benchmarks.bench_monitor --md docs/data/monitor/bench.md` "
             f"({rows[0]['table']}; 2 shared cores, times pessimistic, ratios from one run):", "",
             "| model | data | parameters | every (steps) | training, `every` steps (s) | one observation (s) | overhead |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['data']} | {r['params']} | {r['every']} | {r['t_train_s']:.3g} | "
                     f"{r['t_monitor_s']:.3g} | "
                     f"{100 * r['overhead']:.1f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import argparse

    import jax

    jax.config.update("jax_enable_x64", True)  # as benchmarks/run.py
    ap = argparse.ArgumentParser()
    ap.add_argument("--md", help="also write the markdown table here")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rows = []
    run(lambda row: (rows.append(row), print(row, flush=True)), repeats=a.repeats)
    if a.md:
        with open(a.md, "w") as f:
            f.write(markdown(rows))
