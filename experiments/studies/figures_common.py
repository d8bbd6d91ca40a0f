"""Helpers shared by the study figures."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["arr", "figure_stem"]


def arr(x) -> np.ndarray:
    """A JSON list (or list of lists) with ``None`` for missing values as a float array with NaN."""
    if x and isinstance(x[0], list):
        return np.asarray([[np.nan if v is None else v for v in row] for row in x], float)
    return np.asarray([np.nan if v is None else v for v in x], float)


def figure_stem(run_dir: str):
    """``name -> run_dir/figures/name`` (the extension is added by ``plotting.save``)."""
    return lambda name: os.path.join(run_dir, "figures", name)
