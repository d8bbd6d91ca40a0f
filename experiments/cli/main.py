"""The ``qshock`` command line (contract: docs/guide/cli.md).

Every subcommand reports bad input with exit code 2 and a single line on stderr
(``qshock <cmd>: error: ...``), never a traceback; a numerical blow-up exits with code 3
and names the time and place.

Exit codes: 0 done; 1 internal error; 2 bad input (checked before any work: flags, output
paths, resource estimates); 3 numerical blow-up or non-finite training loss; 4 stopped by
``--max-wall``; 130 interrupted (SIGINT), 143 terminated (SIGTERM): partial outputs are deleted
and run directories with a checkpoint are kept for ``--resume``
(:mod:`qshock.experiments.cli.guard`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from qshock.experiments import __version__

__all__ = ["main", "build_parser"]

EXAMPLES = """examples:
  qshock solve --equation burgers --domain 0:2*pi --n 256 --ic 'sin(x)' --t1 2 --scheme weno5 --out burgers.nc
  qshock solve --equation hj --domain -1:1 --n 200 --ic '-cos(pi*x)' --nu 0.01 --t1 0.5 --save-every 0.1 --out hj.nc
  qshock solve --equation hj --manifold sphere --n 64,128 --ic 'cos(theta)' --nu 0.05 --t1 1 --out s2.nc
  qshock shocks --equation burgers --domain 0:2*pi --n 512 --ic 'sin(x)' --t1 1.5 --json
  qshock verify --quick
  qshock train --model mlp --data digits --lr 0.1 --batch 64 --steps 500 --out runs/mlp
  qshock demo
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _fail(prog: str, message: str, code: int = 2) -> int:
    msg = " ".join(str(message).split())
    print(f"{prog}: error: {msg}", file=sys.stderr)
    return code


