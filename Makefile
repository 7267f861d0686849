# The two set-up commands of the README:
#   make demo   install mixlab into .venv and run the quickstart study on the embedded world
#   make test   install the test dependencies and run the test suite (.ci/run calls exactly this)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= mixlab-runs/quickstart
# extra quickstart flags, e.g. ARGS="--volumes 20,80 --seeds 0" for a smaller study
ARGS ?=

.PHONY: demo test install install-dev lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first, pinned: a range would pull the newest release with several GB of CUDA packages.
install: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'

demo: install
	$(BIN)/mixlab quickstart --out $(OUT) $(ARGS)

# the layers of docs/architecture.md (import contracts in pyproject.toml), then the tests
test: install-dev
	$(BIN)/lint-imports
	$(BIN)/python -m pytest tests -q -rs --durations=15

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
