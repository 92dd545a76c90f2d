# LeNet -> AlexNet: the two commands of the README, and a few helpers.
#   make lab    set up (first time only) and start JupyterLab on notebooks/
#   make test   set up (first time only) and run the unit tests, then nbval on every notebook (cpu profile)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told to.
LAB_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
PYTEST_ARGS ?=
NBVAL_ARGS := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: help setup lab test format notebooks student site slides slide-cells gpu-check profile-check references colab-cells lock bench clean

help:
	@echo "make lab          set up and start JupyterLab on notebooks/"
	@echo "make test         set up and run the unit tests (ci profile), then nbval on every notebook (cpu profile)"
	@echo "make format       format the notebooks' code with ruff (100 characters a line; make test checks it)"
	@echo "make notebooks    re-execute every notebook in place under the cpu profile, labelled (before committing)"
	@echo "make student      the notebooks without solutions in build/student/, and the answer key (teacher only)"
	@echo "make site         the course as a static web site in build/site/ (offline; solutions removed)"
	@echo "make slides       one reveal.js deck per notebook in build/slides/ (for the lecture hall)"
	@echo "make slide-cells  set every cell's slide type by the rules of tools/slide_cells.py (make notebooks does it too)"
	@echo "make gpu-check    on a CUDA machine: every notebook under the gpu profile (times, accuracies), then the unit tests"
	@echo "make profile-check PROFILE=cpu   the same for another profile"
	@echo "make references   re-train the reference runs (cpu profile) committed in alexnet_lib/reference/"
	@echo "make colab-cells  rewrite each notebook's Colab badge and install cell from pyproject.toml"
	@echo "make lock         re-resolve the newest versions and rewrite constraints.txt"
	@echo "make bench        run the benchmarks in benchmarks/"

# The environment: a virtual environment in $(VENV) with the exact versions of constraints.txt.
# d2l comes last and with --no-deps: its release pins numpy==1.23.5, pandas==2.0.3, scipy==1.10.1.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else f"Python 3.10 or newer is needed, found {v.major}.{v.minor}: run make PYTHON=/path/to/python3.12 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip install --quiet -c constraints.txt --no-deps d2l
	@touch $(STAMP)

setup: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ROOT) $(LAB_ARGS)

# The unit tests and doctests under ci, then nbval replays every notebook under cpu, the profile its committed
# outputs come from, with an empty folder for the models it keeps (ALEXNET_CACHE), as on a fresh clone.
test: $(STAMP)
	ALEXNET_PROFILE=ci $(BIN)/python -m pytest $(PYTEST_ARGS) tests alexnet_lib
	CACHE=$$(mktemp -d) && trap 'rm -rf "$$CACHE"' EXIT && \
	ALEXNET_PROFILE=cpu ALEXNET_CACHE="$$CACHE" $(BIN)/python -m pytest $(NBVAL_ARGS) $(PYTEST_ARGS) notebooks

format: $(STAMP)
	$(BIN)/ruff format notebooks

notebooks: $(STAMP)
	$(BIN)/ruff format notebooks
	$(BIN)/python tools/profile_check.py --profile cpu --no-tests --in-place
	$(BIN)/python tools/slide_cells.py

student: $(STAMP)
	$(BIN)/python tools/student_notebooks.py

site: $(STAMP)
	$(BIN)/python tools/build_site.py

slides: $(STAMP)
	$(BIN)/python tools/build_slides.py

slide-cells: $(STAMP)
	$(BIN)/python tools/slide_cells.py

gpu-check: $(STAMP)
	$(BIN)/python tools/profile_check.py --profile gpu

PROFILE ?= cpu
profile-check: $(STAMP)
	$(BIN)/python tools/profile_check.py --profile $(PROFILE)

references: $(STAMP)
	ALEXNET_PROFILE=cpu $(BIN)/python tools/reference_runs.py

colab-cells: $(STAMP)
	$(BIN)/python tools/sync_colab_cells.py

lock:
	$(PYTHON) tools/lock.py

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
