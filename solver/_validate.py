"""Small validators shared by the solvers (messages name the argument)."""

from __future__ import annotations

import math

from .errors import QShockInputError

__all__ = ["final_time"]


def final_time(t1, name: str = "t1") -> float:
    """``t1`` as a finite float ``>= 0``, or :class:`QShockInputError` naming it."""
    try:
        t1 = float(t1)
    except (TypeError, ValueError):
        raise QShockInputError(f"{name} must be a number, got {t1!r}") from None
    if not math.isfinite(t1) or t1 < 0:
        raise QShockInputError(f"{name} must be finite and >= 0, got {t1}")
    return t1
