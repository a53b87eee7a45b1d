# Two commands for a newcomer: `make run` (install, ingest the seed article, start the chat) and `make test`.
VENV ?= .venv
PIP := $(VENV)/bin/pip
BIN := $(VENV)/bin
# llama-cpp-python compiles from source; OpenMP threads that spin would starve the other core.
export OMP_WAIT_POLICY := passive
export HF_HUB_OFFLINE := 1

.PHONY: install install-test install-browser run test lint bench

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian's chromium for the browser tests (no-op when installed; needs root and apt otherwise).
install-browser:
	bash .ci/install-chromium.sh

run: install
	$(BIN)/assistant ingest seeds
	$(BIN)/assistant serve

test: install-test install-browser
	$(BIN)/python -m pytest

lint: install-test
	$(BIN)/ruff check .
