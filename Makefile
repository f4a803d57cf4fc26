# Flow Manager: the README's commands. `make test` builds everything it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Lambda runs python3.13 and `sam build` needs it on PATH: prefer pyenv's 3.13.0.
PYENV_313 := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.13.0/bin")
PYTHON := $(shell for p in "$(PYENV_313)/python3.13" python3.13 python3; do \
	command -v "$$p" >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
TOOLS := .venv-tools
BIN := $(VENV)/bin
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.2.459

export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PATH := $(if $(PYENV_313),$(PYENV_313):)$(PATH)

.PHONY: help run test lint types unit integration e2e browser fuzz-smoke fuzz template build bench clean

help:
	@echo "make run    start the local stack (API on http://127.0.0.1:3000, console at /ui/)"
	@echo "make test   lint, type-check, test, fuzz briefly, and check the SAM template"
	@echo "make fuzz   schemathesis against the local stack, thousands of cases"
	@echo "make build  sam build, with python3.13 bytecode in the artifacts (then: sam deploy)"

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Mermaid's own parser (node + jsdom), for the tests that read generated diagrams back.
MERMAID_CHECK := tests/mermaid/node_modules/.installed
$(MERMAID_CHECK): tests/mermaid/package-lock.json
	npm ci --prefix tests/mermaid --no-audit --no-fund --silent
	touch $@

$(TOOLS)/.installed: Makefile
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)' 'checkov==$(CHECKOV_VERSION)'
	touch $@

run: $(BIN)/.installed
	$(BIN)/flow-manager serve $(if $(PORT),--port $(PORT))

test: lint types unit integration e2e browser fuzz-smoke template

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(BIN)/.installed
	$(BIN)/mypy functions local tests

unit: $(BIN)/.installed $(MERMAID_CHECK)
	$(BIN)/pytest tests/unit -q

# In-process moto, one test at a time per process: 2 processes halve the suite's time
# (~8 min to ~4 on this 2-core machine in its slow hours); each test has its own moto.
integration: $(BIN)/.installed
	$(BIN)/pytest tests/integration -q -n 2

e2e: $(BIN)/.installed
	$(BIN)/pytest tests/e2e -q

# The console (/ui) in headless chromium (Debian's package; .ci/run installs it), driven
# by Playwright. Screenshots: build/screenshots/. Without chromium the tests skip (fail in CI).
browser: $(BIN)/.installed
	$(BIN)/pytest tests/browser -q

# Schemathesis on the local stack (schemathesis.toml, scripts/fuzz.py): a bounded pass in
# `make test`, and a long one (thousands of cases, at most 10 minutes) on demand.
fuzz-smoke: $(BIN)/.installed
	$(BIN)/python scripts/fuzz.py smoke

fuzz: $(BIN)/.installed
	$(BIN)/python scripts/fuzz.py long

template: $(TOOLS)/.installed
	@echo "== sam validate (SAM translator)"
	$(TOOLS)/bin/sam validate --config-env translate
	@echo "== sam validate --lint (cfn-lint)"
	$(TOOLS)/bin/sam validate --lint
	@$(MAKE) --no-print-directory build
	@echo "== checkov on the transformed template"
	$(TOOLS)/bin/python scripts/transform_template.py template.yaml -o .aws-sam/cloudformation.json
	$(TOOLS)/bin/checkov -f .aws-sam/cloudformation.json --framework cloudformation \
		--skip-download --quiet --compact

# Lambda cannot write __pycache__ (/var/task and /opt are read-only) and `sam build`
# ships none, so every cold start would compile every module it imports (ApiFunction:
# ~1 s instead of ~0.3 s: benchmarks/cold_start.py against --no-bytecode). The
# artifacts get python3.13's bytecode, checked against each source's hash, not its
# mtime, which packaging does not keep.
build: $(TOOLS)/.installed
	@echo "== sam build (python3.13, arm64)"
	$(TOOLS)/bin/sam build
	@echo "== bytecode for python3.13 in the build artifacts"
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13) and "$(PYTHON) is not python3.13: Lambda would ignore its bytecode")'
	$(PYTHON) -m compileall -q -j 0 --invalidation-mode checked-hash .aws-sam/build

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/compile.py
	$(BIN)/python benchmarks/cold_start.py
	$(BIN)/python benchmarks/local_stack.py
	$(BIN)/python benchmarks/large_flows.py --sizes 300
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/throughput.py --rate 20
	$(BIN)/python benchmarks/throughput.py --soak 1000

clean:
	rm -rf $(VENV) $(TOOLS) tests/mermaid/node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis
