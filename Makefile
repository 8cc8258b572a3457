# One target per job; .ci/run calls the same targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint format openapi migrate demo clean

# The service alone (make run) installs only what it runs with; tests and lint tools come on top.
$(BIN)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BIN)/.installed: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

## Set up, migrate the SQLite database, load the demo data and serve on http://$(HOST):$(PORT)
# gunicorn reads ./gunicorn.conf.py (an access log without query strings).
run: $(BIN)/.runtime migrate demo
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

migrate: $(BIN)/.runtime
	$(BIN)/flask --app wsgi db upgrade

demo: $(BIN)/.runtime
	$(BIN)/flask --app wsgi seed-demo

## Lint, then the whole test suite on SQLite, with branch coverage of registry/ printed at the end
test: lint
	$(BIN)/python -m pytest -q --cov=registry --cov-branch --cov-report=term:skip-covered

## The whole test suite on PostgreSQL
test-postgres: $(BIN)/.installed
	REGISTRY_TEST_DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Regenerate the committed API document from the code
openapi: $(BIN)/.installed
	$(BIN)/flask --app wsgi export-openapi

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
