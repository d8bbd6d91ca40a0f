"""The item store shared by every study: one JSON file per (parameters, seed) item.

A study directory ``OUT`` holds ``config.json``, ``items/<key>.json`` (each written atomically
as soon as it is computed), ``results.json`` (the table and all items) and ``figures/``.
With ``resume=True`` an item whose stored parameters equal the requested ones is reused, so a
killed study loses at most the items it was computing.

Items are computed by an executor (:mod:`qshock.experiments.studies.executor`). The local one is
eager: :meth:`ItemStore.item` computes the item on the spot, as studies always did. A remote one
(Ray) is not: while a study runs under :meth:`ItemStore.drive`, ``item`` only records the request
and returns a :class:`Pending` placeholder; the first time the study reads a placeholder (or at
the end of the pass) all recorded items are computed in parallel, and the study's ``run`` is
called again, now getting the stored items. Passes repeat until ``run`` finishes without a
placeholder; each pass computes at least one new item, so this ends, and the result is the one
of the eager loop (``run`` is a deterministic function of the items). Studies that ask for all
their items before reading any (every study but periodic-spikes) need two passes.
"""

from __future__ import annotations

import copy
import glob
import json
import math
import os
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["ItemStore", "Pending", "PendingItem", "atomic_json", "clean", "compute_item", "freeze"]


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


def compute_item(out: str, key: str, params: dict, compute: Callable[[], dict[str, Any]]) -> dict:
    """Compute one item and write ``OUT/items/KEY.json`` atomically; returns the stored document.

    This is the task every executor runs (in this process or on a Ray worker): a worker killed
    before the final rename leaves no item file, so the item is simply computed again. An item
    whose computation reads another item still :class:`Pending` (requested in the same pass)
    is not ready: ``None``, nothing written; a later pass asks for it again."""
    try:
        res = compute()
    except PendingItem:
        return None
    doc = clean(dict(res, params=params, key=key))
    atomic_json(os.path.join(out, "items", f"{key}.json"), doc)
    return doc


def freeze(compute: Callable) -> Callable:
    """``compute`` with the variables it closes over fixed at their current values.

    Studies pass ``lambda: item_fn(p, lr, s)`` inside loops; Python closures see the *last* value
    of a loop variable, which is right when the lambda is called at once (the eager loop) and
    wrong when it is called later (a deferred executor). Freezing the closure cells when the item
    is requested gives the eager semantics."""
    if not isinstance(compute, types.FunctionType) or not compute.__closure__:
        return compute
    cells = []
    for c in compute.__closure__:
        try:
            cells.append(types.CellType(c.cell_contents))
        except ValueError:  # an empty cell (not bound yet): keep the live one
            cells.append(c)
    f = types.FunctionType(compute.__code__, compute.__globals__, compute.__name__, compute.__defaults__,
                           tuple(cells))
    f.__kwdefaults__, f.__qualname__, f.__module__ = compute.__kwdefaults__, compute.__qualname__, compute.__module__
    return f


class PendingItem(Exception):
    """A study read an item that is still being computed (caught by :meth:`ItemStore.drive`)."""


def _pending(self, *a, **kw):
    raise PendingItem(self.key)


class Pending(dict):
    """Placeholder for item ``key`` while a non-eager executor computes it: any read raises
    :class:`PendingItem` (it is a ``dict`` so that ``isinstance`` checks and JSON see a mapping)."""

    __slots__ = ("key",)

    def __init__(self, key: str):
        super().__init__(pending=key)  # not empty: C fast paths for empty dicts (json) would not ask
        self.key = key

    def __repr__(self) -> str:
        return f"Pending({self.key!r})"

    def __reduce__(self):  # shipped inside a closure to a worker, where reading it raises again
        return (Pending, (self.key,))

    __getitem__ = __setitem__ = __delitem__ = __iter__ = __len__ = __contains__ = __bool__ = _pending
    __eq__ = __ne__ = __or__ = __ror__ = __ior__ = __reversed__ = _pending
    get = keys = items = values = copy = pop = popitem = setdefault = update = clear = _pending
    __hash__ = None


