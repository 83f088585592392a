# Two commands on a fresh machine: `make run` (set up + main job), `make test` (set up + all tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup browser run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests (tests/web); they skip, saying why, when it cannot be installed.
browser:
	@command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
	  || echo "chromium could not be installed: the browser tests will be skipped"

# The service on SQLite (var/priorauth.db, created and migrated on first start), demo tokens and requests.
run: setup
	$(BIN)/priorauth serve --demo --database-url sqlite:///var/priorauth.db

test: setup browser
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_determinations.py

lint: setup
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
