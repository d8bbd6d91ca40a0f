"""qshock: viscous Hamilton–Jacobi and Burgers equations on quotient manifolds of
neural-network parameter spaces, and shock-like events in SGD training.

Subpackages (dependencies point one way, ``experiments -> solver -> manifolds``):

- :mod:`qshock.manifolds`: manifolds, charts and the quotients of network symmetries;
- :mod:`qshock.solver`: the PDE engine (finite volume, spectral, shocks, exact solutions);
- :mod:`qshock.experiments`: the training lab, the studies, ``verify`` and the command line.

:mod:`qshock.errors` holds the exceptions that every subpackage raises.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
