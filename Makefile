# Two commands set everything up on a fresh Debian machine:
#   make demo   run the whole loop locally on embedded defaults
#   make test   lint, type-check and run every test (unit, integration, end to end)
# Every target is safe to run again; installs are skipped when already done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SAM_VENV := .venv-sam
# checkov pins its own boto3/pydantic ranges, so it gets a tool venv of its own (no resolver fights with SAM).
CHECKOV_VENV := .venv-checkov
SAM_PYTHON ?= $(shell ./scripts/find-python.sh 3.12)

.PHONY: help demo test unit lint typecheck validate rules build bench system-deps k8s venv clean

help:
	@echo "make demo      run the whole pipeline locally (moto, Alertmanager, Prometheus, Kubernetes)"
	@echo "make test      everything CI runs"
	@echo "make unit      fast tests only (no real components)"
	@echo "make bench     print benchmark numbers"
	@echo "make validate  sam validate --lint, cfn-lint and checkov on template.yaml"
	@echo "make rules     promtool check rules and promtool test rules on amp/ (both exporter dialects)"
	@echo "make build     sam build (no Docker needed; uses python3.12)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

system-deps:
	./scripts/install-system-deps.sh

k8s:
	./tools/k8s/build.sh all >/dev/null

lint: venv
	$(BIN)/ruff check layers cli functions tests
	$(BIN)/ruff format --check layers cli functions tests

typecheck: venv
	$(BIN)/mypy
	@# The tests and benchmarks run only from pytest / make bench: check all of them here too, so a
	@# new test folder is checked without being listed.
	$(BIN)/mypy tests
	@# Every handler is a module named app, so each is checked on its own.
	@for handler in functions/*/app.py; do $(BIN)/mypy "$$handler" >/dev/null || $(BIN)/mypy "$$handler" || exit 1; done

unit: venv
	$(BIN)/pytest -q tests/unit

# The rule unit tests run here and again in pytest (tests/unit/test_rules_promtool.py adds a matrix of
# every alert in both exporter dialects); here a failure names the rule file and case plainly.
rules: system-deps
	promtool check rules amp/rules.yaml
	promtool test rules amp/tests/*.yaml

test: venv system-deps k8s lint typecheck validate rules
	$(BIN)/pytest -q

demo: venv system-deps k8s
	$(BIN)/netguard demo

bench: venv system-deps k8s
	$(BIN)/python -m tests.bench

$(SAM_VENV)/.installed:
	$(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q aws-sam-cli cfn-lint
	touch $@

$(CHECKOV_VENV)/.installed:
	$(SAM_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q 'checkov>=3.2,<4'
	touch $@

validate: export SAM_CLI_TELEMETRY=0
validate: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1
	$(SAM_VENV)/bin/cfn-lint template.yaml
	@# Findings that do not apply are skipped in .checkov.yaml, each explained in docs/security.md.
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f template.yaml

build: export SAM_CLI_TELEMETRY=0
build: $(SAM_VENV)/.installed
	PATH="$(dir $(SAM_PYTHON)):$$PATH" $(SAM_VENV)/bin/sam build

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .netguard .pytest_cache .mypy_cache .ruff_cache
