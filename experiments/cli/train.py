"""`qshock train`: argument parsing and entry point (the lead's ``qshock.experiments.cli.main`` mounts it).

    qshock train --model {mlp,cnn,transformer,meanfield} --data {digits,mnist1d,teacher,sequence}
                 [--optimizer sgd|momentum|adam] --lr LR --batch B [--weight-decay WD]
                 --steps K [--seed S | --seeds K] --out DIR [--resume]

``--seeds K`` trains seeds 0..K-1 together (vmapped). Also runnable as
``python -m qshock.experiments.cli.train ...`` (exit 2 with one line on bad input).
"""

from __future__ import annotations

import argparse
import sys

from qshock.errors import BlowUpError, QShockInputError

__all__ = ["add_arguments", "run", "config_from_args", "check_run_dir", "first_nonfinite", "main", "MAX_STEPS"]

#: default bound of --steps (K seeds x steps x ~6 per-step metrics are held in memory)
MAX_STEPS = 1_000_000
#: largest --seed (jax.random.PRNGKey takes a 32-bit integer)
MAX_SEED = 2**31 - 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``qshock train`` flags to ``parser``."""
    p = parser
    p.add_argument("--model", required=True, help="mlp, cnn, transformer or meanfield")
    p.add_argument("--data", required=True, help="digits, mnist1d, teacher or sequence")
    p.add_argument("--optimizer", default="sgd", help="sgd (default), momentum or adam")
    p.add_argument("--lr", type=float, required=True, help="learning rate eta > 0")
    p.add_argument("--batch", type=int, default=None, help="mini-batch size (required unless --full-batch)")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay lambda >= 0 (AdamW for adam)")
    p.add_argument("--steps", type=int, required=True, help="number of optimisation steps K > 0")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--seed", type=int, default=None, help="single seed (default 0)")
    g.add_argument("--seeds", type=int, default=None, help="train seeds 0..K-1 together (vmapped)")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint in --out")
    # extras
    p.add_argument("--momentum", type=float, default=0.9, help="heavy-ball beta for --optimizer momentum")
    p.add_argument("--full-batch", action="store_true", help="full-batch gradient descent")
    p.add_argument("--sharpness-every", type=int, default=0,
                   help="observation interval (sharpness, quotient observables); must divide --steps")
    p.add_argument("--eval-every", type=int, default=None, help="alias of --sharpness-every")
    p.add_argument("--checkpoint-every", type=int, default=0, help="checkpoint interval (multiple of --sharpness-every)")
    p.add_argument("--lanczos-iters", type=int, default=20, help="Lanczos iterations for sharpness")
    p.add_argument("--n-eigs", type=int, default=3, help="number of top Hessian eigenvalues logged")
    p.add_argument("--no-quotient-sharpness", action="store_true", help="skip the quotient sharpness")
    p.add_argument("--width", type=int, default=None, help="hidden width / channels / d_model / particles")
    p.add_argument("--depth", type=int, default=2, help="hidden layers (mlp); transformer blocks = depth - 1")
    p.add_argument("--activation", default="relu", help="relu or tanh (mlp, meanfield)")
    p.add_argument("--norm", action="store_true", help="mlp: layer norm after each hidden layer (scale symmetry)")
    p.add_argument("--heads", type=int, default=2, help="transformer attention heads")
    p.add_argument("--dtype", default="float32", help="float32 (default) or float64")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("--max-steps", dest="max_steps", type=int, default=MAX_STEPS,
                   help=f"refuse --steps above this (default {MAX_STEPS}; per-step metrics are kept in memory)")
    p.add_argument("--monitor", action="store_true",
                   help="forecast instabilities as the run goes (warnings; observations.jsonl, forecasts.nc)")
    p.add_argument("--allow-nonfinite", dest="allow_nonfinite", action="store_true",
                   help="exit 0 even when the loss became NaN/inf (default: exit 3 naming the step)")


def config_from_args(args):
    """TrainConfig from parsed arguments (raises QShockInputError on bad values)."""
    from qshock.experiments.lab.training import TrainConfig

    if args.batch is None and not args.full_batch:
        raise QShockInputError("--batch is required (or use --full-batch)")
    max_steps = getattr(args, "max_steps", MAX_STEPS)
    if args.steps > max_steps:
        raise QShockInputError(f"--steps {args.steps} is more than --max-steps {max_steps} (per-step metrics need "
                               f"about {args.steps * 6 * 120 / 1e9:.3g} GB per seed); raise --max-steps to allow it")
    if args.seeds is not None:
        if args.seeds < 1:
            raise QShockInputError(f"--seeds must be >= 1, got {args.seeds}")
        seeds = tuple(range(args.seeds))
    else:
        seeds = (0 if args.seed is None else args.seed,)
    if not 0 <= max(seeds) <= MAX_SEED:  # PRNG keys take 32-bit seeds
        raise QShockInputError(f"--seed must be an integer in [0, {MAX_SEED}], got {max(seeds)}")
    for flag, value in (("--depth", args.depth), ("--heads", args.heads)):
        if value < 1:
            raise QShockInputError(f"{flag} must be >= 1, got {value}")
    every = args.sharpness_every
    if args.eval_every is not None:
        if every and every != args.eval_every:
            raise QShockInputError("--eval-every and --sharpness-every disagree; give one of them")
        every = args.eval_every
    return TrainConfig(model=args.model, data=args.data, optimizer=args.optimizer, lr=args.lr,
                       batch=args.batch if args.batch is not None else 1, weight_decay=args.weight_decay,
                       momentum=args.momentum, steps=args.steps, seeds=seeds, full_batch=args.full_batch,
                       sharpness_every=every, checkpoint_every=args.checkpoint_every,
                       lanczos_iters=args.lanczos_iters, n_eigs=args.n_eigs,
                       quotient_sharpness=not args.no_quotient_sharpness, width=args.width, depth=args.depth,
                       activation=args.activation, norm=args.norm, heads=args.heads, dtype=args.dtype)


def run(args) -> int:
    """Train as requested by ``args``; returns 0. Bad input raises QShockInputError.

    ``--dtype float64`` needs JAX float64, which the ``qshock`` entry point enables.
    """
    from qshock.experiments.cli.guard import check_output_dir
    from qshock.experiments.lab.runstore import track_output
    from qshock.experiments.lab.training import train

    check_output_dir(args.out, "--out")
    check_run_dir(args.out, args.resume)
    if args.resume and not args.sharpness_every and args.eval_every is None:  # keep the run's interval
        from qshock.experiments.lab.runstore import RunStore

        args.sharpness_every = int(RunStore(args.out).read_config()["config"].get("sharpness_every") or 0)
    cfg = config_from_args(args)
    track_output(args.out)
    hook = None
    if getattr(args, "monitor", False):  # the monitor reads the trainer's own observations (qshock monitor)
        import dataclasses

        from qshock.experiments.lab.data import load_dataset
        from qshock.experiments.lab.training import get_trainer
        from qshock.experiments.monitor.runlog import LabMonitor

        cfg = dataclasses.replace(cfg, log_groups=True, quotient_sharpness=True)
        cfg.validate()  # bad flags: one line before the data are loaded
        full = cfg.validate(load_dataset(cfg.data, cfg.data_seed).n_train)  # as train() resolves it
        hook = LabMonitor(full, get_trainer(full), args.out, emit=lambda line: print(f"qshock train: {line}", flush=True))
    res = train(cfg, out=args.out, resume=args.resume, quiet=args.quiet, argv=getattr(args, "command_line", sys.argv),
                on_observe=hook)
    if hook is not None:
        hook.finish()
    if not args.quiet:
        last = {k: v[:, -1] for k, v in res.obs.items() if v.ndim == 2}
        for i, s in enumerate(res.config.seeds):
            line = (f"seed {s}: step {res.config.steps}  train_loss {last['train_loss'][i]:.4g}  "
                    f"test_acc {last['test_accuracy'][i]:.4g}  sharpness {res.obs['sharpness'][i, -1, 0]:.4g}")
            if "quotient_sharpness" in last:
                line += f"  quotient_sharpness {last['quotient_sharpness'][i]:.4g}"
            print(line)
        print(f"{len(res.events)} events; {res.steps_per_second:.1f} steps/s; run directory {args.out}")
    bad = first_nonfinite(res)
    if bad and not getattr(args, "allow_nonfinite", False):
        seed, step = bad
        raise TrainingDiverged(f"training diverged: seed {seed} has a non-finite loss from step {step} "
                               f"(--lr {cfg.lr:g}); metrics are in {args.out}; pass --allow-nonfinite to accept "
                               "such a run", step)
    return 0


class TrainingDiverged(BlowUpError):
    """Non-finite training loss: a :class:`BlowUpError` (exit 3 through the CLI) naming the step."""

    def __init__(self, message: str, step: int):
        self.time, self.location, self.step = float("nan"), (), int(step)
        FloatingPointError.__init__(self, message)


def first_nonfinite(res):
    """``(seed, step)`` of the first non-finite mini-batch loss of any seed, or None."""
    import numpy as np

    loss = np.asarray(res.step_metrics["loss"])
    bad = ~np.isfinite(loss)
    if not bad.any():
        return None
    steps = np.where(bad.any(axis=1), bad.argmax(axis=1), loss.shape[1])
    i = int(np.argmin(steps))
    return int(res.config.seeds[i]), int(steps[i])


def check_run_dir(out: str, resume: bool) -> None:
    """``--out`` holding a run needs ``--resume``; ``--resume`` needs a run there (exit 2 otherwise)."""
    import os

    has_run = os.path.isfile(os.path.join(out, "config.json"))
    if resume and not has_run:
        raise QShockInputError(f"--resume: {out} holds no run (no config.json); drop --resume to start one")
    if not resume and has_run:
        raise QShockInputError(f"--out {out} already holds a run; add --resume to continue it, "
                               "or choose another directory")
    if not resume and os.path.isdir(out) and os.listdir(out):
        raise QShockInputError(f"--out {out} is a non-empty directory that holds no run; choose another directory")


def main(argv=None) -> int:
    """Stand-alone entry ``python -m qshock.experiments.cli.train ...``: the same as ``qshock train ...``
    (one entry point: float64, interrupts and error reporting are the command line's)."""
    from qshock.experiments.cli.main import main as qshock_main

    return qshock_main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
