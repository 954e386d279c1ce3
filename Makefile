# The two front-door commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for `unit` and `test-under-load` (0: one process). --dist loadscope keeps each
# module in one worker, so a module's slow fixtures (sandbox + bot, browser, stack) start once; the
# longest modules go first (tests/xdist_order.py). Not loadgroup: with pytest 9.2 its xdist_group
# marks are silently ignored (pytest-xdist#1386). 2 = the CPUs here; BENCHMARKS.md has 4 too.
PYTEST_WORKERS ?= 2
XDIST  := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadscope)

.PHONY: run test lint typecheck unit test-under-load system-packages clean

$(STAMP): pyproject.toml
	@scripts/bootstrap.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

## run: install, migrate the database, start the product (offline sandbox when no DISCORD_TOKEN)
run: $(STAMP)
	$(BIN)/zilean run

## test: the whole suite: lint, type check, pytest (installs Debian's chromium and nginx first if missing)
test: $(STAMP) system-packages lint typecheck unit

system-packages:
	@scripts/system_packages.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

## test-under-load: pytest with three CPU-burning processes beside it (stopped afterwards); timing must not matter
test-under-load: $(STAMP)
	scripts/under_load.sh $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
