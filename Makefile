# Two commands for newcomers: `make run` and `make test`. Each creates .venv when needed.
# `make test-fast`: the tier without broker, daemon, subprocess or browser (seconds, not minutes).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/huabei-watch run

lint: $(STAMP)
	$(BIN)/ruff check huabei_watch watcher consumers tests bench
	$(BIN)/mypy --strict huabei_watch watcher consumers tests bench
	$(BIN)/lint-imports
	$(BIN)/vulture

# Two workers (pytest-xdist); the fault drills share one of them (--dist loadgroup, see tests/conftest.py).
XDIST ?= -n 2 --dist loadgroup

test: lint
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
