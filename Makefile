# stdbot — two commands do all set-up on a fresh machine:
#   make run    create .venv, install, ingest the sample knowledge base, start the web server
#   make test   create .venv, install with test extras, run the whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= var
SAMPLE := $(wildcard data/sample/*)

.PHONY: run chat test install install-dev lint bench clean sample-kb

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,st]'
	touch $(VENV)/.installed $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,st,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(DATA_DIR)/.sample-ingested: $(SAMPLE) | $(VENV)/.installed
	$(BIN)/stdbot ingest data/sample --data-dir $(DATA_DIR)
	touch $@

# A knowledge base embedded with another model than the configured one (e.g. built before the
# default changed) is re-ingested rather than refused.
sample-kb: $(VENV)/.installed
	@$(BIN)/python -m ingest.current --data-dir $(DATA_DIR) || rm -f $(DATA_DIR)/.sample-ingested
	@$(MAKE) --no-print-directory $(DATA_DIR)/.sample-ingested

HOST ?= 127.0.0.1
PORT ?= 8080

# The sample knowledge base's golden question set and dialogues gate builds made from the admin pages.
run: export STDBOT_KB__GOLDEN_SET ?= ["tests/golden/sample.jsonl", "tests/golden/dialogues.jsonl"]
run: sample-kb
	$(BIN)/stdbot --data-dir $(DATA_DIR) serve --host $(HOST) --port $(PORT)

chat: sample-kb
	$(BIN)/stdbot --data-dir $(DATA_DIR) chat

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/webchat.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
