#!/usr/bin/env bash
# Same-run A/B of askr hello-world variants (bench/http/hello-worker.php, W workers, access log off):
# each round runs every variant once, interleaved, and prints req/s, p99, each variant's ratio to
# the first one, and the steal time (8th number of `cpu` in /proc/stat) during that measurement.
#
# Usage: bench/http/ab.sh 'NAME=ENV... BINARY' ...   e.g.
#   bench/http/ab.sh "base=/tmp/old/askr" "new=build/askr/askr" "gen0=DOTNET_GCgen0size=0x400000 build/askr/askr"
# Env: BENCH_ROUNDS (3), BENCH_DURATION (8), BENCH_WARMUP (2), BENCH_WORKERS (nproc), BENCH_PORT (18380).
# Takes flock /tmp/askr-bench.lock so that benchmarks of other checkouts do not overlap.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
ROUNDS=${BENCH_ROUNDS:-3} DURATION=${BENCH_DURATION:-8} WARMUP=${BENCH_WARMUP:-2}
WORKERS=${BENCH_WORKERS:-$(nproc)} PORT=${BENCH_PORT:-18380}
(($# >= 2)) || die "give at least two variants 'NAME=[ENV=VALUE ...] BINARY'"
trap stop_all EXIT
trap 'exit 130' INT TERM
bench_init_tmp
exec 9>/tmp/askr-bench.lock
flock 9
declare -A RPS
for ((round = 1; round <= ROUNDS; round++)); do
    line="round $round:"
    first=''
    for spec in "$@"; do
        name=${spec%%=*}; read -r -a cmd <<<"${spec#*=}"
        port=$(free_port "$PORT")
        start_server "$BENCH_TMP/$name.out" env "${cmd[@]}" serve --root "$HERE" --worker-script "$HERE/hello-worker.php" \
            --workers "$WORKERS" --host 127.0.0.1 --port "$port" --no-access-log
        pid=$SERVER_PID
        wait_http "$pid" "http://127.0.0.1:$port/" 'Hello, World!' 30 || die "$name did not start: $(tail -5 "$BENCH_TMP/$name.out")"
        wrk -t2 -c64 -d"${WARMUP}s" "http://127.0.0.1:$port/" >/dev/null 2>&1 || true
        s0=$(steal); t0=$(awk 'NR==1{t=0; for(i=2;i<=NF;i++) t+=$i; print t}' /proc/stat)
        wrk -t2 -c64 -d"${DURATION}s" --latency -s "$BENCH/lib/report.lua" "http://127.0.0.1:$port/" >"$BENCH_TMP/wrk.txt" 2>&1
        s1=$(steal); t1=$(awk 'NR==1{t=0; for(i=2;i<=NF;i++) t+=$i; print t}' /proc/stat)
        parse_result "$BENCH_TMP/wrk.txt" || die "no wrk result for $name"
        rss=$(for w in $(pgrep -P "$pid"); do awk '/VmRSS/{print $2}' "/proc/$w/status"; done | sort -n | tr '\n' '/' )
        stop_server "$pid" 15
        RPS[$name:$round]=$R_rps
        [[ -n $first ]] || first=$name
        ratio=$(awk -v a="$R_rps" -v b="${RPS[$first:$round]}" 'BEGIN { printf "%.2f", a / b }')
        steal_pct=$(awk -v s=$((s1 - s0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }')
        line+=$(printf '  %s %.0f req/s p99 %.1f ms (%s×, steal %s%%, worker RSS %skB)' "$name" "$R_rps" "$R_p99_ms" "$ratio" "$steal_pct" "${rss%/}")
    done
    echo "$line  load $(cut -d' ' -f1 /proc/loadavg)"
done