@dataclass
class ItemStore:
    """Items of one study directory; counts what it computed and what it reused.

    Attributes:
        out: the study directory.
        resume: reuse stored items whose parameters match.
        computed: number of items computed by this store.
        reused: number of items read back from disk.
        executor: computes the items (default: the eager in-process loop).
        progress: the progress line (default: one log line per item).
    """

    out: str
    resume: bool = False
    computed: int = 0
    reused: int = 0
    _log: Callable[[str], None] = field(default=lambda s: None, repr=False)
    executor: Any = None
    progress: Any = None
    _done: dict = field(default_factory=dict, repr=False)
    _requests: dict | None = field(default=None, repr=False)
    _dry: bool = field(default=False, repr=False)

    def __post_init__(self):
        from .executor import LocalExecutor, Progress

        self.executor = self.executor or LocalExecutor()
        self.progress = self.progress or Progress(self._log)

    def __reduce__(self):
        # a closure shipped to a worker may capture the store: it needs the folder, not the executor
        return (ItemStore, (self.out, self.resume))

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

    def _known(self, key: str, params: dict) -> dict | None:
        """Item ``key`` if already computed in this run, or reused from disk under ``resume``."""
        doc = self._done.get(key)
        if doc is not None and doc.get("params") == clean(params):
            return copy.deepcopy(doc)  # a fresh copy per pass: studies annotate their items
        if self.resume:
            doc = self.load(key, params)
            if doc is not None:
                self._done[key] = doc
                self.reused += 1
                self.progress.tick(key, "reused")
                return copy.deepcopy(doc)
        return None

    def item(self, key: str, params: dict, compute: Callable[[], dict[str, Any]]) -> dict:
        """Return item ``key``: reused when ``resume`` and the parameters match, else computed and stored.

        Under a non-eager executor (inside :meth:`drive`) a missing item is only recorded, and a
        :class:`Pending` placeholder is returned."""
        doc = self._known(key, params)
        if doc is not None:
            return doc
        if self._requests is not None:
            self._requests[key] = (params, freeze(compute))
            return Pending(key)
        return self._compute({key: (params, compute)})[key]

    def map(self, keys: list, params: list, computes: list) -> list:
        """Items ``keys`` (with their ``params`` and zero-argument ``computes``), the missing ones
        computed together by the executor (in parallel under Ray); same result as ``item`` in a loop."""
        docs = {k: self._known(k, p) for k, p in zip(keys, params)}
        todo = {k: (p, freeze(c)) for k, p, c in zip(keys, params, computes) if docs[k] is None}
        if todo and not self._dry:  # the counting pass of an eager executor computes nothing
            docs.update(self._compute(todo))
        if self._requests is not None:  # not computed (counting pass, or read a pending item)
            self._requests.update({k: todo[k] for k in todo if docs[k] is None})
        return [docs[k] if docs[k] is not None else Pending(k) for k in keys]

    def _compute(self, todo: dict) -> dict:
        keys = list(todo)
        self.progress.expect(len(self._done) + len(keys))
        args = [(self.out, k, todo[k][0], todo[k][1]) for k in keys]
        got = {}
        for i, doc in self.executor.map_unordered(compute_item, args):
            if doc is None:  # it read an item of the same pass: asked again in the next pass
                continue
            if not os.path.exists(self.path(keys[i])):  # a worker without this file system
                atomic_json(self.path(keys[i]), doc)
            got[keys[i]] = self._done[keys[i]] = doc
            self.computed += 1
            self.progress.tick(keys[i], "computed")
        return got

    def drive(self, run: Callable[["ItemStore", Callable], Any], log: Callable[[str], None]):
        """``run(store, log)`` (a study's ``run``), computing its items through the executor.

        Eager executor: a silent first pass counts the items (placeholders, nothing computed;
        for the progress line), then one ordinary pass. Otherwise: passes as in the module
        docstring, each log line printed once."""
        if self.executor.eager:
            self._requests, self._dry = {}, True
            try:
                run(self, lambda s: None)
            except Exception:  # noqa: BLE001 - a counting pass: the real pass reports errors
                pass
            finally:
                self.progress.expect(len(self._done) + len(self._requests))
                self._requests, self._dry = None, False
            return run(self, log)
        seen = set()

        def log_once(s):
            if s not in seen:
                seen.add(s)
                log(s)
        try:
            while True:
                self._requests = {}
                try:
                    res = run(self, log_once)
                except Exception:
                    if not self._requests:
                        raise
                else:
                    if not self._requests:
                        return res
                todo, self._requests = self._requests, None
                if not self._compute(todo):
                    raise RuntimeError(f"study items {', '.join(todo)} only read each other: none can be computed")
        finally:
            self._requests = None
            for tmp in glob.glob(os.path.join(self.out, "items", ".tmp-*")):  # left by killed workers
                os.unlink(tmp)
