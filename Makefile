# qshock: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.qshock-installed

.PHONY: demo test test-all bench venv clean lint docs docs-data docs-bench

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[test,bench,docs]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/qshock demo

lint: $(STAMP)
	$(VENV)/bin/ruff check solver manifolds experiments benchmarks tests src

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n 2 --timeout=900

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 --timeout=3600

bench: $(STAMP)
	$(PY) -m benchmarks.run

# The documentation site (mkdocs.yml, docs/): built offline into build/site/. Its numbers come from
# docs/data/, which docs-data regenerates by running the commands and examples shown (minutes);
# docs-bench reruns the benchmarks for the performance tables.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-data: $(STAMP)
	$(PY) docs/gen.py

docs-bench: $(STAMP)
	$(PY) docs/gen.py --only bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
