"""Training-lab throughput: optimisation steps per second per model, one seed vs 8 vmapped seeds.

``run(report)`` calls ``report(row)`` once per (model, seeds) with the columns
``table, model, data, params, seeds, steps_per_s, seed_steps_per_s, compile_s``:
``steps_per_s`` counts steps of the whole (vmapped) state, ``seed_steps_per_s = seeds x steps_per_s``
is the per-seed throughput. Only the jitted ``lax.scan`` chunk of 50 SGD steps is timed (mini-batch
32, float32, no observations), best of 3 chunks after a warm-up; ``compile_s`` is the first call.
Observation cost (Lanczos sharpness, quotient sharpness) is not included. Runs in < 2 min on 2 cores.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp

from qshock.experiments.lab.training import TrainConfig, get_trainer

CASES = (("mlp", "digits"), ("cnn", "mnist1d"), ("transformer", "sequence"), ("meanfield", "teacher"))
CHUNK = 50


def run(report, cases=CASES, seed_counts=(1, 8), repeats=3):
    """Measure and ``report`` steps/s for each model and seed count (see module docstring)."""
    for model, data in cases:
        for S in seed_counts:
            cfg = TrainConfig(model=model, data=data, lr=0.05, batch=32, steps=CHUNK, sharpness_every=CHUNK,
                              dtype="float32").validate(10**9)
            tr = get_trainer(cfg)
            seeds = jnp.arange(S, dtype=jnp.int32)
            th, st, v = tr.init(seeds, 0.05, 0.0, 0.9)
            t0 = time.perf_counter()
            out = tr.run_chunk(th, st, v, seeds, 0)
            jax.block_until_ready(out)
            compile_s = time.perf_counter() - t0
            best = float("inf")
            for r in range(repeats):
                t0 = time.perf_counter()
                out = tr.run_chunk(out[0], out[1], v, seeds, (r + 1) * CHUNK)
                jax.block_until_ready(out)
                best = min(best, time.perf_counter() - t0)
            sps = CHUNK / best
            report({"table": "training throughput (SGD, batch 32, float32)", "model": model, "data": data,
                    "params": tr.n_params, "seeds": S, "steps_per_s": sps, "seed_steps_per_s": S * sps,
                    "compile_s": compile_s})


if __name__ == "__main__":
    run(lambda row: print(row, flush=True))
