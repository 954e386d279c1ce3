# The two front-door commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

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
	$(BIN)/pytest $(PYTEST_ARGS)

## test-under-load: pytest with three CPU-burning processes beside it (stopped afterwards); timing must not matter
test-under-load: $(STAMP)
	scripts/under_load.sh $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
