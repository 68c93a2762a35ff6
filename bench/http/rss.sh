#!/usr/bin/env bash
# Worker memory over many requests: does a long-lived askr worker's RSS stay flat?
# Starts askr with one worker serving hello-worker.php, warms it up, records the worker's RSS,
# sends N more requests (RSS sampled every few seconds meanwhile), records RSS again and
# prints the growth in % (target: within 5 %). Writes bench/results/rss-<date>.json.
# See bench/README.md.
#
# Environment (all optional):
#   ASKR_BINARY          askr executable (default: <repo>/build/askr/askr); exits 2 if missing
#   RSS_WARMUP_REQUESTS  requests before the first reading (default 50000)
#   RSS_REQUESTS         requests between the two readings (default 1000000)
#   RSS_DURATION         if set (seconds), send load for this long instead of counting requests
#   RSS_MAX_SECONDS      upper time bound of the counted run (default 240)
#   RSS_SAMPLE_SECONDS   RSS sampling interval during the run (default 5)
#   BENCH_THREADS        wrk threads (default 2)
#   BENCH_CONNECTIONS    wrk connections (default 64)
#   BENCH_PORT           first port tried on 127.0.0.1 (default 18180; admin port after it)
#   BENCH_RESULTS_DIR    where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

WARMUP_REQUESTS=${RSS_WARMUP_REQUESTS:-50000}
REQUESTS=${RSS_REQUESTS:-1000000}
DURATION=${RSS_DURATION:-}
MAX_SECONDS=${RSS_MAX_SECONDS:-240}
SAMPLE_SECONDS=${RSS_SAMPLE_SECONDS:-5}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
PORT_BASE=${BENCH_PORT:-18180}
EXPECTED='Hello, World!'

for v in WARMUP_REQUESTS REQUESTS MAX_SECONDS SAMPLE_SECONDS THREADS CONNECTIONS PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done
[[ -z $DURATION || $DURATION =~ ^[0-9]+$ ]] || die "RSS_DURATION must be a whole number of seconds"

need wrk wrk
need curl curl
need ss iproute2
need setsid util-linux

if [[ ! -x $ASKR_BINARY ]]; then
    log "SKIPPED: no askr binary at $ASKR_BINARY (build it with scripts/setup.sh, or set ASKR_BINARY)"
    exit 2
fi

LOAD_PID=''
stop_load() { # wrk is bounded by its -d anyway; this only spares the wait when we exit early
    if [[ -n $LOAD_PID ]] && kill -0 "$LOAD_PID" 2>/dev/null; then
        kill -INT "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
    fi
}
trap 'stop_load; stop_all' EXIT
trap 'exit 130' INT TERM
bench_init_tmp

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# start_load COUNT|"" SECONDS OUTFILE: starts wrk in the background (LOAD_PID): a counted run
# (lib/count.lua) bounded by SECONDS, or a timed run of SECONDS.
start_load() {
    local count=$1 seconds=$2 out=$3
    if [[ -n $count ]]; then
        LOAD_DONE_DIR=$(mktemp -d "$BENCH_TMP/load.XXXXXX")
        BENCH_REQUESTS=$count BENCH_THREADS=$THREADS BENCH_DONE_DIR=$LOAD_DONE_DIR \
            wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH/lib/count.lua" "$URL" >"$out" 2>&1 &
    else
        LOAD_DONE_DIR=''
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" -s "$BENCH/lib/report.lua" "$URL" >"$out" 2>&1 &
    fi
    LOAD_PID=$!
}

# load_running: true while wrk runs. A counted run is over when every wrk thread has left its
# done file; wrk would still sleep out its -d, so it gets SIGINT, on which it reports at once.
load_running() {
    kill -0 "$LOAD_PID" 2>/dev/null || return 1
    if [[ -n $LOAD_DONE_DIR ]] && (($(find "$LOAD_DONE_DIR" -name 'done-*' | wc -l) >= THREADS)); then
        kill -INT "$LOAD_PID" 2>/dev/null || true
        return 1
    fi
    return 0
}

# load_wait: waits for wrk (bounded by its own -d) and parses its result.
load_wait() {
    local out=$1 rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=''
    ((rc == 0)) || die "wrk failed (exit $rc): $(cat "$out")"
    parse_result "$out" || die "no result from wrk: $(cat "$out")"
}

port=$(free_port "$PORT_BASE") || die "no free port"
admin_port=$(free_port $((port + 1))) || die "no free admin port"
URL=http://127.0.0.1:$port/
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

start_server "$BENCH_TMP/askr.out" "$ASKR_BINARY" serve --root "$HERE" --worker-script "$HERE/hello-worker.php" \
    --workers 1 --host 127.0.0.1 --port "$port" --admin-port "$admin_port" --no-access-log
SUPERVISOR=$SERVER_PID
if ! wait_http "$SUPERVISOR" "$URL" "$EXPECTED" 30; then
    log "askr did not come up; last lines of its output:"
    tail -n 30 "$BENCH_TMP/askr.out" | sed 's/^/    /' >&2
    exit 1
fi

# The worker's pid from the admin endpoint; if that fails, the supervisor's only `askr worker` child.
status_json() { curl -fsS -m 5 "http://127.0.0.1:$admin_port/status"; }
worker_pid() {
    local pid=''
    if command -v jq >/dev/null 2>&1; then
        pid=$(status_json 2>/dev/null | jq -r '.workers[0].pid // empty' 2>/dev/null || true)
    fi
    if [[ -z $pid ]]; then
        local p
        for p in $(descendants "$SUPERVISOR"); do
            tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ' worker' && { pid=$p; break; }
        done
        [[ -n $pid ]] && log "admin /status gave no worker pid; found worker $pid in /proc"
    fi
    echo "$pid"
}

