# One task runner for the README, pre-commit and CI.
# The environment is .venv at the repository root (uv's default), built by `make setup`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV_BIN := $(CURDIR)/.venv/bin
PYTEST_ARGS ?=
# Optional extras `uv sync` adds to the environment. `make setup` installs none; the test targets
# install `torch` (the CPU wheel, see pyproject.toml) for the distributed training example's test.
# A target-specific value also reaches `setup` when it runs as that target's prerequisite.
EXTRAS ?=

.PHONY: help setup ui demo test lint typecheck unit integration e2e bench bench-modelserver bench-serving asyncapi down clean

help:
	@echo "make demo   - create the environment, start the platform, run the main job"
	@echo "make test   - create the environment, run ruff, mypy on libs/ and the whole test suite"
	@echo "make setup  - create or update .venv (nothing else)"
	@echo "make ui     - rebuild the dashboard from ui/ into the metadata package (needs Node.js and npm)"
	@echo "make bench  - run the benchmarks under bench/"
	@echo "make bench-modelserver - the model server against KServe's (needs wrk; installs kserve into .bench-venv/)"
	@echo "make bench-serving - the serving router's added latency over the model server (needs wrk)"

$(CURDIR)/.tools/bin/uv:
	@echo "bootstrapping uv $(UV_VERSION) into .tools/"
	@if python3 -m venv .tools >/dev/null 2>&1; then \
	  .tools/bin/python -m pip install -q "uv==$(UV_VERSION)"; \
	else \
	  python3 -m pip install -q --target .tools/lib "uv==$(UV_VERSION)" --break-system-packages \
	    && mkdir -p .tools/bin && ln -sf ../lib/bin/uv .tools/bin/uv; \
	fi
	@test -x .tools/bin/uv || { echo "could not install uv: install Python's venv module (apt-get install python3-venv) or uv itself"; exit 1; }

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set (as on the CI machine)
# Python never caches it, and every process (each service, CLI call and pipeline step)
# would compile everything it imports from source again, seconds each.
setup: $(UV)
	@$(UV) sync --all-packages --locked --quiet --compile-bytecode $(foreach extra,$(EXTRAS),--extra $(extra))
	@$(VENV_BIN)/python -m compileall -q -j 0 libs services >/dev/null
	@echo "environment ready: $(VENV_BIN)"

# The dashboard's built assets are committed in the metadata package, so nothing else needs
# Node.js; rebuild them after changing ui/.
ui:
	@command -v npm >/dev/null || { echo "make ui needs npm (Node.js 18 or newer): apt-get install nodejs npm"; exit 1; }
	cd ui && npm ci --no-audit --no-fund && npm run build

demo: setup
	@$(VENV_BIN)/python examples/demo.py

lint: setup
	@$(VENV_BIN)/ruff check .
	@$(VENV_BIN)/ruff format --check .

typecheck: setup
	@$(VENV_BIN)/mypy libs/*/src services/*/src

unit: setup
	@$(VENV_BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: EXTRAS = torch
integration: setup
	@$(VENV_BIN)/pytest tests/integration $(PYTEST_ARGS)

e2e: setup
	@$(VENV_BIN)/pytest tests/e2e $(PYTEST_ARGS)

test: EXTRAS = torch
test: lint typecheck
	@$(VENV_BIN)/pytest $(PYTEST_ARGS)

bench: EXTRAS = torch
bench: setup
	@$(VENV_BIN)/python bench/bus_latency.py
	@$(VENV_BIN)/python bench/pipelines.py
	@$(VENV_BIN)/python bench/step_envs.py
	@$(VENV_BIN)/python bench/training_overhead.py
	@$(VENV_BIN)/python bench/scheduler_scale.py
	@$(VENV_BIN)/python bench/metadata.py $(if $(HEADRACE_BENCH_POSTGRES),--sqlite --postgres $(HEADRACE_BENCH_POSTGRES))
	@$(VENV_BIN)/python bench/tuning.py
	@$(VENV_BIN)/python bench/dashboard.py $(if $(HEADRACE_BENCH_POSTGRES),--postgres $(HEADRACE_BENCH_POSTGRES))

# Not part of `make bench`: it installs kserve into its own environment, .bench-venv/kserve.
bench-modelserver: setup
	@$(VENV_BIN)/python bench/modelserver.py

# Not part of `make bench`: about a minute with wrk at 10 s per measurement.
bench-serving: setup
	@$(VENV_BIN)/python bench/serving_router.py

asyncapi: setup
	@$(VENV_BIN)/python -m headrace_contracts.asyncapi > docs/asyncapi.json
	@echo "docs/asyncapi.json regenerated"

down: setup
	@$(VENV_BIN)/headrace down

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache
