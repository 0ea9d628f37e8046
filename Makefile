# Integrated Customer Billing: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ICB := $(VENV)/bin/icb
RUN_DIR ?= $(CURDIR)/.run
INFRA := ICB_RUN_DIR=$(RUN_DIR) PYTHON=$(CURDIR)/$(PY) deploy/infra.sh
# The settings the services read, from the infrastructure script (ports from ICB_*_PORT).
WITH_INFRA_ENV = set -a; eval "$$($(INFRA) up)"; set +a

.PHONY: venv demo test test-unit up down infra-up infra-down bench chaos lint typecheck clean

$(VENV)/.installed: pyproject.toml
	@echo "== 1/3 the virtual environment $(VENV)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "== 2/3 pip itself"
	$(PY) -m pip install --progress-bar on --upgrade pip
	@echo "== 3/3 the project and its dependencies (a few minutes the first time)"
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

## The embedded system with a generated sample MSP; leaves the API running. The previous
## demo's data and key are kept: `make demo ARGS=--fresh` starts over.
demo: venv
	$(ICB) demo $(ARGS)

## Everything: unit, integration and end-to-end tests on real Kafka and PostgreSQL.
test: venv
	deploy/chromium.sh install
	@$(WITH_INFRA_ENV); $(PY) -m pytest -p no:cacheprovider tests

test-unit: venv
	$(PY) -m pytest -q tests/unit

infra-up: venv
	$(INFRA) up

infra-down:
	$(INFRA) down

## Infrastructure plus the four services as separate processes.
up: venv
	@$(WITH_INFRA_ENV); ICB_RUN_DIR=$(RUN_DIR) deploy/services.sh start

down:
	-ICB_RUN_DIR=$(RUN_DIR) deploy/services.sh stop
	$(INFRA) down

bench: venv
	@$(WITH_INFRA_ENV); $(PY) -m bench

## The chaos run: CHAOS_RECORDS records (1,000,000) through a fault schedule (CHAOS_SEED) on a
## PostgreSQL and Kafka of its own (ports 5533, 9192, 9193; the shared ones are left alone).
CHAOS_RECORDS ?= 1000000
CHAOS_SEED ?= 18
chaos: venv
	PYTHON=$(CURDIR)/$(PY) $(PY) -m bench.chaos --records $(CHAOS_RECORDS) --seed $(CHAOS_SEED)

lint: venv
	$(VENV)/bin/ruff check services shared launcher tools tests bench
	$(VENV)/bin/ruff format --check services shared launcher tools tests bench

typecheck: venv
	$(VENV)/bin/mypy services shared launcher tools

clean:
	rm -rf .icb-data .icb-demo
