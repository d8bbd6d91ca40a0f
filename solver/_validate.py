"""Small validators shared by the solvers (messages name the argument)."""

from __future__ import annotations

import math

from .errors import QShockInputError

__all__ = ["nonnegative", "final_time", "viscosity"]


def nonnegative(value, name: str) -> float:
    """``value`` as a finite float ``>= 0``, or :class:`QShockInputError` naming ``name``."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise QShockInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value < 0:
        raise QShockInputError(f"{name} must be finite and >= 0, got {value}")
    return value


def final_time(t1, name: str = "t1") -> float:
    """A final time: finite and ``>= 0``."""
    return nonnegative(t1, name)


def viscosity(nu) -> float:
    """A viscosity ν: finite and ``>= 0``."""
    return nonnegative(nu, "viscosity nu")
