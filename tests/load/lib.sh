#!/usr/bin/env bash
# Shared functions of the load scenarios (tests/load/scenarios.sh; see tests/load/README.md).
# Source it after `set -euo pipefail`; it defines functions and defaults and starts nothing.
#
# Everything runs against 127.0.0.1 only and every load is bounded in time (oha -z).

LOAD_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOAD_DIR/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/tongban-target}"
# oha: an open-model load generator (fixed rate with -q, latency corrected for queueing).
OHA_VERSION="${OHA_VERSION:-1.16.0}"
OHA="${OHA:-$CARGO_TARGET_DIR/tools/bin/oha}"
BIN="${BIN:-$CARGO_TARGET_DIR/release/tongban}"
PASSWORD="${PASSWORD:-Tongban@2026}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- JSON ----------------------------------------------------------------------------------------
# jq when it exists, else python3 (JSON_TOOL=python3 forces the latter).
if [[ -z "${JSON_TOOL:-}" ]]; then
    if command -v jq >/dev/null 2>&1; then JSON_TOOL=jq; else JSON_TOOL=python3; fi
fi
command -v "$JSON_TOOL" >/dev/null 2>&1 || die "needs jq or python3"

# json PATH: one value of the JSON document on stdin, by a jq-style path of keys and indexes
# (`.access_token`, `.items[0].id`, `.total`); prints nothing for a missing value.
json() {
    if [[ "$JSON_TOOL" == jq ]]; then
        jq -r "$1 // empty"
    else
        python3 -c '
import json, re, sys
v = json.load(sys.stdin)
for key, idx in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", sys.argv[1]):
    try:
        v = v[key] if key else v[int(idx)]
    except (KeyError, IndexError, TypeError):
        v = None
        break
if v is not None:
    print(v if isinstance(v, str) else json.dumps(v))
' "$1"
    fi
}

# json_lines PATH FIELD: FIELD of every element of the array at PATH, one a line.
json_lines() {
    if [[ "$JSON_TOOL" == jq ]]; then
        jq -r "($1 // [])[] | .$2 // empty"
    else
        python3 -c '
import json, re, sys
v = json.load(sys.stdin)
for key in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)", sys.argv[1]):
    v = (v or {}).get(key)
for row in v or []:
    if row.get(sys.argv[2]) is not None:
        print(row[sys.argv[2]])
' "$1" "$2"
    fi
}

