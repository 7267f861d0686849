# The two set-up commands of the README:
#   make demo   install mixlab into .venv and run the quickstart study on the embedded world
#   make test   install the test dependencies and run the test suite (.ci/run calls exactly this)
# and, for maintainers:
#   make constraints   rewrite constraints.txt from what .venv has (after changing a dependency)
#   make test-bounds   the unit tests at pyproject's lower bounds and at the newest releases (fresh venvs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= mixlab-runs/quickstart
# extra quickstart flags, e.g. ARGS="--volumes 20,80 --seeds 0" for a smaller study
ARGS ?=
# The exact versions the README's numbers and the tests were measured with (torch apart: TORCH_VERSION).
CONSTRAINTS ?= constraints.txt
TORCH_VERSION ?= 2.13.0
# PyTorch's own index of CPU-only wheels (no CUDA libraries)
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
# uv installs the ~130 packages in parallel; pip is used where uv cannot be had
UV := $(BIN)/uv

.PHONY: demo test install install-dev torch lint constraints test-bounds

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q uv || echo "make: uv could not be installed; installing with pip (slower)"

# PyTorch first, chosen on purpose: a range would pull the newest release, on Linux with several GB of CUDA
# libraries. With an NVIDIA GPU (nvidia-smi lists one): PyPI's build, which brings CUDA. Without one: the CPU
# build from PyTorch's CPU index, and where that index cannot be reached, PyPI's torch==$(TORCH_VERSION) (a
# CPU wheel where pip finds one, as on this project's machines; on a stock Linux the CUDA build).
torch: $(BIN)/python
	@if $(BIN)/python -c "import sys, torch; sys.exit(torch.__version__.split('+')[0] != '$(TORCH_VERSION)')" 2>/dev/null; then \
	  echo "make: torch $(TORCH_VERSION) is installed"; \
	elif nvidia-smi -L >/dev/null 2>&1; then \
	  echo "make: an NVIDIA GPU: installing torch==$(TORCH_VERSION) from PyPI (the CUDA build, about 3 GB)"; \
	  $(BIN)/python -m pip install -q torch==$(TORCH_VERSION); \
	elif $(BIN)/python -m pip install -q --timeout 15 --retries 1 --index-url $(TORCH_CPU_INDEX) torch==$(TORCH_VERSION) 2>/dev/null; then \
	  echo "make: no NVIDIA GPU: installed torch $(TORCH_VERSION), CPU build"; \
	else \
	  echo "make: no NVIDIA GPU, and $(TORCH_CPU_INDEX) cannot be reached: installing torch==$(TORCH_VERSION) from PyPI instead"; \
	  $(BIN)/python -m pip install -q torch==$(TORCH_VERSION); \
	fi
	@$(BIN)/python -c "import torch; print('make: torch', torch.__version__, 'with CUDA ' + torch.version.cuda if torch.version.cuda else '(CPU only)')"

# $(1): what to install (pip requirement syntax)
define install_pinned
	@if [ -x $(UV) ]; then \
	  $(UV) pip install -q --python $(BIN)/python -c $(CONSTRAINTS) $(1); \
	else \
	  $(BIN)/python -m pip install -q -c $(CONSTRAINTS) $(1); \
	fi
endef

install: torch
	$(call install_pinned,-e .)

install-dev: torch
	$(call install_pinned,-e '.[dev]')

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

constraints: install-dev
	$(BIN)/python .ci/freeze_constraints.py > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS)

# pyproject's ranges at both ends, each in a fresh venv, without constraints.txt: `lowest` installs the lowest
# release of every direct dependency (uv's --resolution lowest-direct), `newest` the newest of everything
# (a fresh venv holds nothing older).
# torch stays TORCH_VERSION (override it, e.g. TORCH_VERSION=2.4.1, where the CPU index can be reached).
test-bounds:
	$(MAKE) _bounds BOUND=lowest UVFLAGS="--resolution lowest-direct"
	$(MAKE) _bounds BOUND=newest UVFLAGS=""

_bounds:
	$(MAKE) torch VENV=.venv-$(BOUND)
	echo "torch==$(TORCH_VERSION)" > .venv-$(BOUND)/torch.txt
	.venv-$(BOUND)/bin/uv pip install -q --python .venv-$(BOUND)/bin/python -c .venv-$(BOUND)/torch.txt $(UVFLAGS) -e '.[dev]'
	.venv-$(BOUND)/bin/python -m pip list --format=freeze > .venv-$(BOUND)/versions.txt
	.venv-$(BOUND)/bin/python -m pytest tests/unit -q -x -p no:cacheprovider
