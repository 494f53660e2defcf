#!/usr/bin/env bash
# Fuzzes every operation of openapi/openapi.json against a real server (SQLite, demo college) with
# schemathesis, signed in as the IT administrator, and fails on any 5xx, on a response that
# contradicts the spec (a status code, content type, header or body schema it does not document),
# on a crash, or on a panic in the server log. Bounded: a fixed number of examples per operation, loopback only. The
# live notification stream is left out: it never ends by design (tests/api/notify.rs covers it).
#
#   bash tests/fuzz/schemathesis.sh            # MAX_EXAMPLES=20 by default
#   CHECKS=not_a_server_error bash tests/fuzz/schemathesis.sh   # server errors only
#   KEEP_LOG=/tmp/fuzz.log TAIL=60 bash tests/fuzz/schemathesis.sh  # keep the whole report
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

target="${CARGO_TARGET_DIR:-target}"
venv="$target/py-venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import schemathesis' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
fi

cargo build --quiet -p tongban-server --bin tongban
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
TONGBAN_DATA_DIR="$work/data" TONGBAN_LISTEN="127.0.0.1:$port" TONGBAN_DEMO=1 RUST_LOG=warn \
TONGBAN_LOGIN_THROTTLE__MAX_FAILURES_PER_ACCOUNT=1000000 TONGBAN_LOGIN_THROTTLE__MAX_FAILURES_PER_IP=1000000 \
TONGBAN_RATE_LIMIT__PER_USER_PER_MINUTE=0 TONGBAN_RATE_LIMIT__PER_IP_PER_MINUTE=0 \
    "$target/debug/tongban" serve >"$work/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
token="$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"it_admin","password":"Tongban@2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

status=0
"$venv/bin/schemathesis" run openapi/openapi.json --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $token" --checks "${CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance}" \
    --exclude-operation-id notification_stream --request-timeout 30 \
    --max-examples "${MAX_EXAMPLES:-20}" --seed 20261128 --no-color >"$work/fuzz.log" 2>&1 || status=$?
tail -n "${TAIL:-25}" "$work/fuzz.log"; [[ -n "${KEEP_LOG:-}" ]] && cp "$work/fuzz.log" "$KEEP_LOG"
if ! kill -0 "$pid" 2>/dev/null; then
    echo "the server died during fuzzing:"; tail -n 40 "$work/server.log"; exit 1
fi
if grep -q "panicked" "$work/server.log"; then
    echo "the server panicked during fuzzing:"; grep -A5 "panicked" "$work/server.log" | head -n 40; exit 1
fi
exit "$status"
