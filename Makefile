# Find Me A Hot Lead: `make run` (the whole app) and `make test` (the whole suite).
# Both set everything up on a fresh machine with Python 3.11+.

SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
             if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
               command -v $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: run dev test test-fast lint services stop bench install verify-ledger clean help

help:
	@echo "make run     - the whole platform on http://localhost:3000 (embedded PostgreSQL, Redis, Celery)"
	@echo "make test    - lint, then the whole test suite (unit, integration, end-to-end in Chromium)"
	@echo "make lint    - ruff (lint + format check), mypy, import-linter (the layers)"
	@echo "make dev     - like run, with Reflex hot reload"
	@echo "make bench   - the distribution benchmark"
	@echo "make bench-dashboards - every back-office page's data load at 100k leads / 1M ledger entries"
	@echo "make bench-intake - POST /api/v1/leads latency at 200 req/s and throughput against a bare endpoint"
	@echo "make stop    - stop embedded servers a crashed run left behind"

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "*** Python 3.11 or newer is required (python3.11 on PATH)"; exit 1; fi
	@echo "==> [setup] virtualenv in $(VENV) with $(PYTHON)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> [setup] installing pinned dependencies from requirements.lock"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

run: $(STAMP)
	@$(PY) -m hotlead_app.cli run

dev: $(STAMP)
	@$(PY) -m hotlead_app.cli run --dev

services: $(STAMP)
	@$(PY) -m hotlead_app.cli services

test: lint
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	@echo "==> [lint] ruff check"
	@$(VENV)/bin/ruff check --quiet .
	@echo "==> [lint] ruff format --check"
	@$(VENV)/bin/ruff format --check --quiet .
	@echo "==> [lint] mypy (hotlead_app, workers)"
	@$(VENV)/bin/mypy
	@echo "==> [lint] import-linter (layers: pyproject.toml [tool.importlinter])"
	@$(VENV)/bin/lint-imports --no-cache --no-logo

test-fast: $(STAMP)
	@$(PY) -m pytest -m "not e2e" tests/unit tests/integration $(PYTEST_ARGS)

verify-ledger: $(STAMP)
	@$(PY) -m hotlead_app.cli verify-ledger

bench: $(STAMP)
	@$(PY) bench/distribution.py $(BENCH_ARGS)

.PHONY: bench-dashboards bench-intake
bench-dashboards: $(STAMP)
	@$(PY) bench/dashboards.py $(BENCH_ARGS)

bench-intake: $(STAMP)
	@$(PY) bench/intake.py $(BENCH_ARGS)

stop:
	@$(PY) -m hotlead_app.cli stop

clean:
	rm -rf .web .states .hotlead/e2e-app
