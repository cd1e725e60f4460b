# numloss: `make examples` runs the lesson's examples, `make test` runs the tests.
# Both create .venv and install the project into it first (once; again when
# setup.cfg or pyproject.toml change), so a fresh clone needs only Python 3.10+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXAMPLES := $(sort $(filter-out examples/_%,$(wildcard examples/*.py)))
# `make examples QUICK=1` runs every example in its --quick mode (what the tests run),
# its figures written to build/figures-quick/, not over the committed ones
EXAMPLE_FLAGS := $(if $(QUICK),--quick,)
ifneq ($(QUICK),)
export NUMLOSS_FIGURES := build/figures-quick
endif

export MPLBACKEND := Agg
# small matrix products are slower with a BLAS thread pool fighting for 2 cores
export OPENBLAS_NUM_THREADS := 1

.PHONY: setup shell test test-long lint format gradcheck examples bench bench-quick clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools prints an "Editable installation" warning banner that reads like an
	@# error; it is a notice, so its warnings are silenced for this one command
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -c "import numloss" # fail here, not later, if the install did not work
	touch $(STAMP)

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

examples: $(STAMP)
	@for script in $(EXAMPLES); do \
		echo "== $$script"; \
		$(BIN)/python $$script $(EXAMPLE_FLAGS) || exit 1; \
		echo; \
	done

# one example: `make example-sec2_1_3_convexity` runs examples/sec2_1_3_convexity.py
example-%: $(STAMP)
	$(BIN)/python examples/$*.py $(EXAMPLE_FLAGS)

bench: $(STAMP)
	$(BIN)/python -m numloss.bench

# tiny shapes, seconds: written to build/bench-quick/, not over the committed results
bench-quick: $(STAMP)
	$(BIN)/python -m numloss.bench --quick

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
