"""mkdocs hook: show ``qshock.solver``, ``qshock.manifolds`` and ``qshock.experiments`` to mkdocstrings.

The folders ``solver/``, ``manifolds/`` and ``experiments/`` install as ``qshock.*`` through a
setuptools ``package-dir`` mapping, which griffe (mkdocstrings' static analyser) cannot follow.
Before mkdocstrings starts, this hook lays out a temporary ``qshock/`` package of symbolic links
(``src/qshock/*.py`` plus the three folders) and points the Python handler at it, so the API
reference is read from the sources, without importing anything.

Docstrings are parsed as Google style (``Args:``, ``Returns:``, ``Raises:``); most are prose
with the maths. A docstring whose section griffe cannot parse still renders, as text, so its
parse warnings are logged as INFO and do not fail the strict build; a missing object, a
broken link or a missing snippet still does.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("solver", "manifolds", "experiments")
STYLE_WARNINGS = ("Failed to get", "No type or annotation", "does not appear in the function signature",
                  "Confusing indentation", "Empty ", "Could not parse", "Skipping")


class _DocstringStyleToInfo(logging.Filter):
    """Log griffe's docstring-section parse warnings as INFO (see the module docstring)."""

    def filter(self, record):
        if record.levelno == logging.WARNING and any(w in record.getMessage() for w in STYLE_WARNINGS):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("mkdocs.plugins.griffe").addFilter(_DocstringStyleToInfo())


def package_tree() -> Path:
    """A temporary directory holding ``qshock/`` as the installed package lays it out."""
    top = Path(tempfile.mkdtemp(prefix="qshock-api-"))
    atexit.register(shutil.rmtree, top, ignore_errors=True)
    pkg = top / "qshock"
    pkg.mkdir()
    for f in (ROOT / "src" / "qshock").glob("*.py"):
        (pkg / f.name).symlink_to(f)
    for name in FOLDERS:
        (pkg / name).symlink_to(ROOT / name, target_is_directory=True)
    return top


@event_priority(100)  # before mkdocstrings reads its handler options
def on_config(config):
    handlers = config.plugins["mkdocstrings"].config.handlers
    handlers.setdefault("python", {})["paths"] = [str(package_tree())]
    return config
