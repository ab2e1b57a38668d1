# Shoploop. The README's two commands are `make demo` and `make test`; both are safe to re-run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_ENV := SHOPLOOP_DEBUG=1 SHOPLOOP_DATABASE_URL= SHOPLOOP_REDIS_URL=
# make demo PORT=8001 (or HOST=0.0.0.0) serves elsewhere.
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist: one worker per core.
PYTEST_WORKERS ?= auto

.PHONY: demo test install install-test system-deps system-deps-test messages static lint \
	migrations-check test-sqlite test-postgres serve clean mutate

## make demo: install, migrate the SQLite file, build the demo world, serve on $(HOST):$(PORT)
## (127.0.0.1:8000 unless given: make demo PORT=8001).
demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput -v0
	$(DEMO_ENV) $(BIN)/python manage.py simulate --if-empty
	$(DEMO_ENV) $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

## make test: install what the tests need, then ruff, the migration check and the suite on both databases.
test: install-test system-deps-test lint migrations-check test-sqlite test-postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# axe-core (package.json, pinned in package-lock.json) for the browser journeys' accessibility check.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: system-deps $(VENV)/.installed messages static
install-test: system-deps $(VENV)/.installed-test node_modules/.installed messages static

# Debian packages: gettext compiles the message catalogues; the CJK font draws share posters;
# Chromium (with that font) drives the browser
# journeys. Installed only when missing, so re-runs cost nothing.
system-deps:
	@command -v msgfmt >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext; }
	@# Share posters draw Chinese with Noto Sans CJK (found with fc-match; docs/sharing.md).
	@{ command -v fc-match >/dev/null && dpkg -s fonts-noto-cjk >/dev/null 2>&1; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fontconfig fonts-noto-cjk; }

system-deps-test: system-deps
	@{ [ -x /usr/bin/chromium ] && dpkg -s fonts-noto-cjk >/dev/null 2>&1; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }

messages:
	SHOPLOOP_DEBUG=1 $(BIN)/python manage.py compilemessages -v0 --ignore='.venv' --ignore='var'

static:
	SHOPLOOP_DEBUG=1 $(BIN)/python manage.py collectstatic --noinput -v0

## make mutate: mutation testing (mutmut) of the money and stock modules on SQLite, one module at a
## time with only the tests that prove it, one worker (scripts/mutate.py; docs/mutation.md has the
## figures and the mutants judged equivalent). Fails when a module scores under 90 %.
## MODULES narrows it (`make mutate MODULES='transfers coupons'`); results stay in var/mutate/.
MODULES ?=
mutate: $(VENV)/.installed-test
	$(BIN)/python scripts/mutate.py $(MODULES)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check:
	SHOPLOOP_DEBUG=1 SHOPLOOP_DATABASE_URL= $(BIN)/python manage.py makemigrations --check --dry-run

test-sqlite:
	SHOPLOOP_DATABASE_URL= $(BIN)/pytest -n $(PYTEST_WORKERS) -q --durations=20

test-postgres:
	SHOPLOOP_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n $(PYTEST_WORKERS) -q --durations=20

serve:
	$(DEMO_ENV) $(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) var test-artifacts node_modules
