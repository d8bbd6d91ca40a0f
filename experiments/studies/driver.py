"""The study driver: configuration files, the registry of studies, and ``run_study``.

A study is a module with

* ``NAME`` (and optionally ``ALIASES``);
* ``Config``: a frozen dataclass subclassing :class:`StudyConfig`, every field with a default;
  ``Config.quick()`` gives the ``--quick`` configuration;
* ``run(cfg, seeds, store, log) -> StudyResult``, computing items through the
  :class:`~qshock.experiments.studies.store.ItemStore`;
* ``figures(run_dir, doc, formats) -> list[str]``, drawing only from ``results.json``.

Configuration files are TOML, either at top level or in a ``[NAME]`` table; they are checked
here, once, against the dataclass (unknown keys, types, list-versus-scalar) and then by the
study's own ``validate``.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from qshock.errors import QShockInputError

from .stats import text_table
from .store import ItemStore, atomic_json, clean

__all__ = ["StudyConfig", "StudyResult", "STUDIES", "resolve_name", "study_module", "load_config",
           "run_study", "run", "MAX_SEEDS"]

#: study name -> module (inside this package) implementing it
STUDIES = {"edge-of-stability": "eos", "catapult": "catapult", "conservation": "conservation",
           "absorbing-state": "absorbing_state", "shock-times": "shock_times", "periodic-spikes": "periodic_spikes",
           "phase-diagram": "phase_diagram",
           "monitor-eval": "monitor_eval"}
ALIASES = {"eos": "edge-of-stability"}


@dataclass(frozen=True)
class StudyConfig:
    """Base of the study configurations: frozen, every field has a default."""

    @classmethod
    def quick(cls) -> "StudyConfig":
        """The ``--quick`` configuration (default: the full one)."""
        return cls()

    def validate(self) -> None:
        """Raise :class:`QShockInputError` naming the bad parameter (override per study)."""

    def params(self) -> dict:
        return clean(dataclasses.asdict(self))

    def replace(self, **kw) -> "StudyConfig":
        return dataclasses.replace(self, **kw)


@dataclass
class StudyResult:
    """What a study's ``run`` returns: a text table (``header``, formatted ``rows``), the raw
    ``rows`` (dicts), every item, and an optional machine-readable ``summary``."""

    header: list
    rows: list
    items: list
    summary: dict[str, Any] = field(default_factory=dict)


def resolve_name(name: str) -> str:
    """Canonical study name; :class:`QShockInputError` listing the valid names otherwise."""
    name = ALIASES.get(name, name)
    if name not in STUDIES:
        raise QShockInputError(f"experiment: unknown study {name!r}; expected one of "
                               f"{', '.join(STUDIES)} (alias: eos)")
    return name


def study_module(name: str):
    return importlib.import_module(f"{__package__}.{STUDIES[resolve_name(name)]}")


def _coerce(key: str, value, default):
    """``value`` converted to the type of ``default``; QShockInputError naming ``key`` otherwise."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, tuple):
        if not isinstance(value, list):
            raise QShockInputError(f"--config: {key} must be a list, got {value!r}")
        proto = default[0] if default else None
        return tuple(v if proto is None else _coerce(f"{key}[{i}]", v, proto) for i, v in enumerate(value))
    else:
        ok = True
    if not ok:
        raise QShockInputError(f"--config: {key} must be of type {type(default).__name__}, got {value!r}")
    return value


def load_config(name: str, path: str | None = None, quick: bool = False) -> StudyConfig:
    """The configuration of study ``name``: defaults (or ``--quick``), overridden by TOML ``path``."""
    mod = study_module(name)
    base = mod.Config.quick() if quick else mod.Config()
    if path is not None:
        import tomllib

        try:
            with open(path, "rb") as f:
                doc = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise QShockInputError(f"--config: cannot read {path!r}: {e}") from e
        doc = doc.get(mod.NAME, doc)
        names = [f.name for f in dataclasses.fields(base)]
        bad = [k for k in doc if k not in names]
        if bad:
            raise QShockInputError(f"--config: unknown parameter(s) {', '.join(bad)} for study {mod.NAME}; "
                                   f"expected some of {', '.join(names)}")
        base = dataclasses.replace(base, **{k: _coerce(k, v, getattr(base, k)) for k, v in doc.items()})
    base.validate()
    return base


