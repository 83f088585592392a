# Two commands on a fresh machine: `make run` (set up the service + main job), `make test` (set up all + all tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICE := $(VENV)/.installed-service
DEV := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-dev browser java run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The service alone (make run): no Polars, PyArrow, PySpark or test tools (docs/operations.md has the sizes).
$(SERVICE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src >/dev/null  # bytecode now: a shell with PYTHONDONTWRITEBYTECODE=1 never writes it
	touch $(SERVICE)

# Everything the tests need (make test): the claims, spark and postgres extras and the test tools.
$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m compileall -q src >/dev/null
	touch $(DEV) $(SERVICE)

setup: $(SERVICE)

setup-dev: $(DEV)

# Debian's Chromium for the browser tests (tests/web); they skip, saying why, when it cannot be installed.
browser:
	@command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
	  || echo "chromium could not be installed: the browser tests will be skipped"

# Java (17 or later) for the Spark engine's tests; they skip, saying why, when there is none.
java:
	@command -v java >/dev/null || (export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq default-jre-headless >/dev/null 2>&1 \
	  || (apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null)) \
	  || echo "Java could not be installed: the Spark tests will be skipped"

# The service on SQLite (var/priorauth.db, created and migrated on first start), demo tokens and requests
# dated today. Another port: make run PORT=8080. Nothing is printed when the port is taken but the error.
run: $(SERVICE)
	@$(BIN)/priorauth serve --demo --host $(HOST) --port $(PORT)

test: $(DEV) browser java
	$(BIN)/python -m pytest

bench: $(DEV)
	$(BIN)/python benchmarks/bench_determinations.py

lint: $(DEV)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
