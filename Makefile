# Two set-up commands: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint format demo bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11+ is needed: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench examples
	$(BIN)/ruff check --fix src tests bench examples

test: lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python examples/demo.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
