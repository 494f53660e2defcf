#!/usr/bin/env bash
# Install the real protocol peers the Rust tests start: aiosmtpd (an SMTP server that keeps what it
# receives in a Maildir), moto's server mode (an S3-compatible store), django-cas-server (a CAS 3.0
# server, run by tests/peers/cas/run.py) and node's oidc-provider (an OpenID Connect provider, run
# by tests/peers/oidc/server.mjs). The Python ones live in the same private venv as the OpenAPI
# validator and schemathesis, under the cargo target dir, so CI reuses them between runs; the OIDC
# peer's packages go to tests/peers/oidc/node_modules with `npm ci` (skipped while they match its
# lock file). Prints nothing on success; the tests find the interpreter through
# TONGBAN_TEST_PYTHON (the Makefile sets it to this venv's python) and node on PATH.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="${CARGO_TARGET_DIR:-target}/py-venv"

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "${PYTHON:-python3}" -m venv "$venv"
fi

if ! "$venv/bin/python" -c 'import aiosmtpd, moto.server, flask_cors' >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2' 'moto[server]>=5,<6'
fi

if ! "$venv/bin/python" -c 'import cas_server' >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'django-cas-server==3.1.0'
fi

# After `npm ci` a copy of the lock file is kept in node_modules; while it still matches, the
# install is current.
oidc="tests/peers/oidc"
if ! cmp -s "$oidc/package-lock.json" "$oidc/node_modules/.tongban-installed-lock.json"; then
    npm ci --prefix "$oidc" --silent --no-audit --no-fund >/dev/null
    cp "$oidc/package-lock.json" "$oidc/node_modules/.tongban-installed-lock.json"
fi
