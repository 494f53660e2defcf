#!/usr/bin/env bash
# Load scenarios of issue 9 against the release server on 127.0.0.1, with oha at fixed rates (an
# open model), each bounded to DURATION seconds; prints a Markdown report for docs/benchmarks.md.
# See tests/load/README.md for what each scenario does and every setting.
#
#   bash tests/load/scenarios.sh                  # all scenarios, scratch PostgreSQL, SEED=demo
#   bash tests/load/scenarios.sh hall guide       # only those (plus their healthz baseline)
#   DATABASE_URL=sqlite bash tests/load/scenarios.sh
#   SEED=scale:30000 DURATION=20 bash tests/load/scenarios.sh
set -euo pipefail
# shellcheck source=tests/load/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${DURATION:-10}"
# Reads: hall, guide, search (and their healthz baseline at the same rate and connections).
RATE_READ="${RATE_READ:-2000}"
CONNS_READ="${CONNS_READ:-200}"
RATE_SEARCH="${RATE_SEARCH:-$RATE_READ}"
# Signed-in reads (hall, guide, search as SUBMIT_USER): each also checks the session and loads the
# caller's roles, so they get a lower rate of their own.
RATE_USER_READ="${RATE_USER_READ:-500}"
CONNS_SEARCH="${CONNS_SEARCH:-$CONNS_READ}"
# Capacity: healthz, hall and guide with no pacing (closed loop), for the throughput ratio.
DURATION_CAPACITY="${DURATION_CAPACITY:-5}"
# The handler's to-do list.
TODO_USER="${TODO_USER:-xgc_admin}"
TODO_MIN_PENDING="${TODO_MIN_PENDING:-500}"
RATE_TODO="${RATE_TODO:-200}"
CONNS_TODO="${CONNS_TODO:-200}"
# Submissions (在读证明 as SUBMIT_USER) and approvals (the 辅导员 step, as APPROVER).
SUBMIT_USER="${SUBMIT_USER:-student1}"
APPROVER="${APPROVER:-counsellor1}"
PROCESS_KEY="${PROCESS_KEY:-enrolment_certificate}"
DEFAULT_BODY='{"process_key":"'"$PROCESS_KEY"'","form":{"purpose":"visa","copies":1,"language":"en"}}'
SUBMIT_BODY="${SUBMIT_BODY:-$DEFAULT_BODY}"
RATE_SUBMIT="${RATE_SUBMIT:-550}"
CONNS_SUBMIT="${CONNS_SUBMIT:-64}"
# auto: 0.3 × the pgbench TPS of the same run (300 without pgbench), enough to show ≥ 0.25.
RATE_APPROVE="${RATE_APPROVE:-auto}"
APPROVE_DURATION="${APPROVE_DURATION:-5}"
CONNS_APPROVE="${CONNS_APPROVE:-64}"
APPROVE_POOL="${APPROVE_POOL:-4}"
# At most this many submissions are made to fill the pool (they go at ~100–200/s here).
APPROVE_PREP_MAX="${APPROVE_PREP_MAX:-5000}"
# pgbench on a scratch database of the same PostgreSQL.
PGBENCH_SCALE="${PGBENCH_SCALE:-10}"
PGBENCH_CLIENTS="${PGBENCH_CLIENTS:-8}"
PGBENCH_JOBS="${PGBENCH_JOBS:-2}"
PGBENCH_TIME="${PGBENCH_TIME:-20}"
# Sign-in (argon2id): a rate the two cores can serve, over few connections.
RATE_LOGIN="${RATE_LOGIN:-40}"
CONNS_LOGIN="${CONNS_LOGIN:-16}"
LOGIN_USERS="${LOGIN_USERS:-}"

ALL=(capacity hall hall_user guide guide_user search search_user todo submit approve login)
usage() { echo "usage: $0 [${ALL[*]} | all]… (default all)" >&2; exit 2; }
SELECTED=()
for a in "$@"; do
    case "$a" in
        all) SELECTED+=("${ALL[@]}") ;;
        -h | --help) usage ;;
        *) [[ " ${ALL[*]} pgbench healthz " == *" $a "* ]] || usage; SELECTED+=("$a") ;;
    esac
