"""Executors for study items: the in-process loop (``local``) or Ray tasks (``ray``), and the progress line.

An executor maps a picklable function over argument tuples and yields ``(index, result)`` as
results arrive. The :class:`~qshock.experiments.studies.store.ItemStore` uses it to compute the
items of a study; the item function writes its own item file atomically, so a finished item
survives whatever happens to the rest of the sweep and ``--resume`` reuses it, whichever
executor produced it.

* :class:`LocalExecutor` (``--executor local``, the default) is *eager*: each item is computed
  in the calling process the moment the study asks for it, exactly today's loop.
* :class:`RayExecutor` (``--executor ray [--address HOST:PORT]``) runs each item as a Ray task
  (``max_retries``: a worker killed in the middle of an item is restarted and the item
  recomputed from scratch; the rename of the item file is atomic, so an item is never lost,
  half-written or counted twice). Without an address it starts a small local Ray instance.

Progress (:class:`Progress`) is one line across all items with an ETA: for ``n`` of ``N`` items
computed in wall time ``t``, the remaining ``N − n − reused`` take ``t/n`` each (throughput,
so it holds for parallel executors as well).
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from typing import Any, Callable, Iterator

from qshock.errors import QShockInputError

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "Progress", "make_executor", "parse_address",
           "ray_available", "EXECUTORS"]

EXECUTORS = ("local", "ray")


class Executor:
    """Maps a function over argument tuples. ``eager``: results are computed when requested, in
    the calling process (the store then needs no deferred passes)."""

    name = "executor"
    eager = False

    def map_unordered(self, fn: Callable, argsets: list[tuple]) -> Iterator[tuple[int, Any]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor started (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(Executor):
    """The in-process loop, in request order. ``eager=False`` makes it behave like a remote
    executor (items collected by the store and computed in a batch), which tests use."""

    name = "local"

    def __init__(self, eager: bool = True):
        self.eager = bool(eager)

    def map_unordered(self, fn, argsets):
        for i, args in enumerate(argsets):
            yield i, fn(*args)


def ray_available() -> bool:
    """Whether the optional ``ray`` extra is importable."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def parse_address(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (or ``ray://HOST:PORT``) -> ``(host, port)``; ``"auto"`` -> ``None``.

    :class:`QShockInputError` for anything else (checked before any work)."""
    a = address.strip()
    if a == "auto":
        return None
    rest = a[len("ray://"):] if a.startswith("ray://") else a
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise QShockInputError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.5:6379), "
                               f"ray://HOST:PORT or auto")
    return host.strip("[]"), int(port)


def _worker_env() -> dict:
    """Environment the Ray workers need to compute the same numbers as this process: the float64
    switch of JAX (enabled by the CLI) and the XLA/JAX platform flags if set."""
    import jax

    env = {"JAX_ENABLE_X64": "1" if jax.config.jax_enable_x64 else "0"}
    env.update({k: os.environ[k] for k in ("XLA_FLAGS", "JAX_PLATFORMS") if k in os.environ})
    return env


class RayExecutor(Executor):
    """Items as Ray tasks.

    Args:
        address: a running cluster (``HOST:PORT`` of its head, ``ray://HOST:PORT`` or ``auto``);
            ``None`` starts a local instance with ``num_cpus`` CPUs, no dashboard, quiet logs,
            shut down again by :meth:`close`.
        num_cpus: CPUs of the local instance (default ``min(2, cpu_count)``).
        max_retries: restarts of a task whose worker died (retries of exceptions raised by the
            item itself are off: those are deterministic and reported at once).
        object_store_mb: object store of the local instance.
    """

    name = "ray"
    eager = False

    def __init__(self, address: str | None = None, num_cpus: int | None = None, max_retries: int = 3,
                 object_store_mb: int = 256):
        if address is not None:
            parse_address(address)
        self.address, self.max_retries = address, int(max_retries)
        self.num_cpus = num_cpus or min(2, os.cpu_count() or 1)
        self.object_store_mb = int(object_store_mb)
        self._owner = False

    def start(self) -> "RayExecutor":
        """Connect to (or start) Ray unless this process is already connected."""
        import logging

        import ray

        if ray.is_initialized():
            return self
        kw = dict(logging_level=logging.WARNING, log_to_driver=False, runtime_env={"env_vars": _worker_env()})
        if self.address is None:
            kw.update(num_cpus=self.num_cpus, include_dashboard=False,
                      object_store_memory=self.object_store_mb * 2**20)
        quiet = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "token authentication is enabled" on every local start
        if self.address not in (None, "auto"):
            _token_auth_like_auto()
        try:
            with warnings.catch_warnings():  # JAX warns about fork(); Ray forks only to exec its daemons
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
                ray.init(address=self.address, **kw)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise QShockInputError(f"--address {self.address}: cannot connect to a Ray cluster "
                                   f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        finally:
            quiet.setLevel(level)
        self._owner = True
        return self

    @property
    def gcs_address(self) -> str:
        """``HOST:PORT`` of the cluster this process is connected to (for ``--address``)."""
        import ray

        return ray.get_runtime_context().gcs_address

    def map_unordered(self, fn, argsets):
        import ray

        self.start()
        task = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(fn)
        refs = [task.remote(*a) for a in argsets]
        index = {r: i for i, r in enumerate(refs)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield index[done[0]], _get(ray, done[0])
        except BaseException:
            for r in pending:  # an interrupt or a failed item: stop the rest of the sweep
                ray.cancel(r, force=True)
            raise

    def close(self) -> None:
        if self._owner:
            import ray

            ray.shutdown()
            self._owner = False


def _token_auth_like_auto() -> None:
    """Send this user's Ray token (``RAY_AUTH_TOKEN`` or ``~/.ray/auth_token``) to an explicit
    ``--address`` as Ray itself does for ``auto`` and ``ray start`` (clusters started by
    ``ray start --head`` require it by default); an explicit ``RAY_AUTH_MODE`` is respected."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # another Ray version: RAY_AUTH_MODE=token by hand
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _get(ray, ref):
    """``ray.get`` raising the item's own exception (one line), not Ray's wrapper with a traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, BaseException):
            raise cause from None
        raise


def make_executor(name: str = "local", address: str | None = None) -> Executor:
    """The executor of ``--executor NAME [--address ADDR]``, checked before any work.

    :class:`QShockInputError` for an unknown name, an address without ``ray``, a malformed
    address, a ``HOST:PORT`` nobody listens on, or ``ray`` when Ray is not installed."""
    if name not in EXECUTORS:
        raise QShockInputError(f"--executor {name!r}: expected one of {', '.join(EXECUTORS)}")
    if name == "local":
        if address is not None:
            raise QShockInputError("--address is for --executor ray (the local executor runs in this process)")
        return LocalExecutor()
    if not ray_available():
        raise QShockInputError("--executor ray: Ray is not installed; pip install 'qshock[ray]'")
    hp = None if address is None else parse_address(address)
    if hp is not None:
        try:
            socket.create_connection(hp, timeout=5).close()
        except OSError as e:
            raise QShockInputError(f"--address {address}: no Ray head answers there ({e.strerror or e}); "
                                   f"start one with: ray start --head") from None
    return RayExecutor(address)


class Progress:
    """One progress line across all items of a study, with an ETA.

    With a terminal ``stream`` the line is redrawn in place (other log lines go above it);
    otherwise ``log`` gets one line per finished item."""

    def __init__(self, log: Callable[[str], None] = lambda s: None, stream=None, label: str = ""):
        self.log_fn, self.stream, self.label = log, stream, label
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.total = self.computed = self.reused = 0
        self.t0 = time.perf_counter()
        self._last = ""

    def expect(self, n: int) -> None:
        """At least ``n`` items in all (the total grows as studies reveal items)."""
        self.total = max(self.total, int(n))

    def eta(self) -> float | None:
        """Seconds left: (remaining items) × (wall time per computed item so far)."""
        left = self.total - self.computed - self.reused
        if self.computed == 0:
            return None
        return left * (time.perf_counter() - self.t0) / self.computed

    def line(self, key: str = "", what: str = "") -> str:
        done = self.computed + self.reused
        pct = 100.0 * done / self.total if self.total else 100.0
        eta = self.eta()
        el = _hms(time.perf_counter() - self.t0)
        s = f"  [{done}/{self.total} items {pct:3.0f}% | {el} elapsed, ETA {'?' if eta is None else _hms(eta)}]"
        return s + (f" {key}: {what}" if key else "") + (f" ({self.label})" if self.label and key else "")

    def tick(self, key: str, what: str) -> None:
        """Item ``key`` was ``computed`` or ``reused``."""
        if what == "reused":
            self.reused += 1
        else:
            self.computed += 1
        self.expect(self.computed + self.reused)
        self._emit(self.line(key, what))

    def log(self, s: str) -> None:
        """A log line that keeps the progress line below it."""
        if self.tty and self._last:
            self.stream.write("\r\x1b[K" + s + "\n" + self._last)
            self.stream.flush()
        else:
            self.log_fn(s)

    def _emit(self, s: str) -> None:
        if self.tty:
            self._last = s
            self.stream.write("\r\x1b[K" + s)
            self.stream.flush()
        else:
            self.log_fn(s)

    def close(self) -> None:
        if self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()
            self._last = ""


def _hms(t: float) -> str:
    t = int(round(max(t, 0.0)))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"

