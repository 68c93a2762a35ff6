#!/usr/bin/env bash
# Profiles askr's hello-world workers under wrk with perf, in two windows: the first 6 s of load
# (the JIT still tiering up) and 6 s after 30 s of load (warm). Prints each window's CPU by thread.
# Usage: bench/http/profile.sh [ASKR_BINARY] [OUT_DIR]   (needs perf; DOTNET_PerfMapEnabled=1 is set)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$HERE/../lib/common.sh"
B=${1:-$ASKR_BINARY}; OUT=${2:-$(mktemp -d)}; PORT=$(free_port 18556)
need perf linux-perf; need wrk wrk
trap stop_all EXIT
bench_init_tmp
export DOTNET_PerfMapEnabled=1
start_server "$OUT/askr.out" "$B" serve --root "$HERE" --worker-script "$HERE/hello-worker.php" --workers 2 \
    --host 127.0.0.1 --port "$PORT" --no-access-log
wait_http "$SERVER_PID" "http://127.0.0.1:$PORT/" 'Hello, World!' 30 || die "askr did not start"
WPIDS=$(pgrep -P "$SERVER_PID" | paste -sd,)
wrk -t2 -c64 -d45s "http://127.0.0.1:$PORT/" >"$OUT/wrk.txt" 2>&1 </dev/null &
W=$!
perf record -F 499 -g -p "$WPIDS" -o "$OUT/early.data" -- sleep 6 >/dev/null 2>&1
sleep 24
perf record -F 499 -g -p "$WPIDS" -o "$OUT/late.data" -- sleep 6 >/dev/null 2>&1
wait $W
grep Requests/sec "$OUT/wrk.txt"
for f in early late; do
    echo "$f: CPU of the workers by thread"
    perf report -i "$OUT/$f.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep '%' | head -6
done
echo "perf data in $OUT"