log "askr: 1 worker, port $port, admin port $admin_port; warm-up: $WARMUP_REQUESTS requests"
start_load "$WARMUP_REQUESTS" "$MAX_SECONDS" "$BENCH_TMP/warmup.txt"
while load_running; do sleep 0.2; done
load_wait "$BENCH_TMP/warmup.txt"
log "warm-up: $R_requests requests, $R_non2xx non-2xx, $R_socket_errors socket errors"

WORKER=$(worker_pid)
if [[ -z $WORKER ]] || ! is_alive "$WORKER"; then die "cannot find the askr worker process"; fi
RSS_BEFORE=$(rss_kb "$WORKER")
log "worker pid $WORKER: RSS after warm-up $RSS_BEFORE kB"

if [[ -n $DURATION ]]; then
    log "load for ${DURATION}s (RSS sampled every ${SAMPLE_SECONDS}s)"
    start_load "" "$DURATION" "$BENCH_TMP/run.txt"
else
    log "load: $REQUESTS requests, at most ${MAX_SECONDS}s (RSS sampled every ${SAMPLE_SECONDS}s)"
    start_load "$REQUESTS" "$MAX_SECONDS" "$BENCH_TMP/run.txt"
fi
SAMPLES=("$RSS_BEFORE")
next=$((SECONDS + SAMPLE_SECONDS))
while load_running; do
    if ((SECONDS >= next)); then
        s=$(rss_kb "$WORKER"); [[ -n $s ]] && SAMPLES+=("$s") && log "  RSS $s kB"
        next=$((SECONDS + SAMPLE_SECONDS))
    fi
    sleep 0.2
done
load_wait "$BENCH_TMP/run.txt"

is_alive "$WORKER" || die "worker $WORKER is gone after the run (crashed or recycled): RSS comparison impossible; askr output: $(tail -n 20 "$BENCH_TMP/askr.out")"
[[ $(worker_pid) == "$WORKER" ]] || log "warning: admin endpoint now reports a different worker pid than $WORKER"
RSS_AFTER=$(rss_kb "$WORKER")
SAMPLES+=("$RSS_AFTER")
STATUS_AFTER=$(status_json 2>/dev/null || echo '{}')
GROWTH=$(awk -v a="$RSS_BEFORE" -v b="$RSS_AFTER" 'BEGIN { printf "%.2f", 100 * (b - a) / a }')
VERDICT=$(awk -v g="$GROWTH" 'BEGIN { print ((g <= 5 && g >= -5) ? "meets target (within 5 %)" : "OUTSIDE target (within 5 %)") }')
RESTARTS=''
command -v jq >/dev/null 2>&1 && RESTARTS=$(jq -r '.restarts // empty' <<<"$STATUS_AFTER" 2>/dev/null || true)

echo
echo "askr worker RSS (pid $WORKER, 1 worker, hello-worker.php, wrk -t$THREADS -c$CONNECTIONS)"
printf '  after warm-up (%d requests)  : %8d kB\n' "$WARMUP_REQUESTS" "$RSS_BEFORE"
printf '  after %d more requests   : %8d kB   (%.0f req/s, %d non-2xx, %d socket errors)\n' \
    "$R_requests" "$RSS_AFTER" "$R_rps" "$R_non2xx" "$R_socket_errors"
printf '  growth                        : %7s %%   %s\n' "$GROWTH" "$VERDICT"
printf '  samples (kB)                  : %s\n' "${SAMPLES[*]}"
[[ -n $RESTARTS ]] && printf '  supervisor restarts           : %s\n' "$RESTARTS"
if grep -Eiq 'error|fatal|exception|crash|segfault' "$BENCH_TMP/askr.out"; then
    echo "  askr output mentions errors; first lines:"
    grep -Ei 'error|fatal|exception|crash|segfault' "$BENCH_TMP/askr.out" | head -n 10 | sed 's/^/    /'
fi

mkdir -p "$RESULTS_DIR"
RESULT_FILE=$RESULTS_DIR/rss-$(date +%Y-%m-%dT%H%M%S).json
samples_json=$(IFS=,; echo "${SAMPLES[*]}")
{
    printf '{\n  "benchmark": "worker-rss",\n  "started": %s,\n' "$(json_str "$STARTED")"
    printf '  "machine": {"cores": %d, "kernel": %s, "loadavg_at_end": %s},\n' "$(nproc)" \
        "$(json_str "$(uname -r)")" "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"
    printf '  "git_commit": %s,\n' "$(json_str "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)")"
    printf '  "params": {"workers": 1, "warmup_requests": %d, "requests_target": %s, "duration_s": %s, "wrk_threads": %d, "connections": %d},\n' \
        "$WARMUP_REQUESTS" "$([[ -n $DURATION ]] && echo null || echo "$REQUESTS")" "${DURATION:-null}" "$THREADS" "$CONNECTIONS"
    printf '  "worker_pid": %d, "requests": %d, "rps": %s, "non2xx": %d, "socket_errors": %d,\n' \
        "$WORKER" "$R_requests" "$R_rps" "$R_non2xx" "$R_socket_errors"
    printf '  "rss_kb_before": %d, "rss_kb_after": %d, "growth_pct": %s, "target_growth_pct_max": 5,\n' \
        "$RSS_BEFORE" "$RSS_AFTER" "$GROWTH"
    printf '  "rss_kb_samples": [%s],\n' "$samples_json"
    printf '  "restarts": %s\n}\n' "${RESTARTS:-null}"
} >"$RESULT_FILE"
echo "results: $RESULT_FILE"