def _prepare_out(out: str) -> None:
    try:
        os.makedirs(os.path.join(out, "items"), exist_ok=True)
    except OSError as e:
        raise QShockInputError(f"--out: cannot create {out!r}: {e}") from e
    if not os.access(out, os.W_OK):
        raise QShockInputError(f"--out: {out!r} is not writable")


#: most seeds a study takes (its items are planned for every seed before the first is computed)
MAX_SEEDS = 10_000


def run_study(name: str, config: str | None = None, seeds: int | None = None, out: str | None = None,
              resume: bool = False, quiet: bool = False, argv=None, formats=("pdf", "png"),
              quick: bool = False, executor="local", address: str | None = None) -> dict:
    """Run study ``name`` over seeds ``0..seeds-1``; returns the results document.

    The document (also ``OUT/results.json``) has ``study``, ``params``, ``seeds``, ``header``,
    ``rows``, ``items``, ``summary``, ``wall_time``, and ``computed``/``reused`` item counts.
    ``executor``: ``"local"`` (the in-process loop), ``"ray"`` (each item a Ray task; ``address``
    of a running cluster, else a local Ray instance), or an
    :class:`~qshock.experiments.studies.executor.Executor` (kept open for the caller).
    """
    from .executor import Executor, make_executor

    mod = study_module(name)
    cfg = load_config(name, config, quick)
    k = getattr(cfg, "seeds", 1) if seeds is None else int(seeds)
    if not 1 <= k <= MAX_SEEDS:
        raise QShockInputError(f"{'--seeds' if seeds is not None else '--config: seeds'} must be between 1 and "
                               f"{MAX_SEEDS}, got {k}")
    if hasattr(mod, "check_seeds"):  # a study's own lower bound (e.g. tuning and held-out seeds)
        mod.check_seeds(cfg, k)
    ex = executor if isinstance(executor, Executor) else make_executor(executor, address)
    try:
        return _run_study(mod, cfg, k, out, resume, quiet, argv, formats, quick, ex)
    finally:
        if ex is not executor:
            ex.close()


def _run_study(mod, cfg, k, out, resume, quiet, argv, formats, quick, ex) -> dict:
    from qshock.experiments.lab.runstore import git_commit, package_versions

    from .executor import Progress

    out = out or os.path.join("runs", mod.NAME)
    _prepare_out(out)
    log = (lambda s: None) if quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    progress = Progress(log, None if quiet else sys.stderr, label=ex.name)
    atomic_json(os.path.join(out, "config.json"),
                {"study": mod.NAME, "params": cfg.params(), "quick": bool(quick), "seeds": list(range(k)),
                 "versions": package_versions(), "git_commit": git_commit(),
                 "argv": list(sys.argv if argv is None else argv)})
    store = ItemStore(out, resume, _log=log, executor=ex, progress=progress)
    t0 = time.perf_counter()
    try:
        res = store.drive(lambda st, lg: mod.run(cfg, list(range(k)), st, lg), progress.log)
    finally:
        progress.close()
    doc = clean({"study": mod.NAME, "params": cfg.params(), "quick": bool(quick), "seeds": list(range(k)),
                 "header": res.header, "rows": res.rows, "items": res.items, "summary": res.summary,
                 "wall_time": time.perf_counter() - t0, "computed": store.computed, "reused": store.reused})
    atomic_json(os.path.join(out, "results.json"), doc)
    mod.figures(out, doc, formats)
    doc["table"] = text_table(res.header, [r["_fmt"] for r in res.rows])
    return doc


def run(args) -> int:
    """CLI entry: ``qshock experiment NAME [--quick] [--config FILE] [--seeds K] [--out DIR] [--resume] [--json]
    [--executor local|ray] [--address HOST:PORT]``."""
    import json

    as_json = bool(getattr(args, "json", False))
    doc = run_study(args.name, getattr(args, "config", None), getattr(args, "seeds", None),
                    getattr(args, "out", None), bool(getattr(args, "resume", False)), quiet=as_json,
                    quick=bool(getattr(args, "quick", False)), argv=getattr(args, "command_line", None),
                    executor=getattr(args, "executor", None) or "local", address=getattr(args, "address", None))
    if as_json:
        print(json.dumps(doc["summary"] or {"header": doc["header"], "rows": doc["rows"]}))
    else:
        print(f"{doc['study']}: {len(doc['seeds'])} seed(s), run directory "
              f"{getattr(args, 'out', None) or os.path.join('runs', doc['study'])}")
        print(doc["table"])
    return 0
