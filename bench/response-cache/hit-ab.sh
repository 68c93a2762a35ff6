#!/usr/bin/env bash
# A/B of the response cache HIT path between two askr builds, in one run: both serve /page
# (BODY_BYTES bytes, cached) side by side, and each round measures both with wrk, the order
# alternating, printing req/s, p99, the steal during each and the ratio B/A.
# Usage: ASKR_A=/path/to/old/askr ASKR_B=/path/to/new/askr bench/response-cache/hit-ab.sh
# Environment (optional): BENCH_ROUNDS (4), BENCH_DURATION (5), BENCH_CONNECTIONS (64),
# BENCH_WORKERS (nproc), BENCH_PORT (18420). Takes /tmp/askr-bench.lock.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

ROUNDS=${BENCH_ROUNDS:-4}
DURATION=${BENCH_DURATION:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PORT_BASE=${BENCH_PORT:-18420}
need wrk wrk; need curl curl
[[ -x ${ASKR_A:-} && -x ${ASKR_B:-} ]] || die "set ASKR_A and ASKR_B to two askr binaries"

bench_begin

root=$BENCH_TMP/public; mkdir -p "$root"; echo ok >"$root/ok.txt"
export BODY_BYTES=${BENCH_BODY_BYTES:-4096} STAMPEDE_LOG=/dev/null
declare -A PORT
next=$PORT_BASE
for v in A B; do
    bin=ASKR_$v
    PORT[$v]=$(free_port "$next"); next=$((PORT[$v] + 1))
    start_server "$BENCH_TMP/askr-$v.out" "${!bin}" serve --root "$root" --worker-script "$HERE/worker.php" \
        --host 127.0.0.1 --port "${PORT[$v]}" --workers "$WORKERS" --no-access-log --response-cache 64M
    wait_http "$SERVER_PID" "http://127.0.0.1:${PORT[$v]}/ok.txt" ok 30 || { tail "$BENCH_TMP/askr-$v.out"; die "askr $v did not start"; }
    curl -fsS -o /dev/null "http://127.0.0.1:${PORT[$v]}/page"
    wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:${PORT[$v]}/page" >/dev/null
done

printf '%-6s %-3s %12s %10s %6s\n' round v req/s p99_ms steal
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then order=(A B); else order=(B A); fi
    declare -A RPS
    for v in "${order[@]}"; do
        s0=$(steal)
        out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:${PORT[$v]}/page")
        RPS[$v]=$(awk '/Requests\/sec/{print $2}' <<<"$out")
        p99=$(awk '$1=="99%"{print $2}' <<<"$out")
        printf '%-6s %-3s %12s %10s %6s\n' "$r" "$v" "${RPS[$v]}" "$p99" "$(( $(steal) - s0 ))"
    done
    printf '%-6s B/A %s (load %s)\n' "$r" "$(awk -v a="${RPS[A]}" -v b="${RPS[B]}" 'BEGIN{printf "%.2f", b/a}')" "$(cut -d' ' -f1 /proc/loadavg)"
done
