# Two commands for a fresh clone: `make demo` and `make test`. Both are safe to re-run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-postgres lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,speech]"
	touch $@

demo: $(VENV)/.installed  ## install into .venv, build demo/purport.db from the bundled recordings, show it
	$(BIN)/purport demo --db demo/purport.db

test: $(VENV)/.installed-test  ## install with test extras into .venv and run the whole suite
	$(BIN)/python -m pytest

test-postgres: $(VENV)/.installed-test  ## the suite against a throwaway local PostgreSQL server too
	scripts/with-postgres.sh $(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests scripts bench

clean:
	rm -rf demo build dist src/*.egg-info .pytest_cache
