"""What happens around a long computation: interrupts, output checks before any work, resource limits.

Interrupts (``install``). The ``qshock`` console script blocks SIGINT and SIGTERM in the main
thread before JAX starts any thread (every later thread inherits the mask), and one daemon
thread waits for them with :func:`signal.sigwait`. On a signal it

1. calls :func:`qshock.experiments.lab.runstore.cleanup_partial` (takes the commit lock, so no
   file is renamed into place afterwards; deletes temporaries, new output files and new run
   directories without resumable state);
2. prints one line, ``qshock CMD: interrupted`` (plus which run directory can be resumed);
3. ends the process with ``os._exit(128 + signum)`` (130 for SIGINT, 143 for SIGTERM).

No ``KeyboardInterrupt`` is ever raised in the main thread, so it cannot surface inside a JAX
callback or destructor ("Exception ignored ...", the solve going on), and the process does not
run interpreter finalisation while XLA threads are still computing (the segfault of
``qshock train`` interrupted during compilation). ``--max-wall S`` uses the same exit path
after ``S`` seconds, with exit code 4.

Output checks (``check_output_file``, ``check_output_dir``) run before any computation: right
kind (file vs directory, suffix), parent folder present, and writable (a probe file is created
and removed, which also catches read-only mounts and root-owned folders). Messages name the
user's path.

Resource limits (``check_memory``, ``check_steps``): estimated peak memory of a solve against
half the available memory, and the estimated number of explicit time steps against
``--max-steps``; both refuse with the estimate and the flag that overrides them.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import tempfile
import threading

from qshock.errors import QShockInputError

__all__ = ["install", "set_prog", "start_wall_limit", "check_output_file", "check_output_dir",
           "check_memory", "check_steps", "available_memory", "EXIT_LIMIT"]

EXIT_LIMIT = 4  #: exit code when --max-wall stops a command
RESUMABLE = ("qshock train", "qshock experiment")  #: commands that take --resume

_STATE = {"prog": "qshock", "installed": False}


def set_prog(prog: str) -> None:
    """Name used in the one-line interrupt message (``qshock solve``)."""
    _STATE["prog"] = prog


def install() -> bool:
    """Route SIGINT/SIGTERM to the cleanup thread (see module docstring). Main thread only; once."""
    if _STATE["installed"] or threading.current_thread() is not threading.main_thread():
        return _STATE["installed"]
    sigs = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    threading.Thread(target=_wait_for_signal, args=(sigs,), daemon=True, name="qshock-signals").start()
    _STATE["installed"] = True
    return True


def _wait_for_signal(sigs) -> None:
    sig = signal.sigwait(sigs)
    _abort(128 + int(sig), "interrupted" if sig == signal.SIGINT else "terminated")


def _abort(code: int, message: str) -> None:
    """Clean up partial outputs, print one line and end the process at once."""
    kept = []
    try:
        from qshock.experiments.lab.runstore import cleanup_partial

        kept = cleanup_partial()
    except BaseException:  # noqa: BLE001 - never die before the exit below
        pass
    finally:
        if kept and _STATE["prog"] in RESUMABLE:  # not for e.g. `qshock figures RUN_DIR`: nothing to resume
            message += f" (run directory {kept[0]} kept; continue it with --resume)"
        try:
            lead = "\n" if os.isatty(2) else ""  # off the line of a progress bar
            os.write(2, f"{lead}{_STATE['prog']}: {message}\n".encode())
        finally:
            os._exit(code)


def start_wall_limit(seconds) -> None:
    """Stop the command after ``seconds`` of wall time (cleanup as for an interrupt, exit code 4)."""
    if seconds is None:
        return
    s = float(seconds)
    if not (math.isfinite(s) and s > 0):
        raise QShockInputError(f"--max-wall must be a positive number of seconds, got {seconds!r}")
    t = threading.Timer(s, _abort, (EXIT_LIMIT, f"stopped after --max-wall {s:g} s (no output written)"))
    t.daemon = True
    t.start()


# ---------------------------------------------------------------- output paths
def _probe(folder: str, flag: str, shown: str) -> None:
    try:
        fd, p = tempfile.mkstemp(prefix=".tmp-probe-", dir=folder)
        os.close(fd)
        os.unlink(p)
    except OSError as e:
        raise QShockInputError(f"{flag} {shown}: cannot write in {folder} ({e.strerror or e})") from None


def check_output_file(path, flag: str = "--out", suffixes=(".nc",)) -> str:
    """Check before any work that ``path`` can be written as a file; returns it unchanged."""
    if path is None or str(path).strip() == "":
        raise QShockInputError(f"{flag} needs a file name")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise QShockInputError(f"{flag} {path} is a directory; give a file name")
    if suffixes and not path.endswith(tuple(suffixes)):
        raise QShockInputError(f"{flag} must name a {' or '.join(suffixes)} file, got {path!r}")
    if os.path.exists(path) and not os.path.isfile(path):
        raise QShockInputError(f"{flag} {path} exists and is not a regular file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise QShockInputError(f"{flag} {path}: directory {folder} does not exist")
    _probe(folder, flag, path)
    return path


def check_output_dir(path, flag: str = "--out") -> str:
    """Check before any work that ``path`` is (or can be created as) a writable directory."""
    if path is None or str(path).strip() == "":
        raise QShockInputError(f"{flag} needs a directory name")
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise QShockInputError(f"{flag} {path} exists and is not a directory")
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise QShockInputError(f"{flag} {path}: {probe} is not a directory")
    _probe(probe, flag, path)
    return path


# ---------------------------------------------------------------- resources
def available_memory() -> float:
    """Available memory in bytes (``MemAvailable`` of /proc/meminfo; 8 GB when unknown)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 8e9


