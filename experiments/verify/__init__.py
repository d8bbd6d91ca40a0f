"""`qshock verify`: the theorem and convergence table (a registry of checks, by topic)."""

from .checks import Row, check, run_checks

__all__ = ["Row", "check", "run_checks"]
