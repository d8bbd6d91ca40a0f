"""House rules that a reviewer would otherwise check by hand."""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("solver", "manifolds", "experiments", "src")


def _sources(tops=PACKAGES):
    for top in tops:
        for dirpath, dirnames, files in os.walk(os.path.join(ROOT, top)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for f in files:
                if f.endswith(".py"):
                    path = os.path.join(dirpath, f)
                    with open(path) as fh:
                        yield os.path.relpath(path, ROOT), fh.read()


def test_no_function_longer_than_80_lines():
    long = []
    for rel, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 80:
                    long.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long


def test_no_private_name_crosses_a_package():
    """``from qshock.X._private import`` / ``qshock.X.mod._name`` only inside package X."""
    bad = []
    pat = re.compile(r"from qshock\.(\w+)((?:\.\w+)*) import ([^\n]+)")
    for rel, text in _sources(PACKAGES + ("benchmarks", "tests", "docs")):
        here = rel.split(os.sep)[0]
        for m in pat.finditer(text):
            pkg, mods, names = m.group(1), m.group(2), m.group(3)
            if pkg == here or here == "tests":  # unit tests may test private helpers
                continue
            private_mod = any(part.startswith("_") for part in mods.split(".") if part)
            private_name = any(n.strip().split(" as ")[0].startswith("_") for n in names.strip("()").split(","))
            if private_mod or private_name:
                bad.append(f"{rel}: {m.group(0)}")
    assert not bad, bad


def test_float64_switched_on_only_at_the_command_line():
    hits = [rel for rel, text in _sources()
            if 'jax_enable_x64", True' in text and not rel.startswith(os.path.join("experiments", "cli"))]
    assert not hits, hits
