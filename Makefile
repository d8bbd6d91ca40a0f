# qshock: two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.qshock-installed

.PHONY: demo test test-all bench venv clean lint

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[test,bench]"
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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
