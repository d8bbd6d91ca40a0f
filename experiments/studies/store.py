"""The item store shared by every study: one JSON file per (parameters, seed) item.

A study directory ``OUT`` holds ``config.json``, ``items/<key>.json`` (each written atomically
as soon as it is computed), ``results.json`` (the table and all items) and ``figures/``.
With ``resume=True`` an item whose stored parameters equal the requested ones is reused, so a
killed study loses at most the item it was computing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["ItemStore", "atomic_json", "clean"]


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x))


def clean(x):
    """JSON-safe copy of ``x``: arrays to lists, non-finite floats to ``None``, tuples to lists."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def atomic_json(path: str, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temporary file, fsync, rename)."""
    from qshock.experiments.lab.runstore import atomic_write_bytes

    atomic_write_bytes(path, json.dumps(obj, indent=1, default=_jsonable).encode())


@dataclass
class ItemStore:
    """Items of one study directory; counts what it computed and what it reused.

    Attributes:
        out: the study directory.
        resume: reuse stored items whose parameters match.
        computed: number of items computed by this store.
        reused: number of items read back from disk.
    """

    out: str
    resume: bool = False
    computed: int = 0
    reused: int = 0
    _log: Callable[[str], None] = field(default=lambda s: None, repr=False)

    def path(self, key: str) -> str:
        return os.path.join(self.out, "items", f"{key}.json")

    def load(self, key: str, params: dict) -> dict | None:
        """The stored item ``key`` if its parameters equal ``params``, else ``None``."""
        try:
            with open(self.path(key)) as f:
                doc = json.load(f)
        except (OSError, json.JSONDecodeError):
            return None  # missing or unreadable (e.g. killed mid-write): recompute
        return doc if doc.get("params") == clean(params) else None

    def item(self, key: str, params: dict, compute: Callable[[], dict[str, Any]]) -> dict:
        """Return item ``key``: reused when ``resume`` and the parameters match, else computed and stored."""
        if self.resume:
            doc = self.load(key, params)
            if doc is not None:
                self.reused += 1
                self._log(f"  {key}: reused")
                return doc
        doc = clean(dict(compute(), params=params, key=key))
        atomic_json(self.path(key), doc)
        self.computed += 1
        self._log(f"  {key}: computed")
        return doc
