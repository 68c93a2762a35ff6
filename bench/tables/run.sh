#!/usr/bin/env bash
# Worker-side table benchmark: inside one askr worker, ops/s of get, set and incr through the
# driver's table class (what Octane::table() returns) and through the raw natives, against
# APCu's apcu_fetch / apcu_store / apcu_inc over the same keys and values in the same process.
# getcol reads one int column against apcu_fetch of an int entry.
# Prints the medians and the ratios table/APCu, natives/APCu (target: >= 1), and writes the
# worker's full JSON to bench/results/tables-<date>.json. See docs/benchmarks-tables.md.
#
# Environment (all optional):
#   ASKR_BINARY         askr executable (default: <repo>/build/askr/askr)
#   OCTANE_PATH         laravel/octane source (default ~/.cache/askr/octane-1.5.6)
#   BENCH_N             operations per measurement (default 500000)
#   BENCH_KEYS          distinct keys (default 1000)
#   BENCH_ROUNDS        rounds, all variants interleaved; the median is reported (default 5)
#   BENCH_PORT          first port tried on 127.0.0.1 (default 18380)
#   BENCH_RESULTS_DIR   where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"

N=${BENCH_N:-500000}
KEYS=${BENCH_KEYS:-1000}
ROUNDS=${BENCH_ROUNDS:-5}

[[ -x $ASKR_BINARY ]] || die "askr not found at $ASKR_BINARY: run scripts/build.sh (or set ASKR_BINARY)"
need curl curl
need php php8.2-cli
php -r 'exit(extension_loaded("apcu") ? 0 : 1);' || die "APCu is not installed (Debian package: php8.2-apcu)"

trap stop_all EXIT
bench_init_tmp

# The same shapes config/octane.php would declare: 'bench:<rows>' => [s string:64, n int, f float].
ROWS=$((KEYS + 16))
cat >"$BENCH_TMP/tables.json" <<JSON
{"tables": {"bench:$ROWS": {"s": "string:64", "n": "int", "f": "float"}}, "cache": {"rows": 16, "bytes": 64}}
JSON

PORT=$(free_port "${BENCH_PORT:-18380}") || die "no free port"
log "askr serve --workers 1 on 127.0.0.1:$PORT (n=$N keys=$KEYS rounds=$ROUNDS)"
start_server "$BENCH_TMP/askr.log" "$ASKR_BINARY" serve \
    --root "$HERE" --worker-script "$HERE/worker.php" --tables "$BENCH_TMP/tables.json" \
    --host 127.0.0.1 --port "$PORT" --workers 1 --request-timeout 0 --no-access-log \
    --php-ini apc.enable_cli=1 --php-ini apc.shm_size=64M
ASKR_PID=$SERVER_PID
wait_http "$ASKR_PID" "http://127.0.0.1:$PORT/ping" pong 30 || { cat "$BENCH_TMP/askr.log" >&2; die "askr did not start"; }

RESULT="$BENCH_TMP/result.json"
curl -fsS -m 900 "http://127.0.0.1:$PORT/run?n=$N&keys=$KEYS&rounds=$ROUNDS" -o "$RESULT" \
    || { cat "$BENCH_TMP/askr.log" >&2; die "the benchmark request failed"; }

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/tables-$(date +%Y%m%d-%H%M%S).json"
php -r '
    $r = json_decode(file_get_contents($argv[1]), true);
    $r["machine"] = ["nproc" => (int) shell_exec("nproc"), "loadavg" => trim(file_get_contents("/proc/loadavg")), "askr" => $argv[3]];
    file_put_contents($argv[2], json_encode($r, JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION)."\n");
    $m = $r["median_ops_per_second"];
    printf("%-6s %16s %16s %16s %12s %14s\n", "op", "table class", "raw natives", "APCu", "table/APCu", "natives/APCu");
    foreach (["get" => "apcu_fetch", "set" => "apcu_store", "incr" => "apcu_inc", "getcol" => "apcu_fetch"] as $op => $apcu) {
        printf("%-6s %16s %16s %16s %12.2f %14.2f\n", $op,
            number_format($m["$op.table"]), number_format($m["$op.natives"]), number_format($m["$op.apcu"]),
            $m["$op.table"] / $m["$op.apcu"], $m["$op.natives"] / $m["$op.apcu"]);
    }
    $w = $r["median_wall_ops_per_second"];
    printf("wall clock: get %s / %s / %s, set %s / %s / %s, incr %s / %s / %s (table / natives / APCu)\n",
        ...array_map("number_format", [$w["get.table"], $w["get.natives"], $w["get.apcu"], $w["set.table"], $w["set.natives"], $w["set.apcu"], $w["incr.table"], $w["incr.natives"], $w["incr.apcu"]]));
    printf("ops per CPU second of the worker, median of %d rounds of %d ops over %d keys, one askr worker (PHP %s, SAPI %s, opcache %s, jit %s, APCu %s)\n",
        $r["rounds"], $r["n"], $r["keys"], $r["php"], $r["sapi"], $r["opcache"] ? "on" : "off", $r["jit"] ?: "-", $r["apcu"]);
' "$RESULT" "$OUT" "$ASKR_BINARY"
log "wrote $OUT"
