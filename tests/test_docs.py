"""The documentation has one source: the site builds strictly, the README is short, and every
generated number in it equals the file the runs wrote (docs/gen.py, docs/data/)."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _gen():
    spec = importlib.util.spec_from_file_location("docs_gen", ROOT / "docs" / "gen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _mkdocs():
    exe = Path(sys.executable).parent / "mkdocs"
    if exe.exists():
        return [str(exe)]
    if importlib.util.find_spec("mkdocs") is not None:
        return [sys.executable, "-m", "mkdocs"]
    return None


def test_mkdocs_build_strict(tmp_path):
    cmd = _mkdocs()
    if cmd is None:
        pytest.skip("mkdocs is not installed in this environment (pip install -e '.[docs]'; `make test` does)")
    proc = subprocess.run(cmd + ["build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    site = tmp_path / "site"
    # the API reference is generated from the docstrings, and the numbers from docs/data/
    api = (site / "api" / "solver.html").read_text()
    assert 'id="qshock.solver.solve"' in api and "build_stepper" in api
    home = (site / "index.html").read_text()
    rows = json.loads((ROOT / "docs" / "data" / "verify.json").read_text())["rows"]
    assert html.escape(rows[-1]["measured"], quote=False) in home


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= 250, f"README.md has {n} lines (at most 250; the rest belongs in docs/)"


def test_readme_setup_commands_are_make_demo_and_make_test():
    text = README.read_text()
    setup = re.search(r"^## Set-up.*?\n```[a-z]*\n(.*?)```", text, re.S | re.M)
    assert setup, "README.md needs a '## Set-up' section whose first code block holds the commands"
    commands = [line.split("#")[0].strip() for line in setup.group(1).splitlines() if line.split("#")[0].strip()]
    assert commands == ["make demo", "make test"]


def test_readme_generated_blocks_equal_their_files():
    gen = _gen()
    blocks = gen.readme_blocks(README.read_text())
    files = {f for f, _ in blocks}
    assert {"cli/demo.txt", "verify_headline.md", "headline.md"} <= files, files
    for rel, found in blocks:
        assert found == gen.render_block(rel), f"README block {rel} is stale: run `python docs/gen.py --readme`"


def test_verify_tables_escape_and_split_by_topic():
    gen = _gen()
    report = {"rows": [{"check": "Order: Burgers weno5", "formula": "a | b", "expected": ">= 4.5",
                        "measured": "5.03", "pass": True},
                       {"check": "Laplace–Beltrami spectrum on S²", "formula": "-Δ Y = l(l+1) Y",
                        "expected": "< 1e-9", "measured": "3e-15", "pass": False}],
              "passed": 1, "failed": 1}
    tables = gen.verify_tables(report)
    assert "a \\| b" in tables["verify"] and "1 passed, 1 failed" in tables["verify"]
    assert tables["verify_schemes"].count("\n") == 3 and "FAIL" in tables["verify_manifolds"]
    assert "Order:" not in tables["verify_manifolds"]


def test_split_bench_drops_environment_and_names_tables():
    gen = _gen()
    md = ("qshock benchmarks on x86_64 with 2 cores\n\n### fv benchmark environment\n\n| git commit |\n|---|\n"
          "| abc |\n\n### 2-D eikonal HJ, WENO5\n\n| N | code |\n|---|---|\n| 101^2 | qshock |\n")
    parts = gen.split_bench(md)
    assert set(parts) == {"header", "eikonal"} and "abc" not in "".join(parts.values())
    assert "| 101^2 | qshock |" in parts["eikonal"]


def test_docstrings_point_to_files_in_the_repository():
    """No DESIGN.md/THEORY.md (not in the repository); every docs/*.md named exists, or is a page the
    site's nav declares (a guide page another engineer is writing: mkdocs.yml lists it already)."""
    declared = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    bad = []
    for folder in ("solver", "manifolds", "experiments", "src"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            for m in re.finditer(r"\b(DESIGN\.md|THEORY\.md)|\b(docs/[\w./-]+\.md)", text):
                if m.group(1) or not ((ROOT / m.group(2)).exists() or m.group(2)[len("docs/"):] in declared):
                    bad.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert not bad, "references to files not in the repository:\n" + "\n".join(bad)


def test_docs_readme_copies_are_gone():
    assert not (ROOT / "docs" / "readme").exists()
    assert shutil.which("git") is None or "docs/readme/" not in subprocess.run(
        ["git", "ls-files", "docs/readme"], cwd=ROOT, capture_output=True, text=True).stdout
