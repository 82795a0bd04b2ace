# Two entry points: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1

.PHONY: run test test-sqlite test-postgres setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,embeddings,bench]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/vigil demo

# The whole suite runs on SQLite, then again on PostgreSQL (VIGIL_TEST_PG or 127.0.0.1:5432).
test: $(STAMP)
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(STAMP)
	VIGIL_TEST_DB=sqlite $(BIN)/pytest -q $(PYTEST_ARGS)

test-postgres: $(STAMP)
	VIGIL_TEST_DB=postgresql $(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/*.db