# oha_summary FILE WINDOW: one tab-separated line from oha's JSON report:
# total_seconds requests ok(2xx) ok_per_second p50_ms p95_ms p99_ms ok_p99_ms status_codes errors
# ok_per_second is 2xx responses ÷ WINDOW, the seconds requests were sent for (oha -z with -w: the
# requests in flight at the end are waited for and counted). Latencies are over all responses
# (any status); ok_p99 only over the 2xx ones.
oha_summary() {
    if [[ "$JSON_TOOL" == jq ]]; then
        jq -r --argjson window "$2" '
          def ms(x): if x == null then "-" else (x * 1000000 | round / 1000) end;
          (.statusCodeDistribution // {}) as $s
          | ([$s | to_entries[] | select(.key | startswith("2")) | .value] | add // 0) as $ok
          | ([$s[]] | add // 0) as $n
          | [ (.summary.total * 1000 | round / 1000), $n, $ok,
              ($ok / $window * 10 | round / 10),
              ms(.latencyPercentiles.p50), ms(.latencyPercentiles.p95), ms(.latencyPercentiles.p99),
              ms(.latencyPercentilesSuccessful.p99),
              ([$s | to_entries | sort_by(.key)[] | "\(.key)×\(.value)"] | join(" ") | if . == "" then "-" else . end),
              ([(.errorDistribution // {}) | to_entries[] | "\(.key)×\(.value)"] | join("; ") | if . == "" then "-" else . end)
            ] | @tsv' "$1"
    else
        python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
window = float(sys.argv[2])
s = d.get("statusCodeDistribution") or {}
ok = sum(v for k, v in s.items() if k.startswith("2"))
n = sum(s.values())
total = d["summary"]["total"]
def ms(x):
    return "-" if x is None else round(x * 1000, 3)
lp = d.get("latencyPercentiles") or {}
lps = d.get("latencyPercentilesSuccessful") or {}
codes = " ".join(f"{k}×{v}" for k, v in sorted(s.items())) or "-"
errors = "; ".join(f"{k}×{v}" for k, v in (d.get("errorDistribution") or {}).items()) or "-"
row = [round(total, 3), n, ok, round(ok / window, 1),
       ms(lp.get("p50")), ms(lp.get("p95")), ms(lp.get("p99")), ms(lps.get("p99")), codes, errors]
print("\t".join(str(x) for x in row))
PY
    fi
}

# --- tools ---------------------------------------------------------------------------------------
# ensure_oha: the pinned oha at $OHA, installed from crates.io when missing (plain HTTP only: the
# load is loopback, but oha 1.16 does not build without its TLS feature).
ensure_oha() {
    if [[ -x "$OHA" ]] && "$OHA" --version 2>/dev/null | grep -q " $OHA_VERSION"; then return; fi
    if [[ "$OHA" != "$CARGO_TARGET_DIR/tools/bin/oha" ]]; then
        [[ -x "$OHA" ]] || die "OHA=$OHA is not executable"
        return
    fi
    log "installing oha $OHA_VERSION into $CARGO_TARGET_DIR/tools (cargo install, once)"
    cargo install --quiet --locked --version "$OHA_VERSION" \
        --root "$CARGO_TARGET_DIR/tools" oha >&2 || die "cargo install oha failed"
    "$OHA" --version >/dev/null || die "oha did not install at $OHA"
}

pgbench_bin() {
    local p="${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}"
    [[ -x "$p" ]] || p="$(command -v pgbench || true)"
    [[ -n "$p" ]] || die "needs pgbench (PGBENCH=…; Debian: postgresql-client)"
    echo "$p"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# with_db URL NAME: URL with its database (path) replaced by NAME, query kept.
with_db() {
    python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$1" "$2"
}

# --- database ------------------------------------------------------------------------------------
# setup_database: DATABASE_URL as given (postgres://… or sqlite://…), or `sqlite` for a scratch
# SQLite file, or unset for a scratch PostgreSQL database tongban_load_$$ on PG_ADMIN_URL, dropped
# by cleanup unless KEEP_DB=1. Sets DB_KIND, SCRATCH_DB and TONGBAN_DATABASE_URL.
SCRATCH_DB=""
setup_database() {
    local url="${DATABASE_URL:-}"
    if [[ -z "$url" ]]; then
        SCRATCH_DB="tongban_load_$$"
        psql "$PG_ADMIN_URL" -qXc "CREATE DATABASE $SCRATCH_DB" >/dev/null || die "cannot create $SCRATCH_DB on $PG_ADMIN_URL"
        url="$(with_db "$PG_ADMIN_URL" "$SCRATCH_DB")"
        log "scratch database $SCRATCH_DB"
    elif [[ "$url" == sqlite ]]; then
        url="sqlite://$WORK/load.db?mode=rwc"
    fi
    case "$url" in
        postgres://* | postgresql://*) DB_KIND=postgres ;;
        sqlite:*) DB_KIND=sqlite ;;
        *) die "DATABASE_URL must be postgres://… or sqlite://… (or sqlite)" ;;
    esac
    export TONGBAN_DATABASE_URL="$url"
}

drop_scratch_database() {
    [[ -n "$SCRATCH_DB" ]] || return 0
    if [[ "${KEEP_DB:-0}" == 1 ]]; then
        log "kept database: $TONGBAN_DATABASE_URL"
    else
        psql "$PG_ADMIN_URL" -qXc "DROP DATABASE IF EXISTS $SCRATCH_DB WITH (FORCE)" >/dev/null || true
    fi
    SCRATCH_DB=""
}

# seed_database: SEED=demo (`tongban seed --demo`), scale:<N> (`tongban seed --scale N --seed 1`)
# or none (the database is used as it is).
seed_database() {
    local seed="${SEED:-demo}"
    case "$seed" in
        demo) log "seeding: tongban seed --demo"; "$BIN" seed --demo >"$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log" >&2; die "seed failed"; } ;;
        scale:*)
            log "seeding: tongban seed --scale ${seed#scale:} --seed 1"
            "$BIN" seed --scale "${seed#scale:}" --seed 1 >"$WORK/seed.log" 2>&1 || { tail -20 "$WORK/seed.log" >&2; die "seed failed"; }
            ;;
        none) ;;
        *) die "SEED must be demo, scale:<N> or none" ;;
    esac
}

# --- server --------------------------------------------------------------------------------------
# The load comes from one address and a few users: the per-user and per-address request limits
# would measure themselves, so they are raised far above any rate used here (the limiter still
# runs on every request). The sign-in throttle is left as it is: it counts failures only.
export TONGBAN_RATE_LIMIT__PER_USER_PER_MINUTE="${TONGBAN_RATE_LIMIT__PER_USER_PER_MINUTE:-100000000}"
export TONGBAN_RATE_LIMIT__PER_IP_PER_MINUTE="${TONGBAN_RATE_LIMIT__PER_IP_PER_MINUTE:-100000000}"
export TONGBAN_RATE_LIMIT__BURST="${TONGBAN_RATE_LIMIT__BURST:-1000000}"
# The allocator settings of the Dockerfile (docs/operations.md, "Memory"); MALLOC_ARENA_MAX= and
# MALLOC_MMAP_THRESHOLD_= (empty) measure glibc's defaults instead.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_-131072}"

