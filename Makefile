# sdkit developer entry points.  `make test` works on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
OUT ?= output
# Extra `sdkit brief` flags for `make briefing`, e.g. BRIEF_FLAGS="--embed output/embed".
# The scenarios, the base and the sensitivity study come from models/empowerment.toml.
BRIEF_FLAGS ?=
# Project-local translation cache used by `make briefing`; `make clean` removes it.
CACHE := .sdkit-cache
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test`: one per CPU, at most 4 (more mostly repeats the
# session fixtures); PYTEST_WORKERS=0 runs the tests in this process, one after another.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

# Every public module of sdkit (not the _private ones), for the API reference.
API_MODULES = $(shell find sdkit -name '*.py' ! -name '_[a-z]*' | \
	sed 's#/__init__\.py$$##; s#\.py$$##; s#/#.#g' | sort)

.PHONY: test lint typecheck docs briefing clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[test]'
	touch $@

test: $(STAMP)
	$(VENV)/bin/ruff check sdkit tests
	$(VENV)/bin/mypy
	$(MAKE) docs
	$(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Type check (configuration: [tool.mypy] in pyproject.toml; docs/api.md).
typecheck: $(STAMP)
	$(VENV)/bin/mypy

# API reference from the docstrings (pdoc, numpy style) in $(OUT)/api/index.html.
# A warning (a module that fails to import, a broken docstring) fails the build.
docs: $(STAMP)
	rm -rf $(OUT)/api
	$(VENV)/bin/python -W error::UserWarning -W "ignore:The module specification:UserWarning" \
		-m pdoc --docformat numpy -o $(OUT)/api $(API_MODULES)
	@echo "API reference written to $(abspath $(OUT))/api/index.html"

lint: $(STAMP)
	$(VENV)/bin/ruff check sdkit tests

briefing: $(STAMP) calibration
	SDKIT_CACHE_DIR="$(abspath $(CACHE))" $(VENV)/bin/sdkit run models/empowerment.mdl \
		-o $(OUT)/baseline.csv --summary $(OUT)/summary.md
	SDKIT_CACHE_DIR="$(abspath $(CACHE))" $(VENV)/bin/sdkit brief models/empowerment.mdl \
		-o $(OUT)/briefing.html --lang en --lang zh --calibration $(CALIBRATION_OUT) $(BRIEF_FLAGS)
	@echo "Briefing written to $(abspath $(OUT))"

clean:
	rm -rf output $(CACHE) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Sensitivity findings in docs/sensitivity.md. The Morris screening runs with PySD
# (1-2 min); once the vectorised engine is in, switch to the Sobol study with
# `make sensitivity-docs SENSITIVITY_SPEC=scenarios/sensitivity/talent-investment.toml`.
SENSITIVITY_SPEC ?= scenarios/sensitivity/talent-investment-morris.toml
SENSITIVITY_OUT = $(OUT)/sensitivity/$(basename $(notdir $(SENSITIVITY_SPEC)))

.PHONY: sensitivity-docs
sensitivity-docs: $(STAMP)
	$(VENV)/bin/sdkit sensitivity $(SENSITIVITY_SPEC) -o $(SENSITIVITY_OUT) \
		--executor processes --no-progress
	$(VENV)/bin/sdkit sensitivity report $(SENSITIVITY_OUT) --update docs/sensitivity.md

# The calibration of the empowerment model on 2015-2019 with its 2020-2021 hindcast
# (docs/calibration.md): about five minutes on 2 cores; rerunning resumes or reuses it, and
# a calibration of an older model or spec in the folder is replaced (--replace).
CALIBRATION_SPEC ?= scenarios/calibration/empowerment-2019.toml
CALIBRATION_OUT = $(OUT)/calibration/$(basename $(notdir $(CALIBRATION_SPEC)))

.PHONY: calibration calibration-docs
calibration: $(STAMP)
	SDKIT_CACHE_DIR="$(abspath $(CACHE))" $(VENV)/bin/sdkit calibrate models/empowerment.mdl \
		$(CALIBRATION_SPEC) -o $(CALIBRATION_OUT) --replace

calibration-docs: calibration
	$(VENV)/bin/sdkit calibrate report $(CALIBRATION_OUT) --update docs/calibration.md

.PHONY: bench
# Ensemble engine vs a PySD loop vs the numba floor (installs the `fast` extra); one run of
# one set through the cached engine vs PySD (cold compile, disk and warm runs); one
# calibration on the engine vs PySD (same seed and evaluations), and the full calibration.
bench: $(STAMP)
	$(VENV)/bin/python -m pip install -q -e '.[test,fast]'
	$(VENV)/bin/python benchmarks/bench_engine.py
	$(VENV)/bin/python benchmarks/bench_single.py
	$(VENV)/bin/python benchmarks/bench_pipeline.py
	$(VENV)/bin/python benchmarks/bench_calibration.py

# docs/scenarios.md: the transition table (every scenario run with PySD, about a minute on
# 2 cores) and the Monte Carlo bands over the unsourced assumptions (one table of the
# vectorised engine, scenarios/bands/assumptions.toml: a few seconds).
.PHONY: scenarios-docs
scenarios-docs: $(STAMP)
	$(VENV)/bin/sdkit scenarios run scenarios -o $(OUT)/scenarios
	$(VENV)/bin/sdkit scenarios table $(OUT)/scenarios --update docs/scenarios.md
	$(VENV)/bin/sdkit scenarios bands scenarios -o $(OUT)/scenario-bands \
		--update docs/scenarios.md
