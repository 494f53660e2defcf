#!/usr/bin/env bash
# Measures server start to ready (migrations already applied) and idle RSS, on SQLite and, when
# TEST_DATABASE_URL is set, on PostgreSQL. Uses the release binary; bounded in time; loopback only.
#
#   cargo build --release -p tongban-server --bin tongban
#   bash tests/load/startup.sh            # prints one line per backend and run
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/tongban"
[[ -x "$bin" ]] || { echo "build first: cargo build --release -p tongban-server --bin tongban" >&2; exit 1; }
runs="${RUNS:-5}"
port="${PORT:-18099}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

measure() { # name database_url
    local name="$1" url="$2"
    export TONGBAN_DATA_DIR="$work/$name" TONGBAN_DATABASE_URL="$url" TONGBAN_LISTEN="127.0.0.1:$port" RUST_LOG=warn
    "$bin" seed --demo >/dev/null # migrations applied and data present before timing
    for i in $(seq 1 "$runs"); do
        local start end pid rss
        start=$(date +%s%N)
        "$bin" serve >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 500); do
            if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
            sleep 0.01
        done
        end=$(date +%s%N)
        sleep 1
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
        kill -TERM "$pid"
        wait "$pid" || true
        printf '%s run %d: start to ready %d ms, idle RSS %d KiB\n' "$name" "$i" $(((end - start) / 1000000)) "$rss"
    done
}

measure sqlite "sqlite://$work/sqlite.db?mode=rwc"
if [[ -n "${TEST_DATABASE_URL:-}" ]]; then
    db="tongban_startup_$$"
    psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
    measure postgres "${TEST_DATABASE_URL%/*}/$db"
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
