# Two commands: `make repro` (set up + run the pipeline) and `make test` (set up + run the tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
export PYTHONPATH := stages
# Stage commands in dvc.yaml call `python`: make it the venv's, whether or not the venv is active.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup params repro test bench report exps

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

setup: $(BIN)/.installed

# Compose conf/ into params.yaml exactly as `dvc exp run` does (dvc repro does not compose).
params: setup
	$(BIN)/python .ci/compose_params.py

repro: params
	$(BIN)/dvc repro

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python .ci/benchmark.py

# Markdown review report of the workspace against BASE (default: main), printed to stdout.
BASE ?= main
report: setup
	$(BIN)/python .ci/pr_report.py --base $(BASE)

# Every experiment with the params and metrics a reviewer decides on, as a Markdown table.
EXP_COLUMNS := Experiment|data.raw|segment.k|segment.naming|model.name|features.name|train.target|rows_rejected|silhouette|test.roc_auc$$|cv.roc_auc_mean|baseline_dpd_rule.roc_auc|tier_high.outstanding_share|risk_score_auc_written_off
exps: setup
	$(BIN)/dvc exp show --no-pager --md --drop '.*' --keep '$(EXP_COLUMNS)'