def _gb(b: float) -> str:
    return f"{b / 1e9:.3g} GB"


def check_memory(shape, n_out: int, components: int = 1, force: bool = False, flag: str = "--n") -> float:
    r"""Estimated peak bytes of a solve on ``shape`` cells with ``n_out`` snapshots; refuse above
    half the available memory unless ``force``.

    Estimate (float64): :math:`8\,c\,N\,(n_{out}(1 + d) + 40) + 8\cdot 4\cdot 3^d N` bytes for
    :math:`N` cells, :math:`c` components and dimension :math:`d`: the snapshots of ``u`` and of
    ``p = ∇u``, about 40 work arrays of the time stepper (RK stages, reconstruction stencils),
    and the Gauss-point arrays of the initial cell averages.
    """
    d = len(shape)
    cells = float(math.prod(int(n) for n in shape))
    need = 8.0 * components * cells * (n_out * (1 + d) + 40) + 8.0 * 4 * 3 ** d * cells
    limit = 0.5 * available_memory()
    if need > limit and not force:
        raise QShockInputError(f"{flag} {','.join(map(str, shape))}: the solve needs about {_gb(need)} "
                               f"({cells:.3g} cells, {n_out} snapshots), more than half the available memory "
                               f"({_gb(limit)}); use a smaller {flag}, fewer output times, or --force")
    return need


def check_steps(estimate: float, max_steps: int, detail: str, force: bool = False) -> None:
    """Refuse a solve whose estimated number of time steps exceeds ``--max-steps`` (an infinite
    estimate, e.g. ``--t1 1e308``, too; NaN means "not estimated": adaptive solvers)."""
    if max_steps < 1:
        raise QShockInputError(f"--max-steps must be a positive integer, got {max_steps}")
    if math.isnan(estimate):
        return
    if estimate > max_steps and not force:
        raise QShockInputError(f"about {estimate:.2g} time steps needed ({detail}), more than --max-steps "
                               f"{max_steps}; lower --nu, --n or --t1, or raise --max-steps")


def print_line(text: str, quiet: bool = False) -> None:
    """A progress line on stderr (nothing with ``--quiet``)."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)
