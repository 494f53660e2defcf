#!/usr/bin/env bash
# Certificate PDFs under load (开学季: many students download 在读证明 at once): the release server
# on SQLite with the demo college, one 在读证明 issued to student1, then wrk fetching
# GET /api/v1/certificates/{id}/pdf as that student. Loopback only; bounded in time.
#
#   cargo build --release -p tongban-server --bin tongban
#   bash tests/load/certificate_pdf.sh     # needs curl, python3 and wrk (Debian: apt-get install wrk)
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}"
bin="$target/release/tongban"
[[ -x "$bin" ]] || { echo "build first: cargo build --release -p tongban-server --bin tongban" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
port="${PORT:-18098}"
duration="${DURATION:-20s}"
connections="${CONNECTIONS:-8}"
work="$(mktemp -d)"
export TONGBAN_DATA_DIR="$work" TONGBAN_LISTEN="127.0.0.1:$port" RUST_LOG=warn
# Load from one address: the rate limits would measure themselves.
export TONGBAN_RATE_LIMIT__PER_USER_PER_MINUTE=0 TONGBAN_RATE_LIMIT__PER_IP_PER_MINUTE=0
"$bin" serve --demo >"$work/server.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port/api/v1"
for _ in $(seq 1 1000); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.01; done

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
login() {
    curl -sf "$base/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"Tongban@2026\"}" | json 'd["access_token"]'
}
student=$(login student1)
issuer=$(login xgc_admin)
holder=$(curl -sf "$base/me" -H "authorization: Bearer $student" | json 'd["user"]["id"]')
type_id=$(curl -sf "$base/certificate-types" -H "authorization: Bearer $issuer" |
    json '[t["id"] for t in d if t["code"] == "enrolment"][0]')
cert=$(curl -sf "$base/certificates" -H "authorization: Bearer $issuer" -H 'content-type: application/json' \
    -d "{\"type_id\":\"$type_id\",\"holder_id\":\"$holder\",\"data\":{\"purpose\":\"visa\"}}" | json 'd["id"]')
size=$(curl -sf "$base/certificates/$cert/pdf" -H "authorization: Bearer $student" | wc -c)
echo "certificate PDF: $size bytes; wrk -t2 -c$connections -d$duration"
wrk -t2 -c"$connections" -d"$duration" --latency -H "authorization: Bearer $student" "$base/certificates/$cert/pdf"
