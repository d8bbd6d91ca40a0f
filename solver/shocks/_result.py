"""The result type shared by :func:`solver.shocks.predict` and :func:`solver.shocks.detect`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["ShockEstimate"]


@dataclass(frozen=True)
class ShockEstimate:
    """A first-shock (Burgers) or first-kink (HJ) time and place.

    Attributes:
        time: shock time; ``math.inf`` when none was found (prediction: no fold before the
            search horizon; detection: ``None`` is used instead when no shock formed before the
            last output, see :attr:`detected`).
        location: chart coordinates of the point where the shock forms (one float per axis),
            or ``None`` when there is no shock.
        uncertainty: half-width of the time band (sampling of the initial data, grid spacing,
            output interval, fit residual).
        location_uncertainty: half-width of the location band (per axis, the largest).
        method: the estimator that produced ``time`` (e.g. ``'flat-burgers'``, ``'jacobi-riccati'``,
            ``'gradient-fit'``, ``'smoothness-jump'``).
        details: estimator-specific diagnostics (plain Python values).
    """

    time: Optional[float]
    location: Optional[tuple[float, ...]]
    uncertainty: float
    method: str
    location_uncertainty: float = math.nan
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """True when a finite shock time was found."""
        return self.time is not None and math.isfinite(self.time)

    def to_json(self) -> dict:
        """``{"time", "location", "uncertainty"}`` with ``None`` for a missing shock (JSON-safe)."""
        if not self.found:
            return {"time": None, "location": None, "uncertainty": None}
        loc = None if self.location is None else [float(c) for c in self.location]
        unc = float(self.uncertainty) if math.isfinite(self.uncertainty) else None
        return {"time": float(self.time), "location": loc, "uncertainty": unc}
