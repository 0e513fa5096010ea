# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup infra run test unit check fix seed down bench

setup:
	scripts/bootstrap

infra: setup
	scripts/infra up

## Installs everything, starts RabbitMQ + FerretDB, loads demo data, runs all services and the gateway.
run: infra
	$(PY) -m ops.suite run --seed

## Installs everything, checks lint, format and types (scripts/check: a finding fails it), then runs
## the whole test suite (the tests start the servers they need).
test: setup
	scripts/check
	scripts/infra tools
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

## Lint, format and types (ruff, mypy: config in pyproject.toml).
check: setup
	scripts/check

## Apply ruff's own fixes and formatting.
fix: setup
	.venv/bin/ruff check --fix --quiet . || true
	.venv/bin/ruff format --quiet .

## The fast tests only (no servers, seconds): while writing code. `make test` is the whole suite.
unit: setup
	$(PY) -m pytest -p no:cacheprovider -m unit -q $(PYTEST_ARGS)

seed: infra
	$(PY) -m devtools.demo_data

down:
	scripts/infra down

## The quick version of every benchmark (under 10 minutes), each figure beside its same-run floor;
## the full runs and their figures: docs/PERFORMANCE.md.
bench: infra
	$(PY) bench/bench_filing.py --quick
	$(PY) bench/bench_store.py --quick
	$(PY) bench/bench_processing.py --quick
	$(PY) bench/bench_payments.py --quick
	$(PY) bench/bench_reporting.py --quick
