#!/usr/bin/env bash
# Autoscaling HTTP workers (issue 14, item 3; docs/lifecycle.md): a step from 2 to 64 keep-alive
# connections (wrk) on a route that takes 20 ms in PHP, p99 latency over the first seconds after
# the step, askr serve --workers-min 2 --workers-max 8 against fixed --workers 2 (= --workers-min),
# interleaved in the same run. Before the step, wrk -c2 for a few seconds (what the node sees at
# rest). For each round prints req/s and p99 of the step for each, the ratio autoscale/fixed, the
# autoscale lines of that run and the steal time (jiffies, /proc/stat) during each step.
#
# Environment (all optional):
#   ASKR_BINARY       askr executable (default: <repo>/build/askr/askr)
#   BENCH_ROUNDS      rounds; each measures both, order alternating (default 3)
#   BENCH_MIN         --workers-min and the fixed count (default 2)
#   BENCH_MAX         --workers-max (default 8)
#   BENCH_SPARE       --workers-spare (default 1)
#   BENCH_STEP        seconds measured after the step (default 5)
#   BENCH_PORT        first port tried on 127.0.0.1 (default 18580)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

ROUNDS=${BENCH_ROUNDS:-3}
MIN=${BENCH_MIN:-2}
MAX=${BENCH_MAX:-8}
SPARE=${BENCH_SPARE:-1}
STEP=${BENCH_STEP:-5}
PORT_BASE=${BENCH_PORT:-18580}
STARTUP_TIMEOUT=90
for v in ROUNDS MIN MAX SPARE STEP PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number (got '${!v}')"
done

need wrk wrk; need curl curl; need setsid util-linux
[[ -x $ASKR_BINARY ]] || die "askr not built at $ASKR_BINARY (scripts/build.sh)"

bench_begin

# run MODE: one measurement (auto or fixed); prints one result line.
run() {
    local mode=$1 dir=$BENCH_TMP/$1 port admin s0 s1 out
    mkdir -p "$dir"
    port=$(free_port "$PORT_BASE") || die "no free port"
    admin=$(free_port $((port + 1))) || die "no free port"
    local workers=(--workers "$MIN")
    [[ $mode == auto ]] && workers=(--workers-min "$MIN" --workers-max "$MAX" --workers-spare "$SPARE")
    start_server "$dir/askr.out" "$ASKR_BINARY" serve --root "$HERE" --worker-script "$HERE/sleep-worker.php" \
        "${workers[@]}" --host 127.0.0.1 --port "$port" --admin-port "$admin" --no-access-log
    local pid=$SERVER_PID
    if ! wait_http "$pid" "http://127.0.0.1:$port/" 'ok' "$STARTUP_TIMEOUT"; then
        tail -n 20 "$dir/askr.out" >&2; stop_server "$pid"; return 1
    fi
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    until grep -q 'askr listening on' "$dir/askr.out" || ((SECONDS > deadline)); do sleep 0.2; done
    wrk -t1 -c2 -d3s "http://127.0.0.1:$port/" >"$dir/rest.txt" 2>&1
    local at_step
    at_step=$(grep -c 'autoscale up' "$dir/askr.out" || true)
    s0=$(steal)
    out=$dir/wrk.txt
    timeout --foreground $((STEP + 30)) wrk -t2 -c64 -d"${STEP}s" --latency -s "$BENCH/lib/report.lua" \
        "http://127.0.0.1:$port/" >"$out" 2>&1 || { sed 's/^/    /' "$out" >&2; stop_server "$pid"; return 1; }
    s1=$(steal)
    stop_server "$pid" 15
    parse_result "$out" || { log "no result from wrk"; return 1; }
    local events
    events=$(grep -o 'autoscale up .*' "$dir/askr.out" | tr '\n' ';' | sed 's/;$//')
    printf "%-5s req/s %6.0f p50 %7.1f ms p99 %7.1f ms non-2xx %s socket errors %s | steal %s | up events before the step %s | %s\n" \
        "$mode" "$R_rps" "$R_p50_ms" "$R_p99_ms" "$R_non2xx" "$R_socket_errors" "$((s1 - s0))" "$at_step" "${events:-no autoscale event}"
}

log "autoscale ($MIN..$MAX, $SPARE spare) vs fixed --workers $MIN: wrk -c2 3 s, then -c64 ${STEP}s on a 20 ms route; $ROUNDS round(s)"
log "2 cores shared with other jobs: absolute figures are noisy; compare within a round"
for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then order="auto fixed"; else order="fixed auto"; fi
    echo "round $round:"
    declare -A P99=()
    for mode in $order; do
        line=$(run "$mode") || { echo "  $mode: failed"; continue; }
        echo "  $line"
        P99[$mode]=$(awk '{for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1)}' <<<"$line")
    done
    if [[ -n ${P99[auto]:-} && -n ${P99[fixed]:-} ]]; then
        echo "  p99 autoscale/fixed: $(awk -v a="${P99[auto]}" -v b="${P99[fixed]}" 'BEGIN { printf "%.3f", a / b }')"
    fi
done
