"""The ``qshock`` command line (contract: DESIGN.md §4).

Every subcommand reports bad input with exit code 2 and a single line on stderr
(``qshock <cmd>: error: ...``), never a traceback; a numerical blow-up exits with code 3
and names the time and place.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
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

    s = sub.add_parser("solve", help="solve a Burgers or HJ problem and write NetCDF")
    add_problem_arguments(s)
    s.add_argument("--out", metavar="FILE.nc", help="output NetCDF file (written atomically)")

    s = sub.add_parser("shocks", help="predicted and detected shock time and place")
    add_problem_arguments(s)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--out", metavar="FILE.nc", help="also write the solution")

    s = sub.add_parser("verify", help="the theorem and convergence table")
    s.add_argument("--quick", action="store_true", help="the fast subset (< 2 minutes)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--figures", metavar="DIR", help="write publication figures here")

    s = sub.add_parser("train", help="train a network with SGD and log quotient observables")
    from qshock.experiments.cli.train import add_arguments as train_arguments

    train_arguments(s)

    s = sub.add_parser("experiment", help="run a named study")
    s.add_argument("name")
    s.add_argument("--config", metavar="FILE.toml", help="parameters overriding the defaults")
    s.add_argument("--quick", action="store_true", help="the small configuration (minutes on 2 cores)")
    s.add_argument("--seeds", type=int, help="number of seeds (0..K-1)")
    s.add_argument("--out", metavar="DIR", help="study directory (default runs/NAME)")
    s.add_argument("--resume", action="store_true", help="reuse finished items of DIR")
    s.add_argument("--json", action="store_true", help="print the summary statistics as JSON")

    s = sub.add_parser("figures", help="draw the figures of a run directory")
    s.add_argument("run_dir")
    s.add_argument("--format", choices=("pdf", "png", "svg"), default="pdf")

    s = sub.add_parser("demo", help="the main job on embedded defaults")
    s.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    return p


def _enable_x64():
    import jax

    jax.config.update("jax_enable_x64", True)


def cmd_solve(args) -> int:
    from qshock.experiments.cli.problem import build_problem

    if args.out is None and getattr(args, "config", None) is None:
        raise _InputError("--out FILE.nc is required")
    prob = build_problem(args)
    if args.out is None:
        raise _InputError("--out FILE.nc is required")
    if not str(args.out).endswith(".nc"):
        raise _InputError(f"--out must name a .nc file, got {args.out!r}")
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise _InputError(f"--out: directory {out_dir!r} does not exist")
    sol = prob.solve()
    attrs = {"qshock_version": __version__, "command_line": " ".join(shlex.quote(a) for a in _COMMAND_LINE),
             "ic": prob.ic_text, "t1": prob.t1}
    sol = _with_burgers_p(sol)
    sol.to_netcdf(args.out, attrs=attrs)
    import numpy as np

    u = np.asarray(sol.u[-1])
    print(f"solved {prob.equation.name} on {'x'.join(map(str, prob.grid.shape))} cells to t={prob.t1:g} "
          f"in {int(sol.n_steps)} steps ({sol.metadata.get('scheme')}"
          + (f", flux {sol.metadata['flux']}" if sol.metadata.get("flux") else "") + "); "
          f"u in [{u.min():.6g}, {u.max():.6g}]; wrote {args.out}")
    return 0


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
    from qshock.experiments.verify.checks import run as run_verify

    return run_verify(args)


def cmd_train(args) -> int:
    from qshock.experiments.cli.train import run as run_train

    return run_train(args)


def cmd_experiment(args) -> int:
    from qshock.experiments.studies.driver import run as run_study

    return run_study(args)


def cmd_figures(args) -> int:
    from qshock.experiments.studies.figures import run as run_figures

    return run_figures(args)


def cmd_demo(args) -> int:
    from qshock.experiments.cli.demo import run as run_demo

    return run_demo(args)


COMMANDS = {"solve": cmd_solve, "shocks": cmd_shocks, "verify": cmd_verify, "train": cmd_train,
            "experiment": cmd_experiment, "figures": cmd_figures, "demo": cmd_demo}


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


_COMMAND_LINE: list = []


def main(argv=None) -> int:
    """Entry point of the ``qshock`` console script."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    _COMMAND_LINE[:] = ["qshock", *argv]
    args = parser.parse_args(_join_negative_values(argv, parser))
    if args.command is None:
        parser.print_help()
        return 0
    prog = f"qshock {args.command}"
    if args.command != "train" or getattr(args, "dtype", None) != "float32":
        _enable_x64()
    from qshock.errors import BlowUpError, QShockInputError

    try:
        return int(COMMANDS[args.command](args) or 0)
    except BlowUpError as exc:
        return _fail(prog, str(exc), 3)
    except (QShockInputError, _InputError, ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        if os.environ.get("QSHOCK_DEBUG"):
            raise
        return _fail(prog, str(exc) or type(exc).__name__, 2)
    except KeyboardInterrupt:
        return _fail(prog, "interrupted", 130)
    except Exception as exc:  # an internal failure: still one line, details with QSHOCK_DEBUG=1
        if os.environ.get("QSHOCK_DEBUG"):
            raise
        return _fail(prog, f"internal error ({type(exc).__name__}: {exc}); rerun with QSHOCK_DEBUG=1 for details", 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
