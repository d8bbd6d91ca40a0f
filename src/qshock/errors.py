"""Exceptions raised by every qshock package.

Every error that a user can trigger with bad input is a :class:`QShockInputError`
(a ``ValueError``); the CLI turns it into exit code 2 and one line on stderr.
Bad geometric input is the subclass :class:`ManifoldError`.
A numerical blow-up is a :class:`BlowUpError` carrying the time and place.
"""

from __future__ import annotations

__all__ = ["QShockInputError", "ManifoldError", "BlowUpError", "CFLError"]


class QShockInputError(ValueError):
    """Bad input: the message names the offending argument and what was expected."""


class ManifoldError(QShockInputError):
    """Bad geometric input: the message names the manifold, chart, coordinates and domain."""


class CFLError(QShockInputError):
    """A CFL number outside the stable range of the chosen scheme."""


class BlowUpError(FloatingPointError):
    """The numerical solution became non-finite.

    Attributes:
        time: simulation time of the last finite state before the blow-up.
        location: coordinates (one float per axis) of the first non-finite cell.
        step: number of completed time steps.
    """

    def __init__(self, time: float, location: tuple[float, ...], step: int, detail: str = ""):
        self.time = float(time)
        self.location = tuple(float(c) for c in location)
        self.step = int(step)
        where = ", ".join(f"{c:.6g}" for c in self.location)
        msg = f"solution blew up (non-finite values) at t={self.time:.6g}, x=({where}), after {self.step} steps"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
