"""The lint habit: one ruff version everywhere (extras, constraints, pre-commit) and `make lint` in CI."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as fh:
        return fh.read()


def test_ruff_pinned_once_and_within_the_test_extra_range():
    pin = re.search(r"^ruff==(\d+)\.(\d+)\.(\d+)$", _read("constraints.txt"), re.M)
    assert pin, "constraints.txt pins ruff"
    hook = re.search(r'"ruff==([\d.]+)"', _read(".pre-commit-config.yaml"))
    assert hook and hook.group(1) == ".".join(pin.groups())
    rng = re.search(r'"ruff>=(\d+)\.(\d+),<(\d+)\.(\d+)"', _read("pyproject.toml"))
    assert rng, "pyproject.toml: ruff in the test extra with a version range"
    lo, hi = (int(rng.group(1)), int(rng.group(2))), (int(rng.group(3)), int(rng.group(4)))
    assert lo <= (int(pin.group(1)), int(pin.group(2))) < hi


def test_ruff_configured_and_ci_lints_before_testing():
    py = _read("pyproject.toml")
    assert "[tool.ruff]" in py and "line-length = 120" in py and "[tool.ruff.lint]" in py
    make = _read("Makefile")
    assert re.search(r"^lint:.*\n\t\$\(VENV\)/bin/ruff check solver manifolds experiments benchmarks tests src$", make, re.M)
    ci = [ln.strip() for ln in _read(".ci/run").splitlines() if ln.strip().startswith("make ")]
    assert ci.index("make lint") < ci.index("make test")
