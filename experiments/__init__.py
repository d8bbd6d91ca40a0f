"""qshock.experiments: the `qshock` CLI, SGD training with quotient observables, studies."""

__version__ = "0.1.0"

__all__ = ["__version__"]
