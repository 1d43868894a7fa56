# Every target sets up what it needs: a fresh machine needs only `make run` or `make test`.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

export HOST PORT

.PHONY: help setup run test test-fast lint fmt bench clean openapi openapi-check

help:
	@echo "make run    serve on http://$(HOST):$(PORT), data in ./data (sets up on first use)"
	@echo "make test   set up everything and run lint plus the whole test suite"
	@echo "make lint   ruff + mypy;  make fmt  format;  make bench  benchmarks"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/levelstream serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check app tests $(wildcard bench)
	$(BIN)/ruff format --check app tests $(wildcard bench)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix app tests $(wildcard bench)
	$(BIN)/ruff format app tests $(wildcard bench)

test: $(STAMP) lint openapi-check
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The OpenAPI document is generated from the code and committed; CI fails on drift.
openapi: $(STAMP)
	$(BIN)/levelstream openapi --output openapi/openapi.json

openapi-check: $(STAMP)
	@$(BIN)/levelstream openapi --output $(VENV)/openapi.check.json
	@cmp -s $(VENV)/openapi.check.json openapi/openapi.json || \
	  (echo "openapi/openapi.json is out of date: run 'make openapi' and commit" && \
	   diff -u openapi/openapi.json $(VENV)/openapi.check.json | head -40 && exit 1)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
