#!/usr/bin/env bash
# The workflow engine alone against its peers, on one BPMN file and one core (quality.md:
# steps of a 5-node approval chain per second, >= 100x SpiffWorkflow and >= 20x bpmn-engine).
#
# All three engines run tests/load/engine_peers/chain.bpmn (start -> 5 user tasks -> end),
# parse it once, then run whole instances one after another on one thread, timing only that loop:
#   tongban      backend/engine/examples/chain_peers.rs   bpmn::import + validate, then execute()
#   spiff        tests/load/engine_peers/spiff_chain.py    SpiffWorkflow 3.2.0 (BpmnParser)
#   bpmn-engine  tests/load/engine_peers/node/chain.mjs    bpmn-engine 25.0.1 (package-lock.json)
# One step = starting an instance or completing one user task: 6 steps per instance for all three.
# Each runner first runs N/5 instances untimed (warm-up: caches, allocator, node's JIT).
# Each round runs the three in turn, pinned to one core (taskset -c $PIN_CPU when available);
# ratios are taken within a round, so a busy machine slows all three alike as far as possible.
#
#   bash tests/load/engine_peers.sh
#   RUNS=3 TONGBAN_N=100000 SPIFF_N=3000 BPMN_ENGINE_N=300 PIN_CPU=0 bash tests/load/engine_peers.sh
#
# Installs what is missing: a venv at ${CARGO_TARGET_DIR:-target}/engine-peers-venv with
# SpiffWorkflow==3.2.0 (PyPI) and `npm ci` in tests/load/engine_peers/node (npm registry).
# Bounded in time: each run is killed after RUN_TIMEOUT seconds (default 120).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
here="$root/tests/load/engine_peers"
bpmn="$here/chain.bpmn"
venv="$target/engine-peers-venv"
runs="${RUNS:-3}"
tongban_n="${TONGBAN_N:-100000}"
spiff_n="${SPIFF_N:-3000}"
bpmn_engine_n="${BPMN_ENGINE_N:-300}"
run_timeout="${RUN_TIMEOUT:-120}"
cpu="${PIN_CPU:-0}"
unset DEBUG # bpmn-engine logs through `debug`; keep it off

# --- install what is missing ----------------------------------------------------------------
if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("SpiffWorkflow") != "3.2.0")' 2>/dev/null; then
    echo "installing SpiffWorkflow 3.2.0 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --disable-pip-version-check -q "SpiffWorkflow==3.2.0"
fi
if [[ "$(cd "$here/node" && node -p 'require("./node_modules/bpmn-engine/package.json").version' 2>/dev/null)" != "25.0.1" ]]; then
    echo "installing bpmn-engine 25.0.1 (npm ci)" >&2
    (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
echo "building the tongban example (release)" >&2
cargo build --release -q -p tongban-engine --example chain_peers >&2

pin=()
if command -v taskset >/dev/null 2>&1; then pin=(taskset -c "$cpu"); fi
limit=()
if command -v timeout >/dev/null 2>&1; then limit=(timeout "$run_timeout"); fi

# --- run --------------------------------------------------------------------------------------
# Each runner prints one line: `<engine> steps=S seconds=T steps_per_sec=R instances=N`.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

run_tongban() {
    "${limit[@]}" "${pin[@]}" cargo run --release -q -p tongban-engine --example chain_peers -- "$bpmn" "$tongban_n"
}
run_spiff() { "${limit[@]}" "${pin[@]}" "$venv/bin/python" "$here/spiff_chain.py" "$bpmn" "$spiff_n"; }
run_bpmn_engine() { (cd "$here/node" && "${limit[@]}" "${pin[@]}" node chain.mjs "$bpmn" "$bpmn_engine_n"); }

declare -a tb sp be
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min), $(nproc) cores; pinned: ${pin[*]:-no taskset}"
for r in $(seq 1 "$runs"); do
    for engine in tongban spiff bpmn_engine; do
        line="$("run_$engine")"
        echo "round $r: $line"
        [[ "$(field steps "$line")" -gt 0 ]] || { echo "no step count from $engine" >&2; exit 1; }
        rate="$(field steps_per_sec "$line")"
        case "$engine" in
            tongban) tb+=("$rate") ;;
            spiff) sp+=("$rate") ;;
            bpmn_engine) be+=("$rate") ;;
        esac
    done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"

# --- report -----------------------------------------------------------------------------------
awk -v runs="$runs" -v tb="${tb[*]}" -v sp="${sp[*]}" -v be="${be[*]}" \
    -v ntb="$tongban_n" -v nsp="$spiff_n" -v nbe="$bpmn_engine_n" '
function median(a, n,   i, j, t, b) {
    for (i = 1; i <= n; i++) b[i] = a[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
    return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
}
function range(a, n,   i, lo, hi) {
    lo = hi = a[1]
    for (i = 2; i <= n; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
    return sprintf("%.0f-%.0f", lo, hi)
}
function row(name, a, inst,   i, s) {
    s = sprintf("%-12s %10d", name, inst * 6)
    for (i = 1; i <= runs; i++) s = s sprintf(" %10.0f", a[i])
    return s sprintf(" %10.0f  %s", median(a, runs), range(a, runs))
}
function ratios(num, den, target, label,   i, r, lo, hi, m, met) {
    for (i = 1; i <= runs; i++) { r[i] = num[i] / den[i]; if (r[i] >= target) met++ }
    lo = hi = r[1]
    for (i = 2; i <= runs; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i] }
    m = median(num, runs) / median(den, runs)
    printf "%-22s %8.1fx (rounds %.1fx-%.1fx)   target >= %dx: %s (%d of %d rounds)\n", label, m, lo, hi, target,
        m >= target ? "MET" : "NOT MET", met, runs
}
BEGIN {
    split(tb, T, " "); split(sp, S, " "); split(be, B, " ")
    hdr = sprintf("%-12s %10s", "steps/s", "steps/run")
    for (i = 1; i <= runs; i++) hdr = hdr sprintf(" %10s", "round " i)
    print ""
    print hdr sprintf(" %10s  %s", "median", "range")
    print row("tongban", T, ntb)
    print row("spiff", S, nsp)
    print row("bpmn-engine", B, nbe)
    print ""
    ratios(T, S, 100, "tongban / spiff")
    ratios(T, B, 20, "tongban / bpmn-engine")
}'
