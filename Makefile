# Every target sets up what it needs: a fresh machine needs only `make run` or `make test`.
# The newest supported Python found (3.14, 3.13, 3.12, 3.11: scripts/pythons.sh); an
# existing .venv keeps the one it was made with (`make clean` to switch).
PYTHON ?= $(or $(firstword $(shell scripts/pythons.sh)),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: help setup run test test-fast lint fmt bench clean openapi openapi-check

help:
	@echo "make run    serve on http://127.0.0.1:8000 (HOST/PORT: environment or .env), data in ./data"
	@echo "make test   set up everything, lint, the whole suite (about 12 minutes on 2 cores)"
	@echo "make test-fast  the test suite only, stopping at the first failure"
	@echo "make services-stop  stop the PostgreSQL and Redis that make test started"
	@echo "make lint   ruff + mypy;  make fmt  format;  make bench  benchmarks"
	@echo "make soak ROUNDS=5    the fault campaign (kill -9, power loss, disk full, stall, cluster) at soak size"
	@echo "make reliability-report  docs/reliability.md's table and pictures from the soak's histories"
	@echo "make sdk-fuzz RUNS=50 STEPS=200  the Python offline client's randomized test at soak size"
	@echo "make audit  pip-audit of the installed dependencies (known vulnerabilities)"
	@echo "make sdk-js-pack  build/levelstream-client-<version>.tgz, for npm install"
	@echo "make sdk    regenerate clients/python and clients/js from openapi/openapi.json"

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory fuse-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# HOST and PORT: from the environment (or `make run PORT=9000`), else from .env, else
# 127.0.0.1:8000; `levelstream serve` reads them (app/settings.py ListenAddress).
run: $(STAMP)
	$(BIN)/levelstream serve

lint: $(STAMP)
	$(BIN)/ruff check app tests $(wildcard bench)
	$(BIN)/ruff format --check app tests $(wildcard bench)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

fmt: $(STAMP)
	$(BIN)/ruff check --fix app tests $(wildcard bench)
	$(BIN)/ruff format app tests $(wildcard bench)

test: $(STAMP) lint lint-clients openapi-check console-check asyncapi-check sdk-deps services
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-stock-uvicorn
	@scripts/contract-pythons.sh

# The real-time and document tests again with our uvicorn hooks off (app/server/run.py): the
# stock uvicorn paths the server falls back to when an upgrade no longer fits the hooks.
STOCK_UVICORN_TESTS := tests/test_documents.py tests/test_ws.py tests/test_sse.py \
  tests/test_changes.py tests/test_shutdown.py
.PHONY: test-stock-uvicorn
test-stock-uvicorn: $(STAMP) services
	LEVELSTREAM_UVICORN_HOOKS=off $(BIN)/python -m pytest -q $(STOCK_UVICORN_TESTS)

# The OpenAPI document is generated from the code and committed; CI fails on drift.
openapi: $(STAMP)
	$(BIN)/levelstream openapi --output openapi/openapi.json

openapi-check: $(STAMP)
	@$(BIN)/levelstream openapi --output $(VENV)/openapi.check.json
	@cmp -s $(VENV)/openapi.check.json openapi/openapi.json || \
	  (echo "openapi/openapi.json is out of date: run 'make openapi' and commit" && \
	   diff -u openapi/openapi.json $(VENV)/openapi.check.json | head -40 && exit 1)
	@$(MAKE) --no-print-directory sdk-check

# PostgreSQL and Redis (Debian's) for the cluster-mode tests, on loopback ports: installed
# and started as root, idempotent; elsewhere those tests skip (and fail under CI=true).
.PHONY: services services-stop test-pythons
services:
	@scripts/test-services.sh start

# `make test` leaves them running (the next run starts faster); this stops both.
services-stop:
	@scripts/test-services.sh stop

# The fault campaign (issue 18: kill -9, power loss, disk full, stall, and the cluster
# faults; tests/history/) at soak size: `make soak ROUNDS=n` (the suite runs each at
# a CI size). Each test prints the history checker's report; a stall or cluster outage
# round takes 5-30 s. Every fault's history is kept (gzipped) for
# `make reliability-report`, which draws docs/reliability/*.png and the table in
# docs/reliability.md.
# Cheap faults run more rounds than ROUNDS (`rounds(soak_scale=)` in each test: kill -9
# 40x, power loss 4x, disk full 2x); ROUNDS=6 took 33 min on 2 busy cores, ROUNDS=5 about 27.
ROUNDS ?= 5
FAULT_TESTS := tests/test_crash.py tests/test_fault_power.py tests/test_fault_disk_full.py \
  tests/test_fault_stall.py tests/test_fault_cluster.py
RELIABILITY := docs/reliability
.PHONY: soak reliability-report
soak: $(STAMP)
	mkdir -p $(RELIABILITY)/data && rm -f $(RELIABILITY)/data/*.json.gz
	git rev-parse --short HEAD > $(RELIABILITY)/data/commit.txt
	FAULT_ROUNDS=$(ROUNDS) FAULT_HISTORY_DIR=$(RELIABILITY)/data \
	  $(BIN)/python -m pytest -q -s -o timeout=0 $(FAULT_TESTS)

reliability-report: $(STAMP)
	$(BIN)/python -m tests.history.report $(RELIABILITY)

# The store's contract tests on every other supported Python found (part of `make test`).
test-pythons: $(STAMP)
	@scripts/contract-pythons.sh

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x $(PYTEST_ARGS)

bench: $(STAMP) services
	$(BIN)/python -m bench

# Known vulnerabilities in the installed, pinned environment (pip-audit with its default
# service), with the dated, justified waivers of scripts/audit_waivers.toml. A finding
# fails; an audit that could not run fails under CI=true and warns elsewhere
# (scripts/audit.py). Not part of `make test` for now: from this workplace's network the
# service answers for no package, so under CI=true it could only fail.
.PHONY: audit
audit: $(STAMP)
	@$(BIN)/python scripts/audit.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# --- Client SDKs (clients/), the AsyncAPI document, and what their tests need -----------
# The generators run from their own environments: openapi-python-client from
# .venv-tools (it pins an old typer), @hey-api/openapi-ts from clients/js.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed-$(shell cat clients/requirements-tools.txt | cksum | cut -d' ' -f1)
SDK_PY_STAMP := $(VENV)/.sdk-python-$(shell cat clients/python/pyproject.toml | cksum | cut -d' ' -f1)
JS_STAMP := clients/js/node_modules/.installed-$(shell cat clients/js/package-lock.json | cksum | cut -d' ' -f1)
API_JS_STAMP := openapi/node_modules/.installed-$(shell cat openapi/package-lock.json | cksum | cut -d' ' -f1)
JS_BUNDLE := clients/js/dist/levelstream.browser.js
CHROMIUM ?= /usr/bin/chromium

.PHONY: tools sdk sdk-check sdk-deps asyncapi-check js-build browser lint-clients sdk-js-pack

$(TOOLS_STAMP): clients/requirements-tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install -q --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install -q -r clients/requirements-tools.txt
	rm -f $(TOOLS_VENV)/.installed-*
	touch $@

tools: $(TOOLS_STAMP)

$(JS_STAMP): clients/js/package-lock.json
	cd clients/js && npm ci --no-audit --no-fund
	touch $@

$(API_JS_STAMP): openapi/package-lock.json
	cd openapi && npm ci --no-audit --no-fund
	touch $@

# The Python SDK, installed (editable) into the app's venv for the SDK tests.
$(SDK_PY_STAMP): $(STAMP) clients/python/pyproject.toml
	$(BIN)/python -m pip install -q -e clients/python 2>/dev/null || \
	  $(BIN)/python -m pip install -e clients/python
	rm -f $(VENV)/.sdk-python-*
	touch $@

# Generated code is committed: regenerate after `make openapi`.
sdk: $(TOOLS_STAMP) $(JS_STAMP)
	clients/generate.sh write

# Part of openapi-check: the committed SDK code is what openapi.json generates.
sdk-check: $(TOOLS_STAMP) $(JS_STAMP)
	@clients/generate.sh check

asyncapi-check: $(API_JS_STAMP)
	node openapi/validate-asyncapi.mjs openapi/asyncapi.yaml

$(JS_BUNDLE): $(JS_STAMP) $(shell find clients/js/src -name '*.ts' 2>/dev/null) clients/js/tsconfig.json clients/js/package.json
	cd clients/js && npm run build

js-build: $(JS_BUNDLE)

# The JS SDK as an npm tarball (built dist/ and types; `npm pack` builds it first):
# build/levelstream-client-<version>.tgz, for `npm install ./levelstream-client-<version>.tgz`.
sdk-js-pack: $(JS_STAMP)
	mkdir -p build
	cd clients/js && npm pack --pack-destination ../../build

# /console serves its own copy of the browser bundle from the app package (committed, so
# `make run` and `pip install .` need no node): refresh it after the SDK changes, and
# `make test` fails when the committed copy differs from a fresh build.
CONSOLE_BUNDLE := app/console/static/levelstream.browser.js

.PHONY: console-bundle console-check

console-bundle: js-build
	cp $(JS_BUNDLE) $(CONSOLE_BUNDLE)

console-check: js-build
	@cmp -s $(JS_BUNDLE) $(CONSOLE_BUNDLE) || \
	  (echo "$(CONSOLE_BUNDLE) differs from a fresh build: run 'make console-bundle' and commit" && \
	   exit 1)

# Debian's chromium for the browser test (never a downloaded browser) and strace for the
# durability test: installed when missing and running as root; otherwise those tests
# skip (and fail where CI=true).
browser:
	@if [ -x "$(CHROMIUM)" ] && command -v strace >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium and strace (Debian) for the browser and durability tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium strace >/dev/null; \
	else \
	  echo "chromium or strace is missing and this is not root: their tests will skip (CI=true: fail)"; \
	fi

sdk-deps: $(SDK_PY_STAMP) $(TOOLS_STAMP) js-build browser

# The Python offline client's randomized test (clients with filtered live queries, writes
# online and offline, cut networks, client and server restarts) at soak size; the suite
# runs 3 seeds of 60 actions. A failure names its seed: SDK_FUZZ_SEEDS=<seed> reruns it.
RUNS ?= 50
STEPS ?= 200
.PHONY: sdk-fuzz
sdk-fuzz: $(STAMP) $(SDK_PY_STAMP)
	SDK_FUZZ_RUNS=$(RUNS) SDK_FUZZ_STEPS=$(STEPS) \
	  $(BIN)/python -m pytest -q -s -o timeout=0 tests/test_sdk_python_offline_random.py

# libfuse3 (Debian's) for pyfuse3, the dev extra's FUSE binding that the power-loss
# test's file system needs (tests/history/powerfs.py): pip builds it against
# libfuse3-dev, so this runs before the venv's install; as root, when missing.
.PHONY: fuse-deps
fuse-deps:
	@if pkg-config --exists fuse3 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing libfuse3-dev, fuse3 and pkg-config (Debian) for pyfuse3"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libfuse3-dev fuse3 pkg-config >/dev/null; \
	else \
	  echo "libfuse3-dev and pkg-config are missing and this is not root: install them for pyfuse3"; \
	fi

# The hand-written Python SDK modules and examples (the generated code is excluded).
lint-clients: $(SDK_PY_STAMP)
	$(BIN)/ruff check clients/python
	$(BIN)/ruff format --check clients/python
	$(BIN)/mypy --strict --follow-imports=silent clients/python/levelstream_client/sdk.py \
	  clients/python/levelstream_client/queries.py clients/python/levelstream_client/admin.py \
	  clients/python/levelstream_client/exceptions.py clients/python/levelstream_client/realtime*.py \
	  clients/python/levelstream_client/offline*.py clients/python/levelstream_client/cel \
	  clients/python/examples
	@$(BIN)/python scripts/vendor_cel.py check

# The Python SDK's copy of the expression language (app/cel) for local filters; `make test`
# fails when it differs from app/cel (lint-clients runs the check).
.PHONY: sdk-cel
sdk-cel: $(STAMP)
	$(BIN)/python scripts/vendor_cel.py write

# --- Benchmarks: the bench extra, suite peers (issue 6), the server profile -----------
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: bench-deps bench-peers bench-quick bench-profile bench-queries bench-readme

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	rm -f $(VENV)/.bench-installed-*
	touch $@

# matplotlib (the chart), py-spy and pyinstrument; wrk and the seed stack's `npm ci`
# are set up by the benchmark itself when it runs.
bench-deps: $(BENCH_STAMP)

bench: bench-deps

# Levelstream side by side with the seed's stack, PocketBase and the ceilings
# (bench/README.md); PocketBase is installed by the bench into bench/.cache/.
bench-peers: bench-deps
	$(BIN)/python -m bench peers

# README.md's marked benchmark block from bench/results/peers.json (a test checks it).
bench-readme: $(STAMP)
	$(BIN)/python -m bench.readme_block

bench-quick: bench-deps
	BENCH_QUICK=1 $(BIN)/python -m bench

bench-profile: bench-deps
	$(BIN)/python -m bench.profile

# Filtered fan-out over 10,000 WebSocket users (issue 15): bench/results/filtered_fanout.md.
# Its per-delivery target is judged in instructions (bench.fanout_micro where): valgrind.
.PHONY: bench-filtered valgrind
bench-filtered: bench-deps valgrind
	$(BIN)/python -m bench.filtered_fanout

valgrind:
	@if command -v valgrind >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing valgrind (Debian) for the instruction counts of the benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; \
	else \
	  echo "valgrind is missing and this is not root: install it (instruction counts)"; exit 1; \
	fi

# Filtered range pages in-process (issue 15): writes bench/results/queries.md.
bench-queries: bench-deps
	$(BIN)/python -m bench.queries --docs 100000 1000000
