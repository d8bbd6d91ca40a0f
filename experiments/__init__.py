"""qshock.experiments: the training lab, the studies, ``verify`` and the ``qshock`` command line.

Subpackages, each along one seam:

- :mod:`qshock.experiments.lab`: real SGD training (data, models, trainer, sharpness,
  quotient observables, events, run store);
- :mod:`qshock.experiments.studies`: one module per study, a shared item store and driver;
- :mod:`qshock.experiments.verify`: the theorem and convergence table;
- :mod:`qshock.experiments.cli`: the ``qshock`` commands and problem building.

``TrainConfig``, ``train`` and ``load_dataset`` are re-exported lazily (importing the CLI
must not import JAX models).
"""

from qshock import __version__

__all__ = ["__version__", "TrainConfig", "train", "load_dataset"]


def __getattr__(name):
    if name in ("TrainConfig", "train", "load_dataset"):
        from qshock.experiments import lab

        return getattr(lab, name)
    raise AttributeError(name)