def build_parser() -> argparse.ArgumentParser:
    from qshock.experiments.cli.problem import add_problem_arguments

    p = _Parser(prog="qshock", description="Viscous Hamilton-Jacobi and Burgers equations on quotient manifolds "
                "of neural-network parameter spaces, and shocks in SGD training.",
                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"qshock {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("solve", help="solve a Burgers or HJ problem and write NetCDF",
                       usage=_problem_usage("solve", "--out FILE.nc"))
    add_problem_arguments(s)
    s.add_argument("--out", metavar="FILE.nc", help="output NetCDF file (required; written atomically)")
    s.add_argument("--devices", type=int, metavar="N", help="split the grid over N devices (CPU: host devices, at most one per core)")
    _add_limit_arguments(s)

    s = sub.add_parser("shocks", help="predicted and detected shock time and place",
                       usage=_problem_usage("shocks", "[--out FILE.nc] [--json]"))
    add_problem_arguments(s)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--out", metavar="FILE.nc", help="also write the solution")
    _add_limit_arguments(s)

    s = sub.add_parser("verify", help="the theorem and convergence table")
    s.add_argument("--quick", action="store_true", help="the fast subset (< 2 minutes)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--figures", metavar="DIR", help="write publication figures here")
    s.add_argument("--strict", action="store_true", help="fail (exit 1) when a row is skipped, not only when one fails")

    s = sub.add_parser("train", help="train a network with SGD and log quotient observables")
    from qshock.experiments.cli.train import add_arguments as train_arguments

    train_arguments(s)

    s = sub.add_parser("experiment", help="run a named study (qshock list studies)",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.format_help = _with_studies(s.format_help)  # the study list is built only when asked for
    s.add_argument("name")
    s.add_argument("--config", metavar="FILE.toml", help="parameters overriding the defaults")
    s.add_argument("--quick", action="store_true", help="the small configuration (minutes on 2 cores)")
    s.add_argument("--seeds", type=int, help="number of seeds (0..K-1)")
    s.add_argument("--out", metavar="DIR", help="study directory (default runs/NAME)")
    s.add_argument("--resume", action="store_true", help="reuse finished items of DIR")
    s.add_argument("--json", action="store_true", help="print the summary statistics as JSON")
    s.add_argument("--executor", choices=("local", "ray"), default="local", help="items in this process or as Ray tasks")
    s.add_argument("--address", metavar="HOST:PORT", help="Ray cluster head for --executor ray (default: a local one)")

    s = sub.add_parser("monitor", help="live instability forecasts of a training run directory")
    from qshock.experiments.cli.monitor import add_arguments as monitor_arguments

    monitor_arguments(s)

    s = sub.add_parser("figures", help="draw the figures of a run directory")
    s.add_argument("run_dir")
    s.add_argument("--format", choices=("pdf", "png", "svg"), default="pdf")

    s = sub.add_parser("list", help="one line per manifold, chart, scheme, flux or study")
    s.add_argument("what", choices=("manifolds", "charts", "schemes", "fluxes", "studies"))

    s = sub.add_parser("plot", help="draw a solution file (x-t diagram, snapshots, S^2 map)")
    from qshock.experiments.cli.plot import add_arguments as plot_arguments

    plot_arguments(s)

    s = sub.add_parser("demo", help="the main job on embedded defaults")
    s.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    return p


def _problem_usage(cmd: str, out: str) -> str:
    """Usage line with the required problem flags unbracketed (given here or as --config keys)."""
    return (f"qshock {cmd} [--config FILE.toml] --equation {{burgers,hj}} --domain LO:HI[,LO:HI...] --n N[,N...] "
            f"--ic EXPR --t1 T {out}\n{' ' * (len(cmd) + 14)}[--manifold NAME] [--chart NAME] [--bc BC] [--nu NU] "
            "[--scheme S] [--flux F] [--cfl C] [--save-every DT | --times T1,...] [--max-steps N] [--max-wall S] "
            "[--force] [--quiet] [...]\n(unbracketed flags are required, on the command line or as keys of "
            "--config; on a manifold the chart supplies --domain)")


def _with_studies(format_help):
    def fmt():
        from qshock.experiments.cli.listing import studies_help

        return format_help() + "\n" + studies_help() + "\n"
    return fmt


def _add_limit_arguments(s) -> None:
    """Resource limits of a solve (checked before any work; see qshock.experiments.cli.guard)."""
    s.add_argument("--max-steps", dest="max_steps", type=int, default=1_000_000,
                   help="refuse (before starting) or stop a solve needing more time steps (default 1000000)")
    s.add_argument("--max-wall", dest="max_wall", type=float, metavar="SECONDS",
                   help="stop after this wall time (exit 4, no output)")
    s.add_argument("--force", action="store_true", help="skip the memory and step-count estimates")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _enable_x64():
    import jax

    jax.config.update("jax_enable_x64", True)


def cmd_solve(args) -> int:
    from qshock.experiments.cli import guard
    from qshock.experiments.cli.problem import apply_config, build_problem
    from qshock.experiments.lab.runstore import track_output

    check_config_file(getattr(args, "config", None))
    apply_config(args)
    if args.out is None:
        raise _InputError("--out FILE.nc is required")
    guard.check_output_file(args.out, "--out")  # before any work
    prob = build_problem(args)
    check_solve_resources(prob, args)
    track_output(args.out)
    sol = solve_with_limits(prob, args)
    sol = _with_burgers_p(sol)
    write_solution(sol, prob, args, args.out)
    import numpy as np

    u = np.asarray(sol.u[-1])
    print(f"solved {prob.equation.name} on {'x'.join(map(str, prob.grid.shape))} cells to t={prob.t1:g} "
          f"in {int(sol.n_steps)} steps ({sol.metadata.get('scheme')}"
          + (f", flux {sol.metadata['flux']}" if sol.metadata.get("flux") else "") + "); "
          f"u in [{u.min():.6g}, {u.max():.6g}]; wrote {args.out}")
    return 0


def check_solve_resources(prob, args) -> None:
    """Memory and step-count estimates against the limits (exit 2 before any work); starts --max-wall."""
    import numpy as np

    from qshock.experiments.cli import guard

    force = bool(getattr(args, "force", False))
    warn_periodic_seam(prob, _prog(args))
    comps = np.shape(prob.u0)[0] if np.ndim(prob.u0) > prob.grid.ndim else 1
    guard.check_memory(prob.grid.shape, len(prob.times), comps, force)
    n, detail = estimate_problem_steps(prob)
    guard.check_steps(n, int(getattr(args, "max_steps", 1_000_000)), detail, force)
    args.long_solve = not (n * np.prod(prob.grid.shape) < 2e6 and n < 2000)  # worth progress lines
    guard.print_line(f"{_prog(args)}: {'x'.join(map(str, prob.grid.shape))} cells, about {n:.3g} time steps to "
                     f"t1={prob.t1:g}", quiet=getattr(args, "quiet", False) or not args.long_solve)
    guard.start_wall_limit(getattr(args, "max_wall", None))


def warn_periodic_seam(prob, prog: str, rtol: float = 1e-6) -> bool:
    """One warning line on stderr when ``--ic`` differs at the two faces of a periodic axis (e.g.
    ``sin(x)`` on ``0:1``): the periodic data then jump at the seam. Returns True if it warned."""
    import numpy as np

    if prob.ic_fn is None or prob.manifold is not None:
        return False
    g = prob.grid
    centres = [np.asarray(g.centres(a)) for a in range(g.ndim)]
    for a, b in enumerate(g.boundaries):
        if getattr(b, "kind", b) != "periodic":
            continue
        pts = [c[:: max(1, c.size // 64)] for c in centres]
        lo, hi = list(pts), list(pts)
        lo[a], hi[a] = np.array([g.lower[a]]), np.array([g.upper[a]])
        f_lo = np.asarray(prob.ic_fn(*np.meshgrid(*lo, indexing="ij")), dtype=float)
        f_hi = np.asarray(prob.ic_fn(*np.meshgrid(*hi, indexing="ij")), dtype=float)
        gap = float(np.max(np.abs(f_hi - f_lo)))
        scale = max(float(np.max(np.abs(prob.u0))), 1e-300)
        if gap > rtol * scale:
            name = g.axis_names[a]
            print(f"{prog}: warning: --ic differs across the periodic seam {name}={g.lower[a]:g} | "
                  f"{name}={g.upper[a]:g} by up to {gap:.3g}: the periodic data jump there (use a period-"
                  f"matching --domain or a non-periodic --bc)", file=sys.stderr)
            return True
    return False


def _prog(args) -> str:
    return f"qshock {getattr(args, 'command', 'solve')}"


def estimate_problem_steps(prob) -> tuple[float, str]:
    """Estimated number of time steps of ``prob`` and how it was estimated."""
    import math

    import numpy as np

    if prob.scheme == "spectral":
        if prob.manifold is not None:
            return math.nan, "sphere: adaptive"
        from qshock.solver.spectral import default_dt

        dt = default_dt(prob.equation, prob.grid, prob.u0)
        if not dt > 0:
            raise _InputError(_NO_STEP)
        return prob.t1 / dt, f"pseudo-spectral, dt = 0.25 dx/max|v0| = {dt:.3g}"
    from qshock.solver.stepping import estimate_steps

    eq = prob.equation
    if prob.method == "imex":  # the diffusion is propagated exactly: only the advective CFL sets the step
        import dataclasses

        eq = dataclasses.replace(eq, nu=0.0)
    kw = dict(scheme=prob.scheme, flux=prob.flux, limiter=prob.limiter, diffusion_order=prob.diffusion_order,
              cfl=prob.cfl)
    n = estimate_steps(eq, prob.grid, np.asarray(prob.u0), prob.t1, **kw)
    dt = prob.t1 / n
    if math.isinf(n):  # a huge --t1, or a stable step of 0 or NaN
        dt = 1.0 / estimate_steps(eq, prob.grid, np.asarray(prob.u0), 1.0, **kw)
        if not dt > 0:
            raise _InputError(_NO_STEP)
    return n, f"CFL {prob.cfl:g}, dt = {dt:.3g} from the initial data and nu"


_NO_STEP = ("the initial data give no finite stable time step: the wave speed (|u|, or |dH/dp| of --hamiltonian "
            "at the gradients of --ic) is infinite or NaN on the grid")


def solve_with_limits(prob, args):
    """``prob.solve()`` with ``--max-steps``; the solver's max_steps message names the flag."""
    from qshock.errors import QShockInputError

    max_steps = int(getattr(args, "max_steps", 1_000_000))
    bar = _progress_bar(prob, args)
    try:
        if bar is None:
            return prob.solve(max_steps=max_steps)
        return prob.solve(max_steps=max_steps, progress=lambda t, n: _advance(bar, float(t), int(n)))
    except QShockInputError as exc:
        if "max_steps" in str(exc):
            raise QShockInputError(f"time stepping stopped after --max-steps {max_steps} steps before "
                                   f"t1={prob.t1:g}; raise --max-steps or coarsen --n") from None
        raise
    finally:
        if bar is not None:
            bar.close()


def _progress_bar(prob, args):
    """A tqdm bar over simulated time on stderr (finite-volume SSP-RK3 solves; off with --quiet)."""
    if (getattr(args, "quiet", False) or not getattr(args, "long_solve", True) or prob.scheme == "spectral"
            or prob.method != "ssprk3"):
        return None
    from tqdm import tqdm

    return tqdm(total=float(prob.t1), unit="t", file=sys.stderr, mininterval=1.0, desc=_prog(args),
                bar_format="{desc}: t={n:.4g}/{total:.4g} |{bar}| {elapsed}<{remaining} {postfix}")


def _advance(bar, t: float, n: int) -> None:
    bar.set_postfix_str(f"{n} steps", refresh=False)
    bar.update(max(0.0, min(t, bar.total) - bar.n))  # tqdm throttles to one line a second (mininterval)


def write_solution(sol, prob, args, path, extra=None) -> str:
    """Write ``sol`` as a CF-described NetCDF file (atomic; umask permissions); Burgers with ``p = u``."""
    from qshock.experiments.cli.describe import solution_dataset

    sol = _with_burgers_p(sol)  # every writer (solve, shocks --out) stores u, and p for the Burgers form
    from qshock.experiments.lab.runstore import write_netcdf

    ds = solution_dataset(sol, ic=prob.ic_text, t1=prob.t1, command_line=args.command_line, version=__version__,
                          hamiltonian=getattr(args, "hamiltonian", None), manifold=prob.manifold, extra=extra)
    return write_netcdf(ds, path)


def _with_burgers_p(sol):
    """For --equation burgers the Burgers field is also the momentum p = du: store it as p too."""
    import equinox as eqx

    if sol.metadata.get("equation") == "burgers" and sol.p is None:
        return eqx.tree_at(lambda s: s.p, sol, sol.u, is_leaf=lambda x: x is None)
    return sol


class _InputError(ValueError):
    pass


def cmd_shocks(args) -> int:
    from qshock.experiments.cli.shocks import run as run_shocks

    return run_shocks(args)


def cmd_verify(args) -> int:
    if getattr(args, "figures", None) is not None:  # before the (long) table: a bad folder must not lose it
        from qshock.experiments.cli.guard import check_output_dir
        from qshock.experiments.lab.runstore import track_output

        check_output_dir(args.figures, "--figures")
        track_output(args.figures)
    from qshock.experiments.verify import run as run_verify

    return run_verify(args)


def cmd_train(args) -> int:
    from qshock.experiments.cli.train import run as run_train

    return run_train(args)


def cmd_experiment(args) -> int:
    check_config_file(getattr(args, "config", None))
    from qshock.experiments.cli.guard import check_output_dir
    from qshock.experiments.lab.runstore import track_output
    from qshock.experiments.studies.driver import MAX_SEEDS, load_config, resolve_name
    from qshock.experiments.studies.driver import run as run_study

    name = resolve_name(args.name)
    cfg = load_config(name, getattr(args, "config", None), bool(getattr(args, "quick", False)))  # validate first
    import dataclasses

    for f in dataclasses.fields(cfg):
        if isinstance(getattr(cfg, f.name), tuple) and not getattr(cfg, f.name):
            raise _InputError(f"--config: {f.name} is an empty list; give at least one value")
    k = args.seeds if getattr(args, "seeds", None) is not None else getattr(cfg, "seeds", 1)
    if not 1 <= k <= MAX_SEEDS:  # --seeds 10^8 held 12 GB planning items before the first one
        flag = "--seeds" if getattr(args, "seeds", None) is not None else "--config: seeds"
        raise _InputError(f"{flag} must be between 1 and {MAX_SEEDS}, got {k}")
    out = os.path.join("runs", name) if args.out is None else args.out
    check_output_dir(out, "--out")
    if args.resume and not os.path.isfile(os.path.join(out, "config.json")):
        raise _InputError(f"--resume: {out} holds no study (no config.json); drop --resume to start one")
    check_study_dir(out, name)
    track_output(out)

    return run_study(args)


def check_study_dir(out: str, name: str) -> None:
    """``--out`` of ``qshock experiment NAME`` must not hold a training run or another study: the
    study would overwrite its config.json and mix its files in (exit 2 before any work)."""
    import json

    path = os.path.join(out, "config.json")
    if not os.path.isfile(path):
        return
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        raise _InputError(f"--out {out}: {path} is not a readable config.json; choose another directory") from None
    study = doc.get("study") if isinstance(doc, dict) else None
    if study is None:
        what = "a qshock train run" if isinstance(doc, dict) and "config" in doc else "no qshock study"
        raise _InputError(f"--out {out} holds {what} (config.json without a study name); choose another directory")
    if study != name:
        raise _InputError(f"--out {out} holds study {study!r}, not {name!r}; choose another directory")


def check_config_file(path) -> None:
    """``--config`` must be a readable UTF-8 text (TOML) file: one clear line otherwise."""
    if path is None:
        return
    if os.path.isdir(path):
        raise _InputError(f"--config {path} is a directory; give a TOML file")
    if not os.path.isfile(path):
        raise _InputError(f"--config {path}: no such file")
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        head.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _InputError(f"--config {path} is not a UTF-8 TOML text file ({type(e).__name__})") from None
    if b"\0" in head:
        raise _InputError(f"--config {path} is a binary file, not TOML")


def cmd_figures(args) -> int:
    if os.path.isfile(args.run_dir):
        hint = "; draw a solution file with: qshock plot FILE.nc" if args.run_dir.endswith(".nc") else ""
        raise _InputError(f"{args.run_dir} is a file, not a run directory{hint}")
    if os.path.isdir(args.run_dir):
        from qshock.experiments.cli.guard import check_output_dir
        from qshock.experiments.lab.runstore import track_output

        check_output_dir(os.path.join(args.run_dir, "figures"), "figures")
        track_output(args.run_dir)  # an interrupt sweeps the figure temporaries
    from qshock.experiments.studies.figures import run as run_figures

    return run_figures(args)


def cmd_monitor(args) -> int:
    from qshock.experiments.cli.monitor import run as run_monitor

    return run_monitor(args)


def cmd_list(args) -> int:
    from qshock.experiments.cli.listing import run as run_list

    return run_list(args)


def cmd_plot(args) -> int:
    from qshock.experiments.cli.plot import run as run_plot

    return run_plot(args)


def cmd_demo(args) -> int:
    from qshock.experiments.cli.guard import check_output_dir
    from qshock.experiments.lab.runstore import track_output

    check_output_dir(args.out, "--out")
    track_output(args.out)  # an interrupted demo leaves no half-written folder it created
    from qshock.experiments.cli.demo import run as run_demo

    return run_demo(args)


COMMANDS = {"solve": cmd_solve, "shocks": cmd_shocks, "verify": cmd_verify, "train": cmd_train,
            "experiment": cmd_experiment, "figures": cmd_figures, "plot": cmd_plot, "list": cmd_list, "demo": cmd_demo,
            "monitor": cmd_monitor}


def _value_options(parser: argparse.ArgumentParser) -> tuple[set, set]:
    """Option strings that take one value, and all option strings, over every subcommand."""
    takes, every = set(), set()
    parsers = [parser]
    for act in parser._actions:
        if isinstance(act, argparse._SubParsersAction):
            parsers += list(act.choices.values())
    for p in parsers:
        for act in p._actions:
            every.update(act.option_strings)
            if act.option_strings and act.nargs is None and not isinstance(
                    act, (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction,
                          argparse._VersionAction)):
                takes.update(act.option_strings)
    return takes, every


def _join_negative_values(argv, parser):
    """``--domain -1:1`` -> ``--domain=-1:1`` (argparse would read ``-1:1`` as an option)."""
    takes, every = _value_options(parser)
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok in takes and i + 1 < len(argv) and argv[i + 1].startswith("-") and argv[i + 1] not in every:
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def main(argv=None) -> int:
    """Entry point of the ``qshock`` console script (``argv=None``: the real command line, with the
    interrupt handling of :mod:`qshock.experiments.cli.guard`; a list: in-process, e.g. tests)."""
    from qshock.experiments.cli import guard

    argv_given = argv
    if argv is None:
        guard.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-"):
        guard.set_prog(f"qshock {argv[0]}")  # an interrupt while parsing already names the command
    parser = build_parser()
    args = parser.parse_args(_join_negative_values(argv, parser))
    args.command_line = ["qshock", *argv]  # recorded by the writers (NetCDF attrs, run directories)
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"qshock {args.command}"
    guard.set_prog(prog)
    from qshock.experiments.cli import jaxsetup

    jaxsetup.request_devices(getattr(args, "devices", None))  # before JAX starts; only when asked
    if argv_given is None and jaxsetup.cache_wanted(args.command):  # persistent compilation cache
        jaxsetup.configure_cache()
    if args.command != "train" or getattr(args, "dtype", None) != "float32":
        _enable_x64()
    from qshock.errors import BlowUpError, QShockInputError

    from qshock.experiments.lab.runstore import cleanup_partial, forget_outputs

    try:
        with _one_line_warnings(prog):
            code = int(COMMANDS[args.command](args) or 0)
        forget_outputs()
        return code
    except BlowUpError as exc:
        forget_outputs()
        return _fail(prog, str(exc), 3)
    except (QShockInputError, _InputError, ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        if os.environ.get("QSHOCK_DEBUG"):
            raise
        _release(cleanup_partial)
        return _fail(prog, str(exc) or type(exc).__name__, 2)
    except KeyboardInterrupt:  # in-process only: the console script never sees one (guard.install)
        _release(cleanup_partial)
        return _fail(prog, "interrupted", 130)
    except Exception as exc:  # an internal failure: still one line, details with QSHOCK_DEBUG=1
        if os.environ.get("QSHOCK_DEBUG"):
            raise
        _release(cleanup_partial)
        if "RESOURCE_EXHAUSTED" in str(exc):  # XLA could not allocate: the request is too big for this machine
            return _fail(prog, f"out of memory ({str(exc).strip().splitlines()[0][:200]}); ask for less: fewer "
                               "--seeds, a smaller --n, --width or --batch", 2)
        return _fail(prog, f"internal error ({type(exc).__name__}: {exc}); rerun with QSHOCK_DEBUG=1 for details", 1)


@contextlib.contextmanager
def _one_line_warnings(prog: str):
    """Python warnings (e.g. the solver's ResolutionWarning) as one line on stderr,
    ``qshock CMD: warning: ...``, instead of the file, line number and source line."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        kind = "" if issubclass(category, UserWarning) else f"{category.__name__}: "
        print(f"{prog}: warning: {kind}{' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _release(cleanup) -> None:
    """Delete the partial outputs of a failed command (as on an interrupt), then allow writes again."""
    cleanup(release=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
