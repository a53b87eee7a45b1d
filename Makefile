# Two commands for a newcomer: `make run` (install, ingest the seed article, start the chat) and `make test`.
VENV ?= .venv
PIP := $(VENV)/bin/pip
BIN := $(VENV)/bin
# llama-cpp-python compiles from source for this machine's CPU (-march=native), but without AMX on x86-64: where
# the CPU reports AMX and the VM or kernel does not let a process use it, llama.cpp's AMX kernels die with SIGILL
# ("invalid opcode") on the first question. A portable build (-DGGML_NATIVE=OFF: AVX2) runs anywhere, but read
# prompts at 36 tok/s against 59 for the native one on this project's machines.
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
export CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
endif
# OpenMP threads that spin would starve the other core.
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