SERVER_PID=""
start_server() {
    [[ -x "$BIN" ]] || die "no server binary at $BIN (cargo build --release -p tongban-server --bin tongban, or BIN=…)"
    PORT="${PORT:-$(free_port)}"
    export TONGBAN_LISTEN="127.0.0.1:$PORT" TONGBAN_DATA_DIR="$WORK/data" RUST_LOG="${RUST_LOG:-warn}"
    ROOT="http://127.0.0.1:$PORT"
    API="$ROOT/api/v1"
    "$BIN" serve >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 300); do
        curl -sf "$ROOT/readyz" >/dev/null 2>&1 && { log "server ready on $ROOT (pid $SERVER_PID)"; return; }
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$WORK/server.log" >&2; die "the server exited"; }
        sleep 0.1
    done
    die "the server was not ready within 30 s"
}

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# proc_kib FIELD: a field of the server's /proc/<pid>/status in KiB (VmRSS, VmHWM).
proc_kib() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }

# --- API helpers ---------------------------------------------------------------------------------
# login USER: an access token.
login() {
    local t
    t="$(curl -sf "$API/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$PASSWORD\"}" | json .access_token)" || true
    [[ -n "$t" ]] || die "cannot sign in as $1"
    echo "$t"
}

# api METHOD PATH TOKEN [BODY]: the response body; fails on a non-2xx status.
api() {
    local args=(-sS -f -X "$1" "$API$2")
    [[ -n "${3:-}" ]] && args+=(-H "authorization: Bearer $3")
    [[ -n "${4:-}" ]] && args+=(-H 'content-type: application/json' --data-binary "$4")
    curl "${args[@]}"
}

# pending_count TOKEN [QUERY]: how many to-do tasks the token's user has.
pending_count() { api GET "/tasks?status=todo&page_size=1${2:+&$2}" "$1" | json .total; }

# pending_ids TOKEN QUERY MAX: ids of up to MAX to-do tasks (pages of 100, soonest due first).
pending_ids() {
    local page=1 got=0 ids
    while ((got < $3)); do
        ids="$(api GET "/tasks?status=todo&page_size=100&page=$page&$2" "$1" | json_lines .items id)"
        [[ -n "$ids" ]] || break
        printf '%s\n' "$ids"
        got=$((got + $(wc -l <<<"$ids")))
        page=$((page + 1))
    done | head -n "$3"
}

# --- load ----------------------------------------------------------------------------------------
# Result rows, tab separated, one per oha run; scenarios.sh turns them into the table.
RESULTS=""
RESULT_COLUMNS="name	request	rate	conns	duration	total_s	requests	ok	ok_per_s	p50_ms	p95_ms	p99_ms	ok_p99_ms	codes	errors	rss_peak_mib	rss_after_mib	note"

# run_oha NAME REQUEST RATE CONNS NOTE -- OHA-ARGS…: an open-model run of DURATION seconds at RATE
# requests/s over CONNS connections (latency measured from each request's scheduled start, so a
# server that falls behind shows its queueing; RATE `max`: closed loop, no pacing), RSS of the server sampled every 0.2 s, the JSON
# report kept in $WORK/NAME.json and one row appended to $RESULTS.
run_oha() {
    local name="$1" request="$2" rate="$3" conns="$4" note="$5"
    shift 6
    local out="$WORK/$name.json" peak_file="$WORK/$name.rss"
    proc_kib VmRSS >"$peak_file"
    (
        peak=0
        while kill -0 "$SERVER_PID" 2>/dev/null; do
            r="$(proc_kib VmRSS)"
            if ((${r:-0} > peak)); then peak=$r; echo "$peak" >>"$peak_file"; fi
            sleep 0.2
        done
    ) &
    local sampler=$!
    log "$name: $request at $rate/s over $conns connections for ${DURATION}s"
    local pace=(-q "$rate" --latency-correction)
    [[ "$rate" == max ]] && pace=() # closed loop: every connection as fast as it goes
    "$OHA" --no-tui --output-format json -o "$out" -z "${DURATION}s" -w "${pace[@]}" -c "$conns" \
        --stats-success-breakdown -t 30s "$@" >/dev/null 2>"$WORK/$name.oha.err" || {
        kill "$sampler" 2>/dev/null || true
        cat "$WORK/$name.oha.err" >&2
        die "oha failed in $name"
    }
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local peak after summary
    peak="$(awk '$1 + 0 > m { m = $1 + 0 } END { printf "%.1f", m / 1024 }' "$peak_file")"
    after="$(awk '{printf "%.1f", $1 / 1024}' <<<"$(proc_kib VmRSS)")"
    summary="$(oha_summary "$out" "$DURATION")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$request" "$rate" "$conns" "$DURATION" \
        "$summary" "$peak" "$after" "$note" >>"$RESULTS"
    IFS=$'\t' read -r total n ok oks p50 p95 p99 okp99 codes errors <<<"$summary"
    log "$name: $oks 2xx/s ($ok of $n in ${total}s), p50 $p50 ms, p95 $p95 ms, p99 $p99 ms; $codes; errors: $errors; RSS peak $peak MiB"
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -30 "$WORK/server.log" >&2; die "the server died during $name"; }
}

# result FIELD NAME: one field of the last result row of scenario NAME.
result() {
    awk -F'\t' -v col="$1" -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
        $1 == name { v = $(idx[col]) }
        END { print v }' <(printf '%s\n' "$RESULT_COLUMNS"; cat "$RESULTS")
}
