# make demo  : create .venv (first use), train RL^2 on RL2Bandit-v0 and compare it with baselines
# make test  : create .venv (first use) and run the whole test suite
# make lint  : create .venv (first use); ruff (format + lint) and mypy, configured in pyproject.toml
# make bench : run the quick speed benchmarks (a few minutes; figures are recorded in docs/results.md)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench clean venv

venv: $(STAMP)

# torch is pinned and installed first so that pip takes the CPU wheel present on the machine
# instead of downloading the CUDA build; everything else is a range in pyproject.toml.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,zoo,mujoco,metaworld]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m rl2_agent demo

# RL2_REQUIRE_ZOO=1: a missing rl_zoo3 / pyyaml fails tests/test_zoo.py instead of skipping it
test: $(STAMP)
	RL2_REQUIRE_ZOO=1 $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# rewrite the files as the formatter and the fixable lint rules want them
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/env_throughput.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/maze_speed.py
	$(BIN)/python benchmarks/value_augment_overhead.py
	@echo "longer: benchmarks/time_to_quality.py (5-60 min); experiments: python -m rl2_agent.experiments.gridworld_reference (minutes), python -m rl2_agent.experiments.rl3_vs_rl2 (hours)"

clean:
	rm -rf $(VENV) runs .pytest_cache
