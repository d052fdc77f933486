# Two commands do everything on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install up test lint pytest clean histories rehearse bench risk-eval

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps 'docker-compose==1.29.2'
	@touch $(STAMP)

install: $(STAMP)

## Start the Temporal dev server, migrate, seed, start the worker and the API (Ctrl-C stops all).
up: $(STAMP)
	$(BIN)/mediation up

## Lint, type-check and run the whole test suite (MEDIATION_TEST_DATABASE_URL → PostgreSQL).
test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## The browser tests drive Debian's /usr/bin/chromium (never a downloaded browser) and need a
## CJK font: said here when either is missing; the tests themselves fail without them.
BROWSER_DEPS_MISSING = browser tests need Debian's chromium and a CJK font: sudo apt-get \
install -y chromium fonts-noto-cjk (the browser tests fail without them; \
MEDIATION_SKIP_BROWSER=1 skips them explicitly)
pytest: $(STAMP)
	@if [ ! -x /usr/bin/chromium ] || [ -z "$$(fc-list :lang=zh 2>/dev/null)" ]; then \
	    echo "$(BROWSER_DEPS_MISSING)" >&2; \
	fi
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## Record a new set of histories, tests/histories/<date>/, from the workflow scenario tests
## (synthetic parties only). Keep older sets while cases started under them may be running:
## the replay gate in `make test` replays every set against the current workflow code.
HISTORIES_SET ?= $(shell date -u +%Y-%m-%d)
histories: $(STAMP)
	rm -rf .histories.new
	MEDIATION_RECORD_HISTORIES=.histories.new $(BIN)/pytest -q -p no:cacheprovider \
	    tests/test_case_lifecycle.py tests/test_case_timers.py \
	    tests/test_case_rule_gaps.py tests/test_case_cadence_and_routing.py \
	    tests/test_case_continue_as_new.py -k cached
	mkdir -p tests/histories && rm -rf tests/histories/$(HISTORIES_SET)
	mv .histories.new tests/histories/$(HISTORIES_SET)
	@ls tests/histories/$(HISTORIES_SET) | wc -l | xargs echo "histories recorded in tests/histories/$(HISTORIES_SET):"

## The cluster topology of deploy/ as processes on this machine, on PostgreSQL: 2 workers,
## 2 APIs, a mixed load through both, one worker and one API killed mid-run (deploy/README.md).
REHEARSE_CASES ?= 120
REHEARSE_DB ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
rehearse: $(STAMP)
	$(BIN)/mediation rehearse --cases $(REHEARSE_CASES) --admin-url $(REHEARSE_DB)

## Throughput as a ratio to bare Temporal in the same run, latencies, CPU per case, worker
## memory with open cases (var/bench/<ts>.json). E.g. BENCH_ARGS='--postgres --list-rows 100000'.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## The risk screen against its labelled set (tests/data/risk_eval.jsonl): precision and
## recall per level, the misclassified ids; fails when red misses its targets (issue 16).
risk-eval: $(STAMP)
	$(BIN)/python -m ops.risk_eval
