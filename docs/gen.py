"""Regenerate every number the documentation shows (``make docs-data``).

The documentation never types a measured number by hand. Each one comes from a file below
``docs/data/`` that this script writes by running the real thing:

* ``docs/data/cli/NAME.txt``: ``$ qshock ...`` followed by what the command printed (stdout,
  then stderr and the exit code when it is not 0). The commands are in ``COMMANDS``.
* ``docs/data/examples/NAME.txt``: what ``python docs/examples/NAME.py`` printed. The guide
  shows the script itself with the same snippet mechanism, so the code shown is the code run.
* ``docs/data/verify.json`` (``qshock verify --quick --json``), ``docs/data/verify.md`` (the
  whole table), ``docs/data/verify_TOPIC.md`` (the rows of one topic, see ``TOPICS``) and
  ``docs/data/verify_headline.md`` (the rows the README shows, ``HEADLINE_CHECKS``).
* ``docs/data/bench/TABLE.md``: the tables of ``benchmarks/results.md`` (only with ``--bench``,
  which runs ``python -m benchmarks.run``: minutes on 2 cores; ``make docs-bench``).
* ``docs/data/headline.md``: the headline of the shock-times study (see ``gen_headline``).
* ``docs/data/studies.md``: the README's studies block, one line per study (``gen_studies``).
* ``docs/data/provenance.md``: versions, cores and date of the generation.

The pages include these files with ``pymdownx.snippets`` (``--8<-- "data/cli/demo.txt"``). The
README cannot include files, so its generated blocks sit between ``<!-- gen:FILE -->`` and
``<!-- /gen -->`` markers and this script rewrites them; ``tests/test_docs.py`` checks that
every block equals its file.

Usage::

    python docs/gen.py                 # everything except the benchmarks
    python docs/gen.py --only demo verify examples/solve
    python docs/gen.py --readme        # only redo the headline, the tables and README blocks from docs/data
    python docs/gen.py --bench         # also run the benchmarks (minutes)
    python docs/gen.py --only bench    # only the benchmarks
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
DATA = DOCS / "data"
EXAMPLES = DOCS / "examples"
README = ROOT / "README.md"
_SCRIPT = Path(sys.executable).parent / "qshock"
QSHOCK = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "qshock.experiments.cli.main"]

# name -> the qshock command line (run in a scratch directory, so output files vanish).
COMMANDS = {
    "help": "qshock --help",
    "help_solve": "qshock solve --help",
    "help_train": "qshock train --help",
    "help_experiment": "qshock experiment --help",
    "help_verify": "qshock verify --help",
    "help_plot": "qshock plot --help",
    "list_manifolds": "qshock list manifolds",
    "list_schemes": "qshock list schemes",
    "list_fluxes": "qshock list fluxes",
    "list_studies": "qshock list studies",
    "demo": "qshock demo",
    "solve_burgers": "qshock solve --equation burgers --domain 0:2*pi --n 256 --ic 'sin(x)' "
                     "--t1 2 --scheme weno5 --save-every 0.5 --out burgers.nc",
    "plot_burgers": "qshock plot burgers.nc --shocks --out burgers_xt.pdf",
    "solve_sphere": "qshock solve --equation hj --manifold sphere --n 16,32 "
                    "--ic '-2*0.1*log(1 + 0.5*sin(theta)*cos(phi))' --nu 0.1 --t1 0.5 --out s2.nc",
    "solve_bad_ic": "qshock solve --equation burgers --domain 0:2*pi --n 64 --ic 'sin(y)' --t1 1 "
                    "--out bad.nc",
    "solve_no_domain": "qshock solve --equation hj --manifold sphere --chart stereographic "
                       "--n 16,16 --ic 'y1' --t1 0.1 --out s.nc",
    "shocks_burgers": "qshock shocks --equation burgers --domain 0:2*pi --n 256 --ic 'sin(x)' --t1 1.5",
    "shocks_double_well": "qshock shocks --equation burgers --domain=-1.25:1.25 --bc outflow --n 512 "
                          "--ic 'x**3-x' --t1 1.5 --json",
    "shocks_hj_2d": "qshock shocks --equation hj --domain 0:2*pi,0:2*pi --n 64 "
                    "--ic 'cos(x)+0.5*cos(y)' --t1 1.5",
    "train_mlp": "qshock train --model mlp --data digits --lr 0.1 --batch 64 --steps 200 --seeds 2 "
                 "--out runs/mlp",
    "experiment_eos": "qshock experiment eos --quick",
    "experiment_catapult": "qshock experiment catapult",
    "experiment_conservation": "qshock experiment conservation --seeds 2",
}

# topic -> words; a verify row belongs to a topic when its check name contains one of them.
TOPICS = {
    "schemes": ("Order:", "Cole–Hopf (viscous", "Lax–Oleinik", "Hopf–Lax", "Conservation of mass",
                "Entropy", "Riemann"),
    "shocks": ("shock time", "kink time", "Curved shock"),
    "manifolds": ("Laplace–Beltrami", "on S²", "Symmetry reduction", "Quotient invariance"),
    "spectral": ("Spectral",),
}

# the rows the README shows (its "What is verified"); the site shows the whole table.
HEADLINE_CHECKS = ("Burgers shock time", "Curved shock time on S²", "Cole–Hopf", "Lax–Oleinik", "Order: Burgers weno5",
                   "Order: HJ WENO5", "Conservation of mass", "Riemann", "Laplace–Beltrami", "Viscous HJ exact on S²",
                   "Spectral solver")

# the committed headline of the shock-times study (written by the study as OUT/headline.md).
HEADLINE_GLOBS = ("runs/*/headline.md", "runs/*/*/headline.md")
HEADLINE_MISSING = ("_No committed result yet._ The one-paragraph headline of `qshock experiment shock-times` "
                    "(predicted against observed shock-like events in training) appears here once a run's "
                    "`headline.md` is committed.\n")


def run_command(cmd: str, cwd: str) -> str:
    """Run one ``qshock ...`` command line in ``cwd``; return ``$ cmd`` and what it printed."""
    shell = cmd.replace("qshock ", " ".join(map(shlex.quote, QSHOCK)) + " ", 1)
    proc = subprocess.run(shell, shell=True, cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "100"})
    text = f"$ {cmd}\n{proc.stdout}"
    if proc.returncode != 0:
        text += f"{proc.stderr}(exit code {proc.returncode})\n"
    return text


def run_example(path: Path, cwd: str) -> str:
    """Run ``python docs/examples/NAME.py`` in ``cwd``; return its stdout (fail on an error)."""
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"docs/gen.py: {path.name} failed:\n{proc.stderr}")
    return proc.stdout


def _cell(s) -> str:
    """A table cell: markdown's emphasis and column characters escaped, one line."""
    return re.sub(r"([|*_`])", r"\\\1", str(s)).replace("\n", " ")


