"""Errors raised by :mod:`manifolds`.

:class:`ManifoldError` is a ``ValueError`` so that the CLI (which catches ``ValueError`` for
bad input) reports it as a user error; ``manifolds`` does not import ``solver`` (dependencies
point experiments -> solver -> manifolds).
"""

from __future__ import annotations

__all__ = ["ManifoldError"]


class ManifoldError(ValueError):
    """Bad geometric input: the message names the manifold, chart, coordinates and domain."""
