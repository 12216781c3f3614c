# Paddock: `make demo` and `make test` do all set-up on a fresh machine (Python 3.11+ and make).
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
MAIL_PORT ?= 8025
export PADDOCK_DATABASE_URL ?= sqlite:///$(CURDIR)/var/paddock.db

.PHONY: install demo serve migrate test test-postgres test-browser lint bench fuzz clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (python3.11 on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	@mkdir -p var
	$(BIN)/paddock db upgrade

# The demo sends its mail to a local SMTP server (`paddock mail dev-server`), which keeps each
# message in var/mail/ and prints who it was for.
demo: migrate
	$(BIN)/paddock demo load --if-empty
	@echo "Paddock demo: open http://$(HOST):$(PORT)/ (API docs at http://$(HOST):$(PORT)/docs)"
	@echo "Mail goes to a local SMTP server on 127.0.0.1:$(MAIL_PORT); messages in var/mail/"
	@$(BIN)/paddock mail dev-server --port $(MAIL_PORT) & mail=$$!; \
	trap 'kill $$mail 2>/dev/null' EXIT INT TERM; \
	PADDOCK_MAIL_ENABLED=1 PADDOCK_SMTP_HOST=127.0.0.1 PADDOCK_SMTP_PORT=$(MAIL_PORT) \
	PADDOCK_SMTP_SECURITY=none PADDOCK_SMTP_ALLOW_PRIVATE=1 PADDOCK_PUBLIC_URL=http://$(HOST):$(PORT) \
	$(BIN)/paddock serve --host $(HOST) --port $(PORT)

serve: migrate
	$(BIN)/paddock serve --host $(HOST) --port $(PORT)

# The whole suite on SQLite (and the browser tests when Chromium is there).
test: install
	$(BIN)/python -m pytest -m "not postgres and not browser" -n 2 --dist loadfile
	@if [ -x /usr/bin/chromium ]; then $(MAKE) --no-print-directory test-browser; \
	else echo "SKIPPED browser tests: /usr/bin/chromium not found (apt-get install chromium)"; fi

test-postgres: install
	PADDOCK_REQUIRE_POSTGRES=1 $(BIN)/python -m pytest -m postgres -n 2 --dist loadfile

test-browser: install
	$(BIN)/python -m pytest -m browser tests/browser
	@echo "Browser screenshots: $(CURDIR)/test-artifacts/screenshots/"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	@mkdir -p bench/results
	$(BIN)/python bench/run.py

# The whole API fuzzed (schemathesis): EXAMPLES requests per operation, mode and caller.
fuzz: install
	$(BIN)/python -m tests.fuzzing --examples $(or $(EXAMPLES),25)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
