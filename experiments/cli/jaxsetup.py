"""JAX settings chosen at the command-line entry only (the library never flips global switches).

* ``--devices N`` (``qshock solve``): on a CPU, ``min(N, cores)`` forced host devices
  (``XLA_FLAGS=--xla_force_host_platform_device_count=...``), set before JAX starts its backend and
  only when asked; ``N`` above the devices JAX then reports is refused with one line (exit 2).
  A count already in ``XLA_FLAGS`` wins (e.g. 8 host devices on 2 cores, for testing).
* The persistent compilation cache: compiled solves are stored under ``$QSHOCK_CACHE_DIR``
  (default ``$XDG_CACHE_HOME/qshock/jax``, i.e. ``~/.cache/qshock/jax``; ``QSHOCK_CACHE_DIR=off``
  disables it), so a second ``qshock`` run of the same problem loads the executable instead of
  compiling it. Entries are kept when compiling took at least
  ``QSHOCK_CACHE_MIN_COMPILE_SECS`` (default 0.1 s; JAX's own default, 1 s, would skip most solves).
  By default the cache is on for the solver commands (:data:`CACHED_COMMANDS`); for ``train`` and
  ``experiment`` it is on only when ``QSHOCK_CACHE_DIR`` is set explicitly (a long study once
  stalled while compiling its training step with the cache on, under a load of ~40 on 2 cores).
"""

from __future__ import annotations

import os

__all__ = ["cache_dir", "cache_wanted", "configure_cache", "request_devices", "check_devices", "CACHED_COMMANDS"]

#: commands whose compiled solves go to the persistent cache unless ``QSHOCK_CACHE_DIR=off``
CACHED_COMMANDS = ("solve", "shocks", "verify", "demo")

DEVICE_FLAG = "--xla_force_host_platform_device_count"


def cache_dir() -> str | None:
    """The compilation-cache directory (``None``: disabled by ``QSHOCK_CACHE_DIR=off``)."""
    env = os.environ.get("QSHOCK_CACHE_DIR")
    if env is not None and env.strip().lower() in ("", "off", "0", "none"):
        return None
    if env:
        return os.path.expanduser(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "qshock", "jax")


def cache_wanted(command: str) -> bool:
    """Whether ``command`` uses the persistent cache: the solver commands by default, any command
    when ``QSHOCK_CACHE_DIR`` names a directory, none when it is ``off``."""
    if cache_dir() is None:
        return False
    return command in CACHED_COMMANDS or bool(os.environ.get("QSHOCK_CACHE_DIR"))


def configure_cache() -> str | None:
    """Point JAX's persistent compilation cache at :func:`cache_dir` (returns it)."""
    import jax

    path = cache_dir()
    if path is None:
        return None
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ.get("QSHOCK_CACHE_MIN_COMPILE_SECS", "0.1")))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def request_devices(n) -> None:
    """Ask XLA for ``min(n, cores)`` host (CPU) devices; effective only before JAX initialises its
    backend. An explicit device count already in ``XLA_FLAGS`` is left alone."""
    if n is None or int(n) <= 1:
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if DEVICE_FLAG not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {DEVICE_FLAG}={min(int(n), os.cpu_count() or 1)}".strip()


def check_devices(n) -> int:
    """``n`` validated against the devices JAX reports (raises QShockInputError naming both)."""
    from qshock.errors import QShockInputError

    if n is None:
        return 1
    if int(n) < 1:
        raise QShockInputError(f"--devices must be a positive integer, got {n}")
    import jax

    have = len(jax.devices())
    if int(n) > have:
        raise QShockInputError(f"--devices {n}: only {have} device(s) available (CPU: one host device per core; "
                               f"XLA_FLAGS={DEVICE_FLAG}=N forces more)")
    return int(n)
