#!/usr/bin/env bash
# Install the real protocol peers the Rust tests start: aiosmtpd (an SMTP server that keeps what it
# receives in a Maildir) and moto's server mode (an S3-compatible store). They live in the same
# private venv as the OpenAPI validator and schemathesis, under the cargo target dir, so CI reuses
# them between runs. Prints nothing on success; the tests find the interpreter through
# TONGBAN_TEST_PYTHON (the Makefile sets it to this venv's python).
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