def verify_tables(report: dict) -> dict:
    """Markdown tables of a ``qshock verify --json`` report: ``{"verify": all rows, "verify_TOPIC": ...}``."""
    def table(rows):
        head = "| Check | Formula or theorem | Expected | Measured | Pass |\n|---|---|---|---|---|\n"
        body = "".join(f"| {_cell(r['check'])} | {_cell(r['formula'])} | {_cell(r['expected'])} | "
                       f"{_cell(r['measured'])} | {'PASS' if r['pass'] else 'FAIL'} |\n" for r in rows)
        return head + body
    summary = f"{report['passed']} passed, {report['failed']} failed (`qshock verify --quick`)"
    out = {"verify": table(report["rows"]) + f"\n{summary}.\n"}
    heads = [r for r in report["rows"] if r["check"].startswith(HEADLINE_CHECKS)]
    out["verify_headline"] = table(heads) + f"\n{len(heads)} of the {len(report['rows'])} rows; {summary}.\n"
    for topic, words in TOPICS.items():
        rows = [r for r in report["rows"] if any(w in r["check"] for w in words)]
        out[f"verify_{topic}"] = table(rows)
    return out


def write(rel: str, text: str) -> None:
    path = DATA / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote docs/data/{rel}", flush=True)


def gen_verify(cwd: str) -> None:
    proc = subprocess.run(QSHOCK + ["verify", "--quick", "--json"], cwd=cwd, capture_output=True, text=True)
    report = json.loads(proc.stdout)
    write("verify.json", json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def derive_tables() -> None:
    """The markdown tables derived from ``docs/data/verify.json`` (cheap; run on every call)."""
    report = json.loads((DATA / "verify.json").read_text())
    for name, text in verify_tables(report).items():
        write(f"{name}.md", text)


# benchmark table name (prefix) -> docs/data/bench/FILE.md; the environment table (commit, load) is dropped.
BENCH_TABLES = {
    "2-D eikonal HJ": "eikonal", "1-D WENO5 Burgers": "burgers", "profile: 1-D WENO5": "profile_burgers",
    "profile: one 2-D eikonal": "profile_eikonal", "spectral Burgers": "spectral", "training throughput": "training",
    "particles": "particles", "ray sweep": "ray", "ray overhead": "ray",
    "scale:": "scale", "S² viscous HJ": "charts", "S² transforms": "charts",
    "fv benchmark environment": None,
}


def split_bench(md: str) -> dict:
    """``benchmarks/results.md`` -> ``{file stem: markdown}``: its header line and one file per table."""
    header, *sections = md.split("\n### ")
    out = {"header": header.strip() + ". Other work shares these cores, so absolute rates vary from run to run; "
                     "the ratios to the peer codes, measured in the same run, are the numbers to compare.\n"}
    for sec in sections:
        name, _, table = sec.partition("\n")
        stem = next((v for k, v in BENCH_TABLES.items() if name.startswith(k)), "other")
        if stem is not None:
            out[stem] = out.get(stem, "") + f"**{name.strip()}**\n{table.rstrip()}\n\n"
    return out


def gen_bench(cwd: str, modules=()) -> None:
    """Run ``python -m benchmarks.run [MODULE ...]`` (all by default) and split its tables into docs/data/bench/."""
    subprocess.run([sys.executable, "-m", "benchmarks.run", *modules], cwd=ROOT, check=True)
    for stem, text in split_bench((ROOT / "benchmarks" / "results.md").read_text()).items():
        write(f"bench/{stem}.md", text)


def _tracked(path: Path) -> bool:
    return subprocess.run(["git", "ls-files", "--error-unmatch", str(path)], cwd=ROOT, capture_output=True).returncode == 0


def gen_headline() -> None:
    """The README's headline slot: a committed full run's ``headline.md`` if there is one (under
    ``runs/``, else ``docs/data/shock-times/full/``), else the committed ``--quick`` headline of the shock-times guide (``docs/data/shock-times/``, written by
    that study's own generation), marked as such, else a line saying there is none yet."""
    full = [p for p in sorted(p for g in HEADLINE_GLOBS for p in ROOT.glob(g)) if _tracked(p)]
    study_full = DATA / "shock-times" / "full" / "headline.md"
    quick = DATA / "shock-times" / "headline.md"
    if full:
        text = full[0].read_text()
    elif study_full.exists() and _tracked(study_full):
        text = ("From the full configuration (`qshock experiment shock-times`; the guide page *Study: shock "
                "times* shows the run, its statistics and the `--quick` run): " + study_full.read_text())
    elif quick.exists() and _tracked(quick):
        text = ("From the small `--quick` configuration (the guide page *Study: shock times* "
                "shows the run and its statistics): " + quick.read_text())
    else:
        text = HEADLINE_MISSING
    write("headline.md", text)


STUDY_HEADLINES = ("periodic-spikes", "conservation", "phase-diagram")  # docs/data/NAME/headline.md, written by write_doc_data


def gen_studies() -> None:
    """The README's studies block: one line per study from its committed run's ``headline.md``."""
    lines = [f"- {(DATA / n / 'headline.md').read_text().strip()}" for n in STUDY_HEADLINES
             if (DATA / n / "headline.md").exists()]
    write("studies.md", "\n".join(lines) + "\n" if lines else "No study headline is committed yet.\n")


def gen_provenance() -> None:
    import jax

    from qshock import __version__
    write("provenance.md", f"Generated by `python docs/gen.py` on {time.strftime('%Y-%m-%d')}: qshock {__version__}, "
                           f"jax {jax.__version__}, Python {platform.python_version()}, {platform.machine()} "
                           f"with {os.cpu_count()} CPU cores (shared with other work, so timings are "
                           f"indicative; the benchmark tables carry their own anchors).\n")


# --- README blocks -------------------------------------------------------------------------------

BLOCK = re.compile(r"<!-- gen:(?P<file>[^ ]+) -->\n.*?<!-- /gen -->", re.S)


def render_block(rel: str) -> str:
    """The README text for ``docs/data/REL`` (a fenced block for .txt/.py, the text itself for .md)."""
    path = (DATA / rel) if not rel.startswith("examples/") or rel.endswith(".txt") else (DOCS / rel)
    text = path.read_text().rstrip("\n")
    if rel.endswith(".md"):
        return f"<!-- gen:{rel} -->\n{text}\n<!-- /gen -->"
    lang = "python" if rel.endswith(".py") else "text"
    return f"<!-- gen:{rel} -->\n```{lang}\n{text}\n```\n<!-- /gen -->"


def readme_blocks(text: str) -> list:
    """``[(file, block text as found), ...]`` for every generated block of the README text."""
    return [(m.group("file"), m.group(0)) for m in BLOCK.finditer(text)]


def rewrite_readme() -> None:
    text = README.read_text()
    new = BLOCK.sub(lambda m: render_block(m.group("file")), text)
    if new != text:
        README.write_text(new)
        print("rewrote the generated blocks of README.md", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="names: verify, bench, cli/NAME or NAME, examples/NAME")
    ap.add_argument("--readme", action="store_true", help="only redo the headline, the verify tables and the README blocks from docs/data")
    ap.add_argument("--bench", action="store_true", help="also run the benchmarks (minutes)")
    ap.add_argument("--bench-modules", nargs="*", default=[], help="only these benchmark modules (fv, spectral, ...)")
    args = ap.parse_args(argv)
    if not args.readme:
        want = set(args.only or [])
        pick = (lambda name: not want or name in want or name.split("/")[-1] in want)
        with tempfile.TemporaryDirectory(prefix="qshock-docs-") as tmp:
            for name, cmd in COMMANDS.items():
                if pick(f"cli/{name}"):
                    t0 = time.perf_counter()
                    write(f"cli/{name}.txt", run_command(cmd, tmp))
                    print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
            for path in sorted(EXAMPLES.glob("*.py")):
                if pick(f"examples/{path.stem}"):
                    write(f"examples/{path.stem}.txt", run_example(path, tmp))
            if pick("verify"):
                gen_verify(tmp)
            if args.bench or "bench" in want:
                gen_bench(tmp, args.bench_modules)
        if not want:
            gen_provenance()
    gen_headline()
    gen_studies()
    derive_tables()
    rewrite_readme()
    shutil.rmtree(ROOT / "docs" / "data" / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
