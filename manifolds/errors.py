"""The manifolds' exception: re-exported from :mod:`qshock.errors` (one error module for all packages)."""

from qshock.errors import ManifoldError

__all__ = ["ManifoldError"]
