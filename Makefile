# `make demo` and `make test` each build their own virtualenv on first use.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The second supported Django LTS, tested on SQLite in its own virtualenv.
VENV42 ?= .venv-django42
STAMP42 := $(VENV42)/.installed

.PHONY: demo test test-sqlite test-postgres test-django42 bench lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test-both-databases.sh

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest

$(STAMP42): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	test -x $(VENV42)/bin/python || $(PYTHON) -m venv $(VENV42)
	$(VENV42)/bin/python -m pip install --quiet --upgrade pip
	$(VENV42)/bin/python -m pip install --quiet -e '.[dev]' 'Django>=4.2,<5.0'
	touch $(STAMP42)

test-django42: $(STAMP42)
	DATABASE_URL="" $(VENV42)/bin/python -m pytest

BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432/slack_installs_bench

bench: $(STAMP)
	$(BIN)/python -m bench --postgres $(BENCH_POSTGRES)

lint: $(STAMP)
	$(BIN)/ruff check slack_installs tests bench demo_site scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(VENV42) .tox .pytest_cache .mypy_cache demo.sqlite3 .demo-admin-password
