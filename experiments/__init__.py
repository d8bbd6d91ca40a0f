"""qshock.experiments: the `qshock` CLI, SGD training with quotient observables, studies.

Training (``experiments.training``): :class:`TrainConfig` and :func:`train`; offline data through
:func:`load_dataset`. The CLI lives in :mod:`experiments.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "TrainConfig", "train", "load_dataset"]


def __getattr__(name):  # lazy: importing the CLI must not import JAX models
    if name in ("TrainConfig", "train"):
        from . import training

        return getattr(training, name)
    if name == "load_dataset":
        from .data import load_dataset

        return load_dataset
    raise AttributeError(name)
