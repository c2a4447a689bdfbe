# sdkit developer entry points.  `make test` works on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
OUT ?= output
# Project-local translation cache used by `make briefing`; `make clean` removes it.
CACHE := .sdkit-cache
STAMP := $(VENV)/.installed

.PHONY: test lint briefing clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

test: $(STAMP)
	$(VENV)/bin/ruff check sdkit tests
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check sdkit tests

briefing: $(STAMP)
	SDKIT_CACHE_DIR="$(abspath $(CACHE))" $(VENV)/bin/sdkit run models/empowerment.mdl \
		-o $(OUT)/baseline.csv --summary $(OUT)/summary.md
	@echo "Briefing written to $(abspath $(OUT))"

clean:
	rm -rf output $(CACHE) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
