#!/usr/bin/env bash
# Background-worker benchmark (docs/background-workers.md), two figures on one askr serve:
#  1. get_vars() of an unchanged 1 KB snapshot against apcu_fetch() of the same array, in the same
#     HTTP worker, interleaved rounds (target: get_vars/apcu >= 1);
#  2. set_vars() -> visible in every HTTP worker: a background worker publishes a sequence number
#     with its CLOCK_MONOTONIC stamp every 20 ms; each HTTP worker polls get_vars() (every ~20 us)
#     and records the delay to its first sight of each number; per number, the slowest worker
#     counts; p50 / p99 / max (target p99 <= 1 ms).
# Takes flock /tmp/askr-bench.lock and prints the load average and the steal time beside the
# figures; on a loaded machine they are provisional.
#
# Environment (all optional): ASKR_BINARY, BENCH_N (get_vars calls per round, default 200000),
# BENCH_ROUNDS (default 5), BENCH_WORKERS (HTTP workers, default 2), BENCH_MS (visibility window
# per request, default 3000), BENCH_PORT (first port tried, default 18480).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

N=${BENCH_N:-200000}
ROUNDS=${BENCH_ROUNDS:-5}
WORKERS=${BENCH_WORKERS:-2}
MS=${BENCH_MS:-3000}

[[ -x $ASKR_BINARY ]] || die "askr not found at $ASKR_BINARY: run scripts/build.sh (or set ASKR_BINARY)"
need curl curl
php -r 'exit(extension_loaded("apcu") ? 0 : 1);' || die "APCu is not installed (Debian package: php8.2-apcu)"

exec 9>/tmp/askr-bench.lock
flock 9

trap stop_all EXIT
bench_init_tmp

STEAL0=$(steal)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

PORT=$(free_port "${BENCH_PORT:-18480}") || die "no free port"
log "askr serve --workers $WORKERS on 127.0.0.1:$PORT (n=$N rounds=$ROUNDS window=${MS} ms; load $LOAD0)"
start_server "$BENCH_TMP/askr.log" "$ASKR_BINARY" serve \
    --root "$HERE" --worker-script "$HERE/worker.php" \
    --background-worker "static=$HERE/publisher.php" --background-worker "ticker=$HERE/publisher.php" \
    --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" --request-timeout 0 --no-access-log \
    --php-ini apc.enable_cli=1 --php-ini apc.shm_size=32M
wait_http "$SERVER_PID" "http://127.0.0.1:$PORT/ping" pong 30 || { cat "$BENCH_TMP/askr.log" >&2; die "askr did not start"; }

curl -fsS -m 600 "http://127.0.0.1:$PORT/getvars?n=$N&rounds=$ROUNDS" -o "$BENCH_TMP/getvars.json" || { cat "$BENCH_TMP/askr.log" >&2; die "/getvars failed"; }

# Several concurrent windows, so that every HTTP worker measures at the same time (the kernel
# spreads the connections; a worker that gets two runs them one after the other).
CURLS=()
for i in $(seq 1 $((WORKERS * 2))); do
    curl -fsS -m 120 "http://127.0.0.1:$PORT/visibility?ms=$MS" -o "$BENCH_TMP/vis-$i.json" &
    CURLS+=($!)
done
# Only the clients: a bare `wait` would wait for the server too.
wait "${CURLS[@]}"

php -r '
    $g = json_decode(file_get_contents($argv[1]."/getvars.json"), true);
    $byWorker = [];
    foreach (glob($argv[1]."/vis-*.json") as $f) {
        $r = json_decode(file_get_contents($f), true);
        foreach ($r["delays_us"] as $seq => $us) { $byWorker[$r["pid"]][$seq] = $us; }
    }
    $workers = count($byWorker);
    $common = null;
    foreach ($byWorker as $d) { $common = $common === null ? array_keys($d) : array_intersect($common, array_keys($d)); }
    $slowest = [];
    foreach ($common ?? [] as $seq) { $slowest[] = max(array_map(fn ($d) => $d[$seq], $byWorker)); }
    sort($slowest);
    $p = fn ($q) => $slowest ? $slowest[min(count($slowest) - 1, (int) floor($q * count($slowest)))] : null;
    printf("get_vars() of an unchanged %d-byte snapshot: %.0f ops/s; apcu_fetch() of the same array: %.0f ops/s; ratio %.2f (same array: %s)\n",
        $g["bytes"], $g["get_vars_ops"], $g["apcu_fetch_ops"], $g["get_vars_ops"] / $g["apcu_fetch_ops"], $g["same_array"] ? "yes" : "NO");
    printf("set_vars() -> visible in all %d HTTP workers (%d publishes seen by every worker): p50 %.0f us, p99 %.0f us, max %.0f us\n",
        $workers, count($slowest), $p(0.50), $p(0.99), $slowest ? end($slowest) : 0);
' "$BENCH_TMP"
log "load average before $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg); steal during the run: $(( $(steal) - STEAL0 )) jiffies; nproc $(nproc)"
