"""The command line checked from outside (helper hcli): inputs, directories and files that no issue
names, each found to misbehave (internal error, traceback, wrong exit code, clobbered files) and
fixed. Every refusal must be exit 2 with exactly one line on stderr naming the problem, before
any work and with nothing left behind.
"""

from __future__ import annotations

import os

import pytest

from qshock.experiments.cli.main import main

SOLVE = ["solve", "--equation", "burgers", "--domain", "0:2*pi", "--n", "64", "--ic", "sin(x)", "--t1", "0.5"]


def _listing(folder):
    return sorted(os.path.relpath(os.path.join(r, f), folder) for r, ds, fs in os.walk(folder) for f in fs + ds)


def _refused(argv, capsys, tmp_path, needle, code=2):
    """``main(argv)`` exits ``code`` with one stderr line containing ``needle``; ``tmp_path`` unchanged."""
    before = _listing(tmp_path)
    capsys.readouterr()
    assert main([a.replace("{t}", str(tmp_path)) for a in argv]) == code
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "internal error" not in err, err
    assert _listing(tmp_path) == before
    return lines[0]


# ------------------------------------------------------------------ solve: extreme numbers
@pytest.mark.parametrize("argv,needle", [
    # the step estimate was infinite and passed the --max-steps check: OverflowError in the progress bar
    (SOLVE[:-1] + ["1e308"], "about inf time steps"),
    # cell widths whose square under- or overflows: ZeroDivisionError / OverflowError in the CFL step
    (["solve", "--equation", "burgers", "--domain", "0:1e-300", "--n", "64", "--ic", "sin(x)", "--t1", "1"],
     "cell width"),
    (["solve", "--equation", "burgers", "--domain", "1e300:1.0000001e300", "--n", "64", "--ic", "sin(x)", "--t1",
      "1"], "cell width"),
    (["solve", "--equation", "burgers", "--domain", "-1e308:1e308", "--n", "64", "--ic", "sin(x)", "--t1", "1"],
     "cell width"),
    (SOLVE + ["--max-steps", "0"], "--max-steps must be a positive integer"),
])
def test_solve_extreme_numbers_refused(argv, needle, tmp_path, capsys):
    _refused(argv + ["--out", "{t}/x.nc"], capsys, tmp_path, needle)
    _refused(["shocks", *argv[1:], "--json"], capsys, tmp_path, needle)


def test_grid_cell_width_bounds():
    from qshock.errors import QShockInputError
    from qshock.solver.grid import MAX_CELL, MIN_CELL, Grid

    Grid((0.0,), (64 * MIN_CELL,), (64,))  # the bounds themselves are accepted
    Grid((0.0,), (64 * MAX_CELL,), (64,))
    for hi in (0.5 * 64 * MIN_CELL, 2.0 * 64 * MAX_CELL):
        with pytest.raises(QShockInputError, match="cell width"):
            Grid((0.0,), (hi,), (64,))
