"""``qshock figures RUN_DIR``: redraw the figures of a training run or of a study directory.

* a training run (``RUN_DIR/metrics.nc``): :func:`qshock.experiments.lab.runstore.write_figures`;
* a study directory (``RUN_DIR/results.json``): the study module's ``figures``, drawn from
  ``results.json`` alone (no training);
* anything else: :class:`QShockInputError`.
"""

from __future__ import annotations

import json
import os

from qshock.errors import QShockInputError

from .driver import STUDIES, study_module

__all__ = ["run", "study_figures"]


def study_figures(run_dir: str, formats=("pdf", "png")) -> list:
    """Draw the figures of the study in ``run_dir/results.json``; returns the files written."""
    path = os.path.join(run_dir, "results.json")
    try:
        with open(path) as f:
            doc = json.load(f)
        study = doc["study"]
        doc["items"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise QShockInputError(f"figures: {path!r} is not a readable study results file: {e}") from e
    if study not in STUDIES:
        raise QShockInputError(f"figures: unknown study {study!r} in {path}")
    return study_module(study).figures(run_dir, doc, formats)


def run(args) -> int:
    """CLI entry: ``qshock figures RUN_DIR [--format pdf|png|svg]``."""
    run_dir = args.run_dir
    fmt = getattr(args, "format", None) or "pdf"
    if not os.path.isdir(run_dir):
        raise QShockInputError(f"figures: run directory {run_dir!r} does not exist")
    if os.path.exists(os.path.join(run_dir, "metrics.nc")):
        from qshock.experiments.lab.runstore import write_figures

        files = write_figures(run_dir, (fmt,))
    elif os.path.exists(os.path.join(run_dir, "results.json")):
        files = study_figures(run_dir, (fmt,))
    else:
        raise QShockInputError(f"figures: {run_dir!r} is neither a training run (metrics.nc) nor a study "
                               f"directory (results.json)")
    print(f"{len(files)} figure(s) written to {os.path.join(run_dir, 'figures')}")
    return 0
