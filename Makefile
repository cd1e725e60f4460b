# numloss: `make examples` runs the lesson's examples, `make test` runs the tests.
# Both create .venv and install the project into it first (once; again when
# setup.cfg or pyproject.toml change), so a fresh clone needs only Python 3.10+.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXAMPLES := $(sort $(wildcard examples/sec*.py))

export MPLBACKEND := Agg

.PHONY: setup test lint format gradcheck examples clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

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
		$(BIN)/python $$script || exit 1; \
		echo; \
	done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
