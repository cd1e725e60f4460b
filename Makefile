# numloss: `make examples` runs the lesson's examples, `make test` runs the tests.
# Both create .venv and install the project into it first (once; again when setup.cfg,
# pyproject.toml or constraints.txt change, or when .venv was made by another Python or
# its set-up did not finish), so a fresh clone needs only Python 3.10+ and the network.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXAMPLES := $(sort $(filter-out examples/_%,$(wildcard examples/*.py)))
EXAMPLE_NAMES := $(EXAMPLES:examples/%.py=%)

# `make examples QUICK=1` runs every example in its --quick mode (what the tests run),
# its figures written to build/figures-quick/; QUICK=0 (or nothing) is the full run,
# whose figures go to build/figures/. Only `make figures` writes the committed ones.
QUICK ?= 0
ifeq ($(filter $(QUICK),0 1),)
$(error QUICK=$(QUICK): expected QUICK=1 (the quick runs) or QUICK=0 (the full ones))
endif
EXAMPLE_FLAGS := $(if $(filter 1,$(QUICK)),--quick,)

# a mistyped `make example-NAME` lists the names, before any set-up
UNKNOWN := $(filter-out $(EXAMPLE_NAMES:%=example-%),$(filter example-%,$(MAKECMDGOALS)))
ifneq ($(UNKNOWN),)
$(error no example named $(UNKNOWN:example-%=%); the examples are: $(EXAMPLE_NAMES))
endif

# .venv is rebuilt from scratch when the Python that would make it now is not the one
# that made it (recorded in the stamp), or when a set-up stopped half-way (no stamp)
PYTHON_ID := $(shell $(PYTHON) -c 'import sys; print(sys.version.split()[0], sys.base_prefix)' 2>/dev/null)
ifneq ($(PYTHON_ID),$(shell cat $(STAMP) 2>/dev/null))
$(STAMP): FORCE
endif

export MPLBACKEND := Agg
# small matrix products are slower with a BLAS thread pool fighting for 2 cores
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup shell test test-long lint format gradcheck examples figures notebooks bench \
	bench-quick clean FORCE

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null || { \
		echo "numloss needs Python 3.10 or newer; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
		echo "Name another: make setup PYTHON=python3.12"; exit 1; }
	@# --clear: whatever a failed set-up or another Python left in .venv goes
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools prints an "Editable installation" warning banner that reads like an
	@# error; it is a notice, so its warnings are silenced for this one command.
	@# constraints.txt: the versions every student gets, so numbers and figures agree
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -c "import numloss" # fail here, not later, if the install did not work
	@echo '$(PYTHON_ID)' > $(STAMP)

FORCE:

# an interactive bash reads ~/.bashrc, which may put pyenv's or conda's python first
# again: the environment is activated after it, from an init file of its own
shell: $(STAMP)
	@echo "numloss's environment: type 'exit' to leave it"
	@printf '%s\n' '[ -f ~/.bashrc ] && . ~/.bashrc' '. $(BIN)/activate' > $(VENV)/shellrc
	@exec bash --init-file $(VENV)/shellrc -i

test: $(STAMP)
	$(BIN)/python -m pytest

# the property tests with many more examples (hypothesis profile "long")
test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

gradcheck: $(STAMP)
	$(BIN)/python -m numloss.gradcheck

# every example, its figures written to build/figures/ (build/figures-quick/ with QUICK=1)
examples: $(STAMP)
	@echo "Figures go to build/figures$(if $(EXAMPLE_FLAGS),-quick)/; \
	the committed ones in examples/figures/ are written only by \`make figures\`."
	@for script in $(EXAMPLES); do \
		echo "== $$script"; \
		$(BIN)/python $$script $(EXAMPLE_FLAGS) || exit 1; \
		echo; \
	done

# one example: `make example-sec2_1_3_convexity` runs examples/sec2_1_3_convexity.py
example-%: $(STAMP)
	$(BIN)/python examples/$*.py $(EXAMPLE_FLAGS)

# the committed figures (examples/figures/): every example's full run, on purpose
figures: $(STAMP)
	$(if $(EXAMPLE_FLAGS),$(error make figures writes the committed figures: no QUICK=1))
	@for script in $(EXAMPLES); do \
		echo "== $$script"; \
		NUMLOSS_FIGURES=examples/figures $(BIN)/python $$script || exit 1; \
	done

# every example as an executed notebook, build/notebooks/NAME.ipynb (QUICK=1: quick runs)
notebooks: $(STAMP)
	$(BIN)/python examples/_notebooks.py $(EXAMPLE_FLAGS)

# the committed results (examples/bench_results.md, examples/figures/bench_scaling.png)
bench: $(STAMP)
	$(BIN)/python -m numloss.bench --out examples

# tiny shapes, seconds: written to build/bench-quick/, not over the committed results
bench-quick: $(STAMP)
	$(BIN)/python -m numloss.bench --quick --out build/bench-quick

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
