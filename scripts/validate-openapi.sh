#!/usr/bin/env bash
# Validate the checked-in OpenAPI document (openapi/openapi.json) against the
# OpenAPI 3.1 schema with openapi-spec-validator from PyPI.
#
# The validator lives in a private venv under the cargo target dir so that it
# survives `make clean-data` and, in CI, persists between runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

spec="openapi/openapi.json"
validator_req="openapi-spec-validator==0.9.0"
venv="${CARGO_TARGET_DIR:-target}/py-venv"
python="${PYTHON:-python3}"

if [[ ! -f "$spec" ]]; then
    echo "error: $spec is missing; generate it with 'make openapi' and commit it" >&2
    exit 1
fi

# (Re)create the venv if it is absent or its interpreter no longer runs
# (e.g. the system Python it was made from has been replaced).
if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

# Install the validator only if the pinned version is not already there.
want_version="${validator_req#*==}"
have_version="$("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("openapi-spec-validator"))' \
    2>/dev/null || true)"
if [[ "$have_version" != "$want_version" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$validator_req"
fi

# --schema 3.1: the document must be OpenAPI 3.1, not merely any valid version.
"$venv/bin/openapi-spec-validator" --schema 3.1 "$spec"
