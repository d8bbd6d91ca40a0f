"""``qshock verify``: the theorem and convergence table — a registry of checks, by topic.

:mod:`.registry` holds :class:`Row`, :class:`Context`, :func:`check`, :func:`run_checks` and the
table; the rows live in one module per topic (:mod:`.shocks`, :mod:`.burgers`, :mod:`.hj`,
:mod:`.sphere`, :mod:`.quotients`, :mod:`.spectral`), imported here in table order so that
importing the package registers every row. A new row is one decorated function::

    from qshock.experiments.verify import check

    @check("My theorem", "formula", "expected")      # quick=False: full run only
    def my_row(ctx):
        ...
        return f"{measured:.3g}", measured < tolerance
"""

from . import burgers, hj, quotients, shocks, spectral, sphere  # noqa: F401 - registers the rows
from .figures import write_figures
from .registry import CHECKS, Context, Row, Skip, check, run, run_checks, table

__all__ = ["Row", "Context", "Skip", "check", "CHECKS", "run_checks", "run", "table", "write_figures"]
