#!/usr/bin/env bash
# The stampede of bench/response-cache/run.sh alone, ROUNDS times (docs/response-cache.md):
# each round sends 200 concurrent cold requests (a new key per round) to a route that sleeps
# 300 ms, and reports the total time, PHP executions, answers 200 and the X-Askr-Cache labels,
# plus, as the floor the client and Kestrel impose, 200 concurrent requests to a cached HIT.
# Every round runs against two servers, the futex wake and ASKR_RESPONSE_CACHE_WAIT=poll, and
# prints their ratio. Target (issue 11): 1 execution, total <= 1.3 x 300 ms. Load and steal beside every round;
# takes /tmp/askr-bench.lock.
#
# Environment (all optional): ASKR_BINARY, BENCH_WORKERS (default nproc), BENCH_ROUNDS (5),
# BENCH_CONCURRENCY (200), BENCH_PORT (18390; the poll server takes the next free port).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

WORKERS=${BENCH_WORKERS:-$(nproc)}
ROUNDS=${BENCH_ROUNDS:-5}
N=${BENCH_CONCURRENCY:-200}
PORT_BASE=${BENCH_PORT:-18390}
STARTUP_TIMEOUT=30

need curl curl
[[ -x $ASKR_BINARY ]] || die "askr not built at $ASKR_BINARY (scripts/build.sh)"

bench_begin

root=$BENCH_TMP/public; mkdir -p "$root"; echo ok >"$root/ok.txt"
export BODY_BYTES=4096
# Two servers, the same but for how a waiter learns that its leader settled: the futex wake
# (default) and the former poll (ASKR_RESPONSE_CACHE_WAIT=poll, 2 ms doubling to 25 ms).
declare -A PORT LOGF PID
next=$PORT_BASE
for mode in futex poll; do
    PORT[$mode]=$(free_port "$next"); next=$((PORT[$mode] + 1))
    LOGF[$mode]=$BENCH_TMP/stampede-$mode.log; : >"${LOGF[$mode]}"
    wait_env=()
    [[ $mode == poll ]] && wait_env=(ASKR_RESPONSE_CACHE_WAIT=poll)
    start_server "$BENCH_TMP/askr-$mode.out" env "${wait_env[@]}" STAMPEDE_LOG="${LOGF[$mode]}" "$ASKR_BINARY" serve \
        --root "$root" --worker-script "$HERE/worker.php" --host 127.0.0.1 --port "${PORT[$mode]}" --workers "$WORKERS" \
        --no-access-log --response-cache 64M
    PID[$mode]=$SERVER_PID
    wait_http "$SERVER_PID" "http://127.0.0.1:${PORT[$mode]}/ok.txt" ok "$STARTUP_TIMEOUT" || { tail "$BENCH_TMP/askr-$mode.out"; die "askr ($mode) did not start"; }
    curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$mode]}/page"
done

# burst URL: N concurrent requests to URL; prints "ms codes labels"
burst() {
    local url=$1 cfg=$BENCH_TMP/urls.txt out=$BENCH_TMP/out.txt s0
    : >"$cfg"
    for _ in $(seq "$N"); do printf 'url = "%s"\noutput = /dev/null\n' "$url" >>"$cfg"; done
    s0=$(date +%s%N)
    curl -s --parallel --parallel-immediate --parallel-max "$N" -K "$cfg" 2>/dev/null \
        -w '%{http_code} %header{x-askr-cache} %{time_connect} %{time_total}\n' >"$out"
    local ms=$(( ($(date +%s%N) - s0) / 1000000 ))
    local ok; ok=$(grep -c '^200 ' "$out" || true)
    local labels; labels=$(awk '{print $2}' "$out" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
    local conn; conn=$(awk '{print $3}' "$out" | sort -n | tail -1)
    local slow; slow=$(awk '{print $4}' "$out" | sort -n | tail -1)
    echo "$ms $ok/$N ${labels}max_connect=${conn}s max_total=${slow}s"
}

printf '%-6s %-16s %s\n' round what result
for r in $(seq "$ROUNDS"); do
    # Alternate which server goes first, so neither always gets the quieter half of the round.
    if ((r % 2)); then order=(futex poll); else order=(poll futex); fi
    declare -A total
    for mode in "${order[@]}"; do
        port=${PORT[$mode]}
        s0=$(steal); load=$(cut -d' ' -f1 /proc/loadavg)
        hit=$(burst "http://127.0.0.1:$port/page")
        : >"${LOGF[$mode]}"
        cold=$(burst "http://127.0.0.1:$port/slow?round=$r")
        runs=$(wc -l <"${LOGF[$mode]}")
        total[$mode]=${cold%% *}
        printf '%-6s %-16s %s ms  (load %s, steal %s jiffies)\n' "$r" "$mode hit-floor" "$hit" "$load" "$(( $(steal) - s0 ))"
        printf '%-6s %-16s %s ms  PHP ran %s time(s)\n' "$r" "$mode stampede" "$cold" "$runs"
    done
    printf '%-6s %-16s futex/poll total time %s\n' "$r" ratio "$(awk -v f="${total[futex]}" -v p="${total[poll]}" 'BEGIN{printf "%.2f", f/p}')"
done
for mode in futex poll; do stop_server "${PID[$mode]}"; done
