"""The training lab: offline data, equinox models, the optax trainer, Hessian–vector
sharpness, quotient observables, event detection and the run store.

Re-exports are lazy so that importing the command line does not import JAX models.
"""

__all__ = ["TrainConfig", "train", "load_dataset"]


def __getattr__(name):
    if name in ("TrainConfig", "train"):
        from . import training

        return getattr(training, name)
    if name == "load_dataset":
        from .data import load_dataset

        return load_dataset
    raise AttributeError(name)