done
((${#SELECTED[@]})) || SELECTED=("${ALL[@]}")

WORK="$(mktemp -d /tmp/tongban-load.XXXXXX)"
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
EXTRA="$WORK/extra.tsv" # key<TAB>value facts for the report (pgbench TPS, pending counts, …)
: >"$EXTRA"
fact() { printf '%s\t%s\n' "$1" "$2" >>"$EXTRA"; }
fact_get() { awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$EXTRA"; }

cleanup() {
    local rc=$?
    stop_server
    drop_scratch_database
    if [[ "${KEEP_WORK:-0}" == 1 || ("${KEEP_DB:-0}" == 1 && "${DB_KIND:-}" == sqlite) ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# probe METHOD PATH TOKEN [BODY]: one request before a load, so a wrong body fails loudly.
probe() {
    local code
    code="$(curl -sS -o "$WORK/probe.out" -w '%{http_code}' -X "$1" "$API$2" \
        ${3:+-H "authorization: Bearer $3"} ${4:+-H 'content-type: application/json' --data-binary "$4"})"
    [[ "$code" == 2* ]] || { cat "$WORK/probe.out" >&2; echo >&2; die "$1 $2 answered $code"; }
}

# --- scenarios -----------------------------------------------------------------------------------
declare -A BASELINE=() # "rate/conns" -> the healthz row name at that rate and connections
healthz_at() {
    local key="$1/$2" name="healthz"
    [[ -z "${BASELINE[$key]:-}" ]] || return 0
    [[ "$1" == "$RATE_READ" && "$2" == "$CONNS_READ" ]] || name="healthz_${1}_$2"
    run_oha "$name" "GET /healthz" "$1" "$2" "trivial endpoint, same rate and connections" -- "$ROOT/healthz"
    BASELINE[$key]="$name"
}

scenario_capacity() {
    local d="$DURATION" urls
    urls="$(guide_urls)"
    DURATION="$DURATION_CAPACITY"
    run_oha cap_healthz "GET /healthz" max "$CONNS_READ" "closed loop" -- "$ROOT/healthz"
    run_oha cap_hall "GET /hall (anonymous)" max "$CONNS_READ" "closed loop" -- "$API/hall"
    run_oha cap_hall_user "GET /hall ($SUBMIT_USER)" max "$CONNS_READ" "closed loop" -- \
        -H "authorization: Bearer $(login "$SUBMIT_USER")" "$API/hall"
    run_oha cap_guide "GET /guides/{id} (anonymous)" max "$CONNS_READ" "closed loop" -- --urls-from-file "$urls"
    DURATION="$d"
}

scenario_hall() {
    healthz_at "$RATE_READ" "$CONNS_READ"
    probe GET /hall
    run_oha hall "GET /hall (anonymous)" "$RATE_READ" "$CONNS_READ" "" -- "$API/hall"
}

scenario_hall_user() {
    local t
    t="$(login "$SUBMIT_USER")"
    probe GET /hall "$t"
    run_oha hall_user "GET /hall ($SUBMIT_USER)" "$RATE_USER_READ" "$CONNS_READ" "personalised" -- \
        -H "authorization: Bearer $t" "$API/hall"
}

GUIDE_URLS=""
guide_urls() { # every published guide (up to 300), one URL a line
    if [[ -z "$GUIDE_URLS" ]]; then
        GUIDE_URLS="$WORK/guides.txt"
        local page
        for page in 1 2 3; do
            api GET "/guides?page_size=100&page=$page" "" | json_lines .items id
        done | sed "s|^|$API/guides/|" >"$GUIDE_URLS"
        [[ -s "$GUIDE_URLS" ]] || die "no published guides"
        fact guides "$(wc -l <"$GUIDE_URLS")"
    fi
    echo "$GUIDE_URLS"
}

scenario_guide() {
    healthz_at "$RATE_READ" "$CONNS_READ"
    local urls
    urls="$(guide_urls)"
    run_oha guide "GET /guides/{id} (anonymous)" "$RATE_READ" "$CONNS_READ" \
        "$(wc -l <"$urls") guides at random" -- --urls-from-file "$urls"
}

scenario_guide_user() {
    local urls t
    urls="$(guide_urls)"
    t="$(login "$SUBMIT_USER")"
    run_oha guide_user "GET /guides/{id} ($SUBMIT_USER)" "$RATE_USER_READ" "$CONNS_READ" \
        "$(wc -l <"$urls") guides; each visit recorded" -- -H "authorization: Bearer $t" --urls-from-file "$urls"
}

SEARCH_WORDS=(在读证明 证明 请假 学生请假 用印 会议室预约 毕业 报销 奖学金 怎么开在读证明
    zdzm zaidu zaiduzhengming qingjia qj zd yongyin huiyishi zaidu证明 "zai du")
search_urls() {
    python3 -c '
import sys, urllib.parse as u
for w in sys.argv[2:]:
    print(sys.argv[1] + "/search?q=" + u.quote(w))' "$API" "${SEARCH_WORDS[@]}" >"$WORK/search.txt"
    echo "$WORK/search.txt"
}

scenario_search() {
    local urls
    urls="$(search_urls)"
    probe GET "/search?q=zdzm"
    run_oha search "GET /search?q=… (anonymous)" "$RATE_SEARCH" "$CONNS_SEARCH" \
        "${#SEARCH_WORDS[@]} queries, words and pinyin, at random" -- --urls-from-file "$urls"
}

scenario_search_user() {
    local urls t
    urls="$(search_urls)"
    t="$(login "$SUBMIT_USER")"
    run_oha search_user "GET /search?q=… ($SUBMIT_USER)" "$RATE_USER_READ" "$CONNS_SEARCH" \
        "also the caller's own affairs" -- -H "authorization: Bearer $t" --urls-from-file "$urls"
}

PROCESS_ID=""
process_id() {
    if [[ -z "$PROCESS_ID" ]]; then
        PROCESS_ID="$(api GET "/application-forms?process_key=$PROCESS_KEY" "$(login "$SUBMIT_USER")" | json .process_id)"
        [[ -n "$PROCESS_ID" ]] || die "no process $PROCESS_KEY"
    fi
    echo "$PROCESS_ID"
}

# submit_bulk N: N submissions as SUBMIT_USER, as fast as they go (preparation, not measured).
submit_bulk() {
    (($1 > 0)) || return 0
    local t
    t="$(login "$SUBMIT_USER")"
    probe POST /affairs "$t" "$SUBMIT_BODY"
    log "preparing: $1 submissions of $PROCESS_KEY as $SUBMIT_USER"
    "$OHA" --no-tui --output-format json -o "$WORK/prep.json" -n "$1" -c 64 -t 30s -m POST \
        -T application/json -d "$SUBMIT_BODY" -H "authorization: Bearer $t" "$API/affairs" >/dev/null
}

# ensure_approver_pending N [MAX]: the approver has at least N pending tasks of the process, making
# at most MAX submissions for it.
ensure_approver_pending() {
    local t have add
    t="$(login "$APPROVER")"
    have="$(pending_count "$t" "process_id=$(process_id)")"
    add=$(($1 - have))
    [[ -z "${2:-}" ]] || ((add <= $2)) || add=$2
    ((add <= 0)) || submit_bulk "$add"
    pending_count "$t" "process_id=$(process_id)"
}

scenario_todo() {
    local t have
    t="$(login "$TODO_USER")"
    have="$(pending_count "$t")"
    if ((have < TODO_MIN_PENDING)) && [[ "$TODO_USER" == xgc_admin && "$PROCESS_KEY" == enrolment_certificate ]]; then
        # 在读证明 goes 辅导员 → 学生工作处 (xgc_admin): approve the first step of new ones.
        local need=$((TODO_MIN_PENDING - have)) a ids
        ensure_approver_pending "$need" >/dev/null
        a="$(login "$APPROVER")"
        log "preparing: $APPROVER approves $need tasks (batches of 100) so that $TODO_USER has $TODO_MIN_PENDING pending"
        pending_ids "$a" "process_id=$(process_id)" "$need" | split -l 100 - "$WORK/batch."
        for ids in "$WORK"/batch.*; do
            api POST /tasks/batch "$a" "$(python3 -c 'import json,sys; print(json.dumps({"task_ids": sys.stdin.read().split(), "comment": "同意"}))' <"$ids")" >/dev/null
        done
        rm -f "$WORK"/batch.*
        have="$(pending_count "$t")"
    fi
    fact todo_pending "$have"
    probe GET "/tasks?status=todo&page_size=20" "$t"
    run_oha todo "GET /tasks?status=todo ($TODO_USER)" "$RATE_TODO" "$CONNS_TODO" \
        "$have pending; first page of 20" -- -H "authorization: Bearer $t" "$API/tasks?status=todo&page_size=20"
}

scenario_submit() {
    local t
    t="$(login "$SUBMIT_USER")"
    probe POST /affairs "$t" "$SUBMIT_BODY"
    run_oha submit "POST /affairs ($PROCESS_KEY, $SUBMIT_USER)" "$RATE_SUBMIT" "$CONNS_SUBMIT" "" -- \
        -m POST -T application/json -d "$SUBMIT_BODY" -H "authorization: Bearer $t" "$API/affairs"
}

scenario_pgbench() {
    [[ "$DB_KIND" == postgres ]] || { log "pgbench: skipped (the server is on SQLite)"; return 0; }
    local pgb db url out tps
    pgb="$(pgbench_bin)"
    db="tongban_pgbench_$$"
    url="$(with_db "$TONGBAN_DATABASE_URL" "$db")"
    # The same PostgreSQL server as the application's database.
    psql "$(with_db "$TONGBAN_DATABASE_URL" postgres)" -qXc "CREATE DATABASE $db" >/dev/null
    log "pgbench: -i -s $PGBENCH_SCALE, then -b tpcb-like -c $PGBENCH_CLIENTS -j $PGBENCH_JOBS -T $PGBENCH_TIME"
    "$pgb" -i -q -s "$PGBENCH_SCALE" "$url" >"$WORK/pgbench-init.log" 2>&1 || { cat "$WORK/pgbench-init.log" >&2; die "pgbench -i failed"; }
    "$pgb" -b tpcb-like -c "$PGBENCH_CLIENTS" -j "$PGBENCH_JOBS" -T "$PGBENCH_TIME" "$url" >"$WORK/pgbench.log" 2>&1 ||
        { cat "$WORK/pgbench.log" >&2; die "pgbench failed"; }
    psql "$(with_db "$TONGBAN_DATABASE_URL" postgres)" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
    tps="$(awk '/^tps = / {print $3; exit}' "$WORK/pgbench.log")"
    [[ -n "$tps" ]] || { cat "$WORK/pgbench.log" >&2; die "no tps in pgbench output"; }
    fact pgbench_tps "$(printf '%.1f' "$tps")"
    fact pgbench_latency "$(awk '/^latency average/ {print $4; exit}' "$WORK/pgbench.log")"
    log "pgbench: tpcb-like $tps TPS"
}

scenario_approve() {
    local rate="$RATE_APPROVE" tps requests need have t urls
    if [[ "$rate" == auto ]]; then
        tps="$(fact_get pgbench_tps)"
        rate=300
        [[ -n "$tps" ]] && rate="$(awk -v t="$tps" 'BEGIN { r = int(0.3 * t + 0.5); print (r < 50 ? 50 : r) }')"
    fi
    requests=$((rate * APPROVE_DURATION))
    need=$((requests * APPROVE_POOL))
    have="$(ensure_approver_pending "$need" "$APPROVE_PREP_MAX")"
    t="$(login "$APPROVER")"
    urls="$WORK/approve.txt"
    pending_ids "$t" "process_id=$(process_id)" "$have" | sed "s|^\(.*\)$|$API/tasks/\1/actions|" >"$urls"
    have="$(wc -l <"$urls")"
    # oha picks each request's URL at random from the file (with replacement): with `have` tasks and
    # `requests` requests, have × (1 − e^(−requests/have)) distinct tasks get approved, the rest
    # of the requests find their task handled already (409 task_already_handled).
    local expect d="$DURATION"
    expect="$(python3 -c 'import math,sys; n,m=float(sys.argv[1]),float(sys.argv[2]); print(round(100*(1-n/m*(1-math.exp(-m/n))),1))' "$have" "$requests")"
    fact approve_pool "$have"
    fact approve_expected_409_pct "$expect"
    DURATION="$APPROVE_DURATION"
    run_oha approve "POST /tasks/{id}/actions approve ($APPROVER)" "$rate" "$CONNS_APPROVE" \
        "$have tasks at random: ≈${expect}% 409 if all $requests requests go out" -- \
        -m POST -T application/json -d '{"action":"approve","comment":"同意"}' -H "authorization: Bearer $t" \
        --urls-from-file "$urls"
    DURATION="$d"
}

scenario_login() {
    local users=() u i body
    if [[ -n "$LOGIN_USERS" ]]; then
        read -r -a users <<<"${LOGIN_USERS//,/ }"
    elif [[ "${SEED:-demo}" == scale:* ]]; then
        for i in $(seq 1 200); do users+=("$(printf 's%06d' "$i")"); done
    else
        users=(student1 student2 teacher1 counsellor1 counsellor2 xgc_head jwc_head cwc_head hqbwc_staff inspector auditor)
    fi
    : >"$WORK/logins.txt"
    for u in "${users[@]}"; do printf '{"username":"%s","password":"%s"}\n' "$u" "$PASSWORD" >>"$WORK/logins.txt"; done
    body="$(head -n1 "$WORK/logins.txt")"
    # One sign-in at a time first: what one argon2id verification and its writes cost.
    local times=()
    for i in 1 2 3 4 5 6 7; do
        times+=("$(curl -sS -o /dev/null -w '%{time_total}' "$API/auth/login" -H 'content-type: application/json' -d "$body")")
    done
    fact login_alone_ms "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] * 1000}')"
    run_oha login "POST /auth/login" "$RATE_LOGIN" "$CONNS_LOGIN" "${#users[@]} accounts at random" -- \
        -m POST -T application/json -Z "$WORK/logins.txt" "$API/auth/login"
}

# --- report --------------------------------------------------------------------------------------
report() {
    python3 - "$RESULTS" "$EXTRA" <<PY
import sys
cols = "$RESULT_COLUMNS".split("\t")
rows = {}
order = []
for line in open(sys.argv[1], encoding="utf-8"):
    r = dict(zip(cols, line.rstrip("\n").split("\t")))
    if r["name"] not in rows:
        order.append(r["name"])
    rows[r["name"]] = r
facts = {}
for line in open(sys.argv[2], encoding="utf-8"):
    k, _, v = line.rstrip("\n").partition("\t")
    facts[k] = v
def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None
def kept_up(n):
    r = rows[n]
    return num(r["rate"]) is not None and num(r["ok_per_s"]) >= 0.98 * num(r["rate"])

print()
print("### Load scenarios, $(date +%Y-%m-%d) ($DB_KIND, SEED=${SEED:-demo})")
print()
print("\`${ENV_ARGS}bash tests/load/scenarios.sh${SELECTED_ARGS}\`: release server \`$BIN\` on $DB_KIND "
      "(pool $DB_POOL), oha $OHA_VERSION at a fixed rate (\`-q\`, \`--latency-correction\`: latency from each request's "
      "scheduled start), ${DURATION} s per scenario; machine: $(nproc) cores, load average (1/5/15 min) $LOAD_BEFORE before the run and $(cut -d' ' -f1-3 /proc/loadavg) after it "
      "(oha, PostgreSQL and anything else running share the cores). "
      "Throughput is 2xx responses ÷ the sending window.")
print()
print("| scenario | request | rate /s | conns | 2xx/s | p50 ms | p95 ms | p99 ms | status codes | server RSS peak MiB | note |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |")
for n in order:
    r = rows[n]
    codes = r["codes"] + ("" if r["errors"] == "-" else "; errors: " + r["errors"])
    note = r["note"]
    if num(r["rate"]) is not None and not kept_up(n):
        note = (note + "; " if note else "") + "**fell behind the rate** (latency includes the queue)"
    if n == "approve" and r["ok_p99_ms"] != "-":
        note += f"; 2xx-only p99 {r['ok_p99_ms']} ms"
    print(f"| {n} | {r['request']} | {r['rate']} | {r['conns']} | {r['ok_per_s']} | {r['p50_ms']} | {r['p95_ms']} | "
          f"{r['p99_ms']} | {codes} | {r['rss_peak_mib']} | {note} |")
print()
checks = []
def check(what, figure, target, ok):
    checks.append((what, figure, target, "—" if ok is None else ("yes" if ok else "**no**")))
def p99(n):
    return num(rows[n]["p99_ms"]) if n in rows else None
def tput(n):
    return num(rows[n]["ok_per_s"]) if n in rows else None
for base in ("healthz", "cap_healthz"):
    for n in (["hall", "guide"] if base == "healthz" else ["cap_hall", "cap_guide", "cap_hall_user"]):
        if n in rows and base in rows and tput(base):
            ratio = tput(n) / tput(base)
            note = "" if base == "cap_healthz" or not kept_up(base) else " (healthz kept up with the rate: a ratio of 1 means both did)"
            check(f"{n} ÷ {base} throughput", f"{tput(n):.0f} ÷ {tput(base):.0f} = {ratio:.2f}{note}", "≥ 0.50", ratio >= 0.5)
for n in ("hall", "hall_user", "guide", "guide_user"):
    if n in rows:
        check(f"{n} p99 at {rows[n]['conns']} connections", f"{p99(n)} ms", "< 20 ms", p99(n) < 20)
if "todo" in rows:
    check(f"to-do list p99 at {rows['todo']['conns']} connections ({facts.get('todo_pending', '?')} pending)",
          f"{p99('todo')} ms", "< 30 ms", p99("todo") < 30)
for n in ("search", "search_user"):
    if n in rows:
        check(f"{n} p99", f"{p99(n)} ms", "< 20 ms", p99(n) < 20)
if "submit" in rows:
    r = rows["submit"]
    check("submissions sustained", f"{r['ok_per_s']}/s at {r['rate']}/s offered", "≥ 550/s",
          num(r["rate"]) >= 550 and kept_up("submit"))
    check("submission p99", f"{p99('submit')} ms", "< 150 ms", p99("submit") < 150)
if "approve" in rows:
    tps = num(facts.get("pgbench_tps"))
    a = tput("approve")
    if tps:
        check("approvals ÷ pgbench tpcb-like TPS",
              f"{a:.0f} ÷ {tps:.0f} = {a / tps:.2f} (pgbench -s $PGBENCH_SCALE -c $PGBENCH_CLIENTS -j $PGBENCH_JOBS -T $PGBENCH_TIME; offered {rows['approve']['rate']}/s)",
              "≥ 0.25", a / tps >= 0.25)
    else:
        check("approvals/s", f"{a:.0f} (no pgbench on SQLite)", "≥ 0.25 × pgbench TPS", None)
if "login" in rows:
    r = rows["login"]
    check("sign-in", f"{r['ok_per_s']}/s at {r['rate']}/s offered, p99 {r['p99_ms']} ms; one sign-in alone {facts.get('login_alone_ms', '?')} ms",
          "(none; argon2id)", None)
peak = max((num(r["rss_peak_mib"]) or 0) for r in rows.values()) if rows else 0
check("server RSS under load (peak of all scenarios)", f"{peak:.1f} MiB (VmHWM {facts.get('vmhwm_mib', '?')} MiB)", "< 300 MiB", peak < 300)
if "login" in rows and len(rows) > 1:
    before = max((num(r["rss_peak_mib"]) or 0) for k, r in rows.items() if k != "login")
    check("server RSS peak before the sign-in scenario", f"{before:.1f} MiB", "< 300 MiB", before < 300)
print("| check | figure | target | met |")
print("| --- | --- | --- | --- |")
for c in checks:
    print("| " + " | ".join(c) + " |")
PY
}

# --- main ----------------------------------------------------------------------------------------
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
ensure_oha
[[ -x "$BIN" ]] || die "no server binary at $BIN (cargo build --release -p tongban-server --bin tongban, or BIN=…)"
setup_database
export TONGBAN_DATA_DIR="$WORK/data"
seed_database
DB_POOL="${TONGBAN_DB_MAX_CONNECTIONS:-16}"
start_server
SELECTED_ARGS=""
(($#)) && SELECTED_ARGS=" $*"
# The settings given in the environment, for the command line in the report.
ENV_ARGS="$(env | grep -E '^(DATABASE_URL|SEED|DURATION|DURATION_CAPACITY|RATE_[A-Z_]+|CONNS_[A-Z_]+|APPROVE_[A-Z_]+|TODO_[A-Z_]+|PGBENCH_[A-Z_]+|SUBMIT_USER|APPROVER|TONGBAN_DB_MAX_CONNECTIONS)=' |
    sort | sed "s/=\(.*\)/='\1'/" | tr '\n' ' ' || true)"
for s in "${SELECTED[@]}"; do
    case "$s" in
        healthz) healthz_at "$RATE_READ" "$CONNS_READ" ;;
        approve) [[ "${NO_PGBENCH:-0}" == 1 ]] || scenario_pgbench; scenario_approve ;;
        *) "scenario_$s" ;;
    esac
done
fact vmhwm_mib "$(awk '{printf "%.1f", $1 / 1024}' <<<"$(proc_kib VmHWM)")"
grep -q panicked "$WORK/server.log" && log "the server log has a panic: see $WORK/server.log" && KEEP_WORK=1
report
