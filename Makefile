# Entry points: `make demo`, `make test`, `make check`. Each creates and uses .venv itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	rm -f demo-ledger.db
	LEDGER_DATABASE_URL=sqlite:///demo-ledger.db $(BIN)/ledger demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check ledger jobs projections tests bench
	$(BIN)/ruff format --check ledger jobs projections tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/commands.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-ledger.db
