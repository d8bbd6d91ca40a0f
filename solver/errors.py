"""The solver's exceptions: re-exported from :mod:`qshock.errors` (one error module for all packages)."""

from qshock.errors import BlowUpError, CFLError, QShockInputError

__all__ = ["QShockInputError", "BlowUpError", "CFLError"]
