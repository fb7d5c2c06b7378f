# `make demo` and `make test` build their virtualenv (.venv: the newest Django on the newest
# Python) on first use and find the interpreter by themselves (PATH, then pyenv).
# `make test-all` runs the supported matrix, each virtualenv built once and reused.
#
#   virtualenv       Python  Django  databases of make test-all
#   .venv            3.13    6.1     SQLite, PostgreSQL, MariaDB   (make test, demo, lint)
#   .venv-django60   3.12    6.0     SQLite
#   .venv-django52   3.11    5.2     SQLite, PostgreSQL
VENV ?= .venv
PYTHON ?= $(shell scripts/find-python.sh 3.13)
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

VENV60 ?= .venv-django60
PYTHON60 ?= $(shell scripts/find-python.sh 3.12)
STAMP60 := $(VENV60)/.installed

VENV52 ?= .venv-django52
PYTHON52 ?= $(shell scripts/find-python.sh 3.11)
STAMP52 := $(VENV52)/.installed

# One line per leg of `make test` / `make test-all`, printed at the end.
LEG_TIMES := .test-legs

.PHONY: demo test test-sqlite test-all dist bench lint clean

$(STAMP): pyproject.toml scripts/make-venv.sh
	@test -n "$(PYTHON)" || { scripts/find-python.sh 3.13; exit 1; }
	bash scripts/make-venv.sh $(VENV) $(PYTHON) 6.1 mysql
	touch $(STAMP)

$(STAMP60): pyproject.toml scripts/make-venv.sh
	@test -n "$(PYTHON60)" || { scripts/find-python.sh 3.12; exit 1; }
	bash scripts/make-venv.sh $(VENV60) $(PYTHON60) 6.0
	touch $(STAMP60)

$(STAMP52): pyproject.toml scripts/make-venv.sh
	@test -n "$(PYTHON52)" || { scripts/find-python.sh 3.11; exit 1; }
	bash scripts/make-venv.sh $(VENV52) $(PYTHON52) 5.2
	touch $(STAMP52)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# The newcomer's command: the newest Django on SQLite, PostgreSQL and MariaDB.
test: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/test-databases.sh sqlite postgres mysql

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest

# The matrix: every supported Django, the newest on every database, 5.2 LTS on two.
test-all: $(STAMP) $(STAMP60) $(STAMP52)
	@rm -f $(LEG_TIMES); status=0; \
	LEG_TIMES=$(LEG_TIMES) PYTHON=$(BIN)/python bash scripts/test-databases.sh sqlite postgres mysql || status=1; \
	LEG_TIMES=$(LEG_TIMES) PYTHON=$(VENV60)/bin/python bash scripts/test-databases.sh sqlite || status=1; \
	LEG_TIMES=$(LEG_TIMES) PYTHON=$(VENV52)/bin/python bash scripts/test-databases.sh sqlite postgres || status=1; \
	echo "=== The matrix ==="; cat $(LEG_TIMES); \
	exit $$status

# The wheel and sdist, checked as PyPI would (twine check).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*

BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432/slack_installs_bench

bench: $(STAMP)
	$(BIN)/python -m bench --postgres $(BENCH_POSTGRES)

lint: $(STAMP)
	$(BIN)/ruff check slack_installs tests bench demo_site scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(VENV60) $(VENV52) .tox .pytest_cache .mypy_cache build dist $(LEG_TIMES) \
		demo.sqlite3 .demo-admin-password
