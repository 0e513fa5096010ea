# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup infra run test seed down bench

setup:
	scripts/bootstrap

infra: setup
	scripts/infra up

## Installs everything, starts RabbitMQ + FerretDB, loads demo data, runs all services and the gateway.
run: infra
	$(PY) -m ops.suite run --seed

## Installs everything and runs the whole test suite (the tests start the servers they need).
test: setup
	scripts/infra tools
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

seed: infra
	$(PY) -m services.intake.demo_data

down:
	scripts/infra down

bench: infra
	$(PY) bench/bench_filing.py
	$(PY) bench/bench_reporting.py --quick
