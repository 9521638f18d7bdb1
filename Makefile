# lowlight: `make demo` and `make test` each set everything up from scratch in .venv.
PYTHON ?= python3
VENV   ?= .venv
# The CPU build of torch; override for CUDA, e.g. `make test TORCH=torch`.
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin

.PHONY: demo test test-all lint bench-report clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.demo: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@

## Enhance synthesised dark photos with the default model; results and contact sheet in demo_out/.
demo: $(VENV)/.demo
	$(BIN)/lowlight demo --output demo_out

## The whole test suite on CPU (tests that need ../shared/data skip when it is absent).
test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) demo_out .pytest_cache
