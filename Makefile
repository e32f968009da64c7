# The template's own commands. `make test` and `make demo` set everything up on a fresh machine
# with Python 3.11+ and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_DIR := build/demo
# The template's own code; the generated project is linted baked, by the tests.
LINTED := hooks tests bench scripts local_extensions.py
# The generated projects' locks (scripts/lock.py): the template's environment installs the
# versions they pin.
LOCKS := $(wildcard {{cookiecutter.project_slug}}/uv.*.lock)
# Two workers: one per core; every combination is baked once, on one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup

.PHONY: help install test lint lock demo bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml $(LOCKS) scripts/lock.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python scripts/lock.py constraints > $(VENV)/locked-versions.txt
	$(BIN)/python -m pip install --quiet --group dev --constraint $(VENV)/locked-versions.txt
	@touch $@

install: $(INSTALLED) ## Create .venv with the template's development tools

test: $(INSTALLED) ## Bake every combination and run its checks and test suite
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED) ## ruff and mypy on the template's own code
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

lock: $(INSTALLED) ## Re-lock the generated projects' dependencies (upgrade=1: the newest versions)
	$(BIN)/python scripts/lock.py lock $(if $(filter 1,$(upgrade)),--upgrade)

demo: $(INSTALLED) ## Bake the default answers into build/ and serve the project on 127.0.0.1:8000
	rm -rf $(DEMO_DIR)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) .
	$(MAKE) -C $(DEMO_DIR)/my_service run PYTHON=$(PYTHON)

bench: $(INSTALLED) ## Benchmark baked PostgreSQL projects against a bare reference app (wrk if installed)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean: ## Remove the virtualenv and build outputs
	rm -rf $(VENV) build
