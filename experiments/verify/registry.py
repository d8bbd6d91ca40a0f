"""The registry behind ``qshock verify``: rows, the check decorator, the runner and the table.

Every row is a registered function ``fn(ctx) -> (measured: str, passed: bool)`` (see :func:`check`).
:func:`run_checks` runs the registry and returns one :class:`Row` per selected check, with a
status out of three:

* ``PASS`` / ``FAIL`` — the measured value meets / misses the expectation; a check that raises
  is a ``FAIL`` row whose ``measured`` names the exception (never dropped);
* ``SKIP`` — the row cannot run here, and ``measured`` says why: the check raised :class:`Skip`,
  or it needs float64 (``needs_x64=True``, the default) while ``jax.config.jax_enable_x64`` is
  off. The ``qshock`` entry point enables float64, so from the command line a row skips only
  when it raises :class:`Skip`. ``qshock verify --strict`` fails (exit 1) on any ``SKIP``.

``--quick`` selects the rows registered with ``quick=True``; the others are listed by name
under the table ("full run only"), so no row disappears without a word.

The scheme a row claims is looked up through ``ctx.scheme(name)``, so another scheme can be
injected (``run_checks(quick=True, overrides={'weno5': 'godunov'})``): the row then measures
the injected scheme against the claimed expectation and fails — the verifier can fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Row", "Context", "Check", "Skip", "check", "CHECKS", "TOPICS", "run_checks", "selected", "table",
           "summary", "exit_code", "run", "PASS", "FAIL", "SKIP"]

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class Skip(Exception):  # noqa: N818 - reads as `raise Skip("why")`
    """Raised by a check that cannot run here; the message is the reason shown in the row."""


@dataclass
class Row:
    """One line of the table. ``status`` is PASS, FAIL or SKIP; for SKIP ``measured`` is the reason."""

    check: str
    formula: str
    expected: str
    measured: str
    status: str
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def to_json(self) -> dict:
        """The row of the ``qshock verify --json`` contract (docs/guide/cli.md).

        ``pass`` is true/false, and ``null`` for a skipped row.
        """
        return {"check": self.check, "formula": self.formula, "expected": self.expected,
                "measured": self.measured, "pass": None if self.status == SKIP else self.status == PASS}


@dataclass
class Context:
    """What a check may use: mode, scheme overrides, figure data sink."""

    quick: bool = True
    overrides: dict = field(default_factory=dict)
    figdata: dict = field(default_factory=dict)

    def scheme(self, name: str) -> str:
        """The scheme to run where ``name`` is claimed (``overrides`` may swap it)."""
        return self.overrides.get(name, name)

    def sizes(self, quick, full):
        """``quick`` in quick mode, else ``full`` (grid sizes and the like)."""
        return quick if self.quick else full


@dataclass
class Check:
    """A registered row: its texts, the function, and when it runs."""

    name: str
    formula: str
    expected: str
    fn: Callable
    quick: bool = True
    needs_x64: bool = True


CHECKS: list[Check] = []

# table order: by topic (the module that registered the row), then by registration
TOPICS = ("shocks", "burgers", "hj", "sphere", "quotients", "spectral")


def _topic_rank(c: Check) -> int:
    topic = getattr(c.fn, "__module__", "").rsplit(".", 1)[-1]
    return TOPICS.index(topic) if topic in TOPICS else len(TOPICS)


def check(name: str, formula: str, expected: str, quick: bool = True, needs_x64: bool = True):
    """Register ``fn(ctx) -> (measured, passed)`` as a row (``quick=False``: full run only).

    ``needs_x64``: the row's tolerances assume float64; with x64 off it shows SKIP.
    """
    if any(c.name == name for c in CHECKS):
        raise ValueError(f"verify: a check named {name!r} is already registered")

    def deco(fn):
        CHECKS.append(Check(name, formula, expected, fn, quick, needs_x64))
        return fn
    return deco


def _run_one(c: Check, ctx: Context) -> Row:
    import jax

    t0 = time.perf_counter()
    if c.needs_x64 and not jax.config.jax_enable_x64:
        measured, status = "needs float64: jax_enable_x64 is off (the qshock CLI turns it on)", SKIP
    else:
        try:
            measured, ok = c.fn(ctx)
            status = PASS if ok else FAIL
        except Skip as exc:
            measured, status = str(exc) or "skipped", SKIP
        except Exception as exc:  # a crashing check is a failing row, never a dropped one
            measured, status = f"error: {type(exc).__name__}: {exc}"[:160], FAIL
    return Row(c.name, c.formula, c.expected, str(measured), status, time.perf_counter() - t0)


def selected(quick: bool = True, only: list | None = None) -> tuple[list[Check], list[Check]]:
    """``(to_run, full_only)``: the checks of this mode, and those ``--quick`` leaves out."""
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in CHECKS})
        if unknown:
            from qshock.errors import QShockInputError

            raise QShockInputError(f"verify: unknown check name(s) {unknown}")
    pool = sorted((c for c in CHECKS if only is None or c.name in only), key=_topic_rank)
    return [c for c in pool if c.quick or not quick], [c for c in pool if quick and not c.quick]


def run_checks(quick: bool = True, overrides: dict | None = None, only: list | None = None,
               ctx: Context | None = None) -> list[Row]:
    """Run the registered checks of the mode (``quick`` subset or all), in registration order.

    Returns one :class:`Row` per selected check: PASS, FAIL (also for a check that raised), or
    SKIP with its reason. Float64 is not switched on here: a row that needs it shows SKIP.
    """

    ctx = ctx or Context(quick=quick, overrides=dict(overrides or {}))
    return [_run_one(c, ctx) for c in selected(quick, only)[0]]


def table(rows: list[Row]) -> str:
    """The fixed-width text table (cells cut at 60 characters)."""
    cols = ["Check", "Formula or theorem", "Expected", "Measured", "Pass"]
    data = [[r.check, r.formula, r.expected, r.measured, r.status] for r in rows]
    widths = [min(max(len(cols[i]), *(len(d[i]) for d in data)) if data else len(cols[i]), 60) for i in range(5)]

    def line(cells):
        return " | ".join(str(c)[:widths[i]].ljust(widths[i]) for i, c in enumerate(cells))

    return "\n".join([line(cols), "-+-".join("-" * w for w in widths)] + [line(d) for d in data])


def summary(rows: list[Row]) -> dict:
    """Counts: ``passed``, ``failed``, ``skipped``."""
    return {"passed": sum(r.status == PASS for r in rows), "failed": sum(r.status == FAIL for r in rows),
            "skipped": sum(r.status == SKIP for r in rows)}


def exit_code(rows: list[Row], strict: bool = False) -> int:
    """0 iff no row failed (and, with ``strict``, none was skipped); else 1."""
    n = summary(rows)
    return 1 if n["failed"] or (strict and n["skipped"]) else 0


def run(args) -> int:
    """``qshock verify [--quick] [--json] [--figures DIR] [--strict]``.

    Exit 0 iff no row fails; with ``--strict`` also iff no row is skipped. ``--json`` prints
    ``{"rows": [...], "passed", "failed"}`` plus ``"skipped"`` when some row was skipped.
    """
    from .figures import write_figures

    quick, strict = bool(getattr(args, "quick", False)), bool(getattr(args, "strict", False))
    ctx = Context(quick=quick)
    rows = run_checks(quick=quick, ctx=ctx)
    figs = write_figures(ctx, args.figures) if getattr(args, "figures", None) else []
    n = summary(rows)
    if getattr(args, "json", False):
        doc = {"rows": [r.to_json() for r in rows], "passed": n["passed"], "failed": n["failed"]}
        if n["skipped"]:
            doc["skipped"] = n["skipped"]
        print(json.dumps(doc))
    else:
        print(table(rows))
        print(f"\n{n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped"
              + (" (--strict: skipped rows fail the run)" if strict and n["skipped"] else "")
              + (f"; figures: {', '.join(figs)}" if figs else ""))
        left_out = selected(quick)[1]
        if left_out:
            print("full run only (not in --quick): " + "; ".join(c.name for c in left_out))
    return exit_code(rows, strict)
