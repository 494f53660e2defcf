# Tongban (通办) developer tasks. `make help` lists them.
#
# CARGO_TARGET_DIR is taken from the environment as it is. TEST_DATABASE_URL
# (the PostgreSQL server the PostgreSQL half of the tests creates its own
# databases on) defaults to the local server.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
NPM ?= npm
LISTEN ?= 127.0.0.1:8080
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export TEST_DATABASE_URL
# The interpreter of the private venv (under the cargo target dir) that holds the test peers
# (aiosmtpd, moto's S3 server, django-cas-server); scripts/test-peers.sh installs them, and the
# OIDC peer's node packages under tests/peers/oidc.
TONGBAN_TEST_PYTHON ?= $(abspath $(or $(CARGO_TARGET_DIR),target))/py-venv/bin/python
export TONGBAN_TEST_PYTHON

FRONTEND_DIR := frontend
OPENAPI_SPEC := openapi/openapi.json

.PHONY: help run frontend-build test test-frontend e2e lint fmt openapi clean-data fuzz

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: frontend-build ## Build (and frontend, if any) and run the demo server on LISTEN (127.0.0.1:8080)
	$(CARGO) run -p tongban-server --bin tongban -- serve --listen $(LISTEN) --demo

# Builds frontend/dist when there is a frontend; a no-op until then.
frontend-build:
	@if [[ -f $(FRONTEND_DIR)/package.json ]]; then \
		cd $(FRONTEND_DIR); \
		if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then \
			$(NPM) ci && touch node_modules; \
		fi; \
		$(NPM) run build; \
	else \
		echo "no $(FRONTEND_DIR)/package.json; skipping frontend build"; \
	fi

test: lint ## fmt check, clippy, OpenAPI validation, frontend tests, every Rust test on SQLite and PostgreSQL
	bash scripts/validate-openapi.sh
	bash tests/fuzz/schemathesis.sh
	bash scripts/test-peers.sh
	@$(MAKE) --no-print-directory test-frontend
	@$(MAKE) --no-print-directory e2e
	@echo "PostgreSQL tests use TEST_DATABASE_URL=$$TEST_DATABASE_URL"
	@# Rust tests run last so that their summary closes the output.
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

# Frontend tests; a no-op until frontend/package.json exists.
test-frontend:
	@if [[ -f $(FRONTEND_DIR)/package.json ]]; then \
		cd $(FRONTEND_DIR) && $(NPM) ci && $(NPM) test; \
	else \
		echo "no $(FRONTEND_DIR)/package.json; skipping frontend tests"; \
	fi

# End-to-end tests of the web app: builds the SPA and the server binary (CARGO_TARGET_DIR), starts
# a demo server on a free port with a fresh data dir, drives Debian's headless Chromium through the
# scenarios in tests/e2e/scenarios, and always stops the server. Screenshots: tests/e2e/screenshots/.
e2e: frontend-build ## Browser end-to-end scenarios against a demo server (needs /usr/bin/chromium)
	cd tests/e2e && $(NPM) ci --no-audit --no-fund && node run.mjs

lint: ## rustfmt check and clippy with warnings denied
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format all Rust code
	$(CARGO) fmt --all

openapi: ## Regenerate openapi/openapi.json from the server's code
	@mkdir -p $(dir $(OPENAPI_SPEC))
	@tmp="$(OPENAPI_SPEC).tmp.$$$$"; \
	trap 'rm -f "$$tmp"' EXIT; \
	$(CARGO) run -q -p tongban-server --bin tongban -- openapi > "$$tmp"; \
	mv "$$tmp" $(OPENAPI_SPEC)
	@echo "wrote $(OPENAPI_SPEC)"

fuzz: ## Fuzz every API operation with schemathesis against a demo server (fails on any 5xx)
	bash tests/fuzz/schemathesis.sh

clean-data: ## Delete the local data dir ./data (database, generated JWT secret)
	rm -rf data
