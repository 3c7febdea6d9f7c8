# `make run` serves Gather Grid on the embedded PostgreSQL; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench clean browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py serve

# The browser tests drive Debian's chromium (Playwright never downloads one).
browser: $(CHROMIUM)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The official JavaScript clients the tests drive (supabase-js, the tracking
# SDKs), pinned by tests/js/package-lock.json; Node.js from Debian if missing.
JS := tests/js
JS_STAMP := $(JS)/node_modules/.installed
$(JS_STAMP): $(JS)/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error
	@touch $(JS_STAMP)

test: $(STAMP) $(CHROMIUM) $(JS_STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py migrate_schemas --noinput -v 0
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/tenants.py

clean:
	rm -rf $(VENV) .data .pytest_cache .ruff_cache $(JS)/node_modules
