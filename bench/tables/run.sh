#!/usr/bin/env bash
# Worker-side table benchmark: inside one askr worker, ops/s of get, set and incr through the
# driver's table class (what Octane::table() returns) and through the raw natives, against
# APCu's apcu_fetch / apcu_store / apcu_inc over the same keys and values in the same process,
# and against Swoole\Table (bench/tables/swoole.php, a php CLI with ext-swoole loaded) doing the
# same operations on a table of the same shape. getcol reads one int column against apcu_fetch
# of an int entry. Rounds are interleaved (askr round r, then Swoole round r); every round prints
# askr/Swoole for get, set, incr and getcol with the machine's steal during the round, then the
# medians and the ratios table/APCu, natives/APCu, table/Swoole (targets: >= 1). Writes
# everything to bench/results/tables-<date>.json. See docs/benchmarks-tables.md.
#
# Environment (all optional):
#   ASKR_BINARY         askr executable (default: <repo>/build/askr/askr)
#   OCTANE_PATH         laravel/octane source (default ~/.cache/askr/octane-1.5.6)
#   BENCH_N             operations per measurement (default 500000)
#   BENCH_KEYS          distinct keys (default 1000)
#   BENCH_ROUNDS        rounds, all variants interleaved; the median is reported (default 5)
#   SWOOLE_SO           ext-swoole built from source (default ~/.cache/askr/swoole-5.1.8/modules/swoole.so);
#                       the Swoole column is skipped, with a message, when it is absent
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

SWOOLE_SO=${SWOOLE_SO:-${HOME:-/root}/.cache/askr/swoole-5.1.8/modules/swoole.so}
if [[ -f $SWOOLE_SO ]] && php -d "extension=$SWOOLE_SO" -r 'exit(extension_loaded("swoole") ? 0 : 1);' 2>/dev/null; then
    HAVE_SWOOLE=1
else
    HAVE_SWOOLE=0
    log "Swoole column skipped: no loadable swoole.so at $SWOOLE_SO (build Swoole 5.1.8 with phpize, see docs/benchmarks-tables.md, and set SWOOLE_SO)"
fi

# One warm-up request of a whole round (so that the runtime's tiered JIT has promoted the callbacks), then ROUNDS rounds, each one askr request of one round (every variant
# inside the worker) followed by one Swoole CLI run of the same round: machine noise hits both
# alike, and the steal of each round is printed beside it.
curl -fsS -m 900 "http://127.0.0.1:$PORT/run?n=$N&keys=$KEYS&rounds=1" -o /dev/null \
    || { cat "$BENCH_TMP/askr.log" >&2; die "the warm-up request failed"; }
for ((r = 1; r <= ROUNDS; r++)); do
    s0=$(steal)
    curl -fsS -m 900 "http://127.0.0.1:$PORT/run?n=$N&keys=$KEYS&rounds=1" -o "$BENCH_TMP/askr-$r.json" \
        || { cat "$BENCH_TMP/askr.log" >&2; die "the benchmark request failed"; }
    if ((HAVE_SWOOLE)); then
        php -d "extension=$SWOOLE_SO" -d opcache.enable_cli=1 "$HERE/swoole.php" "$N" "$KEYS" 1 >"$BENCH_TMP/swoole-$r.json" \
            || die "the Swoole run failed"
    else
        echo '{}' >"$BENCH_TMP/swoole-$r.json"
    fi
    echo $(($(steal) - s0)) >"$BENCH_TMP/steal-$r"
done

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/tables-$(date +%Y%m%d-%H%M%S).json"
php -r '
    [, $dir, $rounds, $out, $askr] = $argv;
    $median = function (array $v): float { sort($v); $m = intdiv(count($v), 2); return count($v) % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2; };
    $all = $wall = [];
    $per = [];
    for ($r = 1; $r <= $rounds; $r++) {
        $a = json_decode(file_get_contents("$dir/askr-$r.json"), true);
        $s = json_decode(file_get_contents("$dir/swoole-$r.json"), true);
        $first ??= $a;
        $swoole ??= $s;
        foreach ([$a, $s] as $j) {
            foreach ($j["rounds_ops_per_second"] ?? [] as $variant => $values) { $all[$variant][] = $values[0]; }
            foreach ($j["rounds_wall_ops_per_second"] ?? [] as $variant => $values) { $wall[$variant][] = $values[0]; }
        }
        $per[] = ["steal_jiffies" => (int) trim(file_get_contents("$dir/steal-$r"))];
    }
    $m = array_map($median, $all);
    $hasSwoole = isset($m["get.swoole"]);
    $result = [
        "n" => $first["n"], "keys" => $first["keys"], "rounds" => (int) $rounds,
        "php" => $first["php"], "sapi" => $first["sapi"], "opcache" => $first["opcache"], "jit" => $first["jit"], "apcu" => $first["apcu"],
        "swoole" => $swoole["swoole"] ?? null, "swoole_table_size" => $swoole["swoole_table_size"] ?? null, "swoole_opcache" => $swoole["opcache"] ?? null,
        "measure" => "operations per CPU second of the process running the loop (getrusage); wall-clock rates alongside",
        "median_ops_per_second" => $m, "median_wall_ops_per_second" => array_map($median, $wall),
        "rounds_ops_per_second" => $all, "rounds_wall_ops_per_second" => $wall, "rounds_steal_jiffies" => array_column($per, "steal_jiffies"),
        "machine" => ["nproc" => (int) shell_exec("nproc"), "loadavg" => trim(file_get_contents("/proc/loadavg")), "askr" => $askr],
    ];
    file_put_contents($out, json_encode($result, JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION)."\n");

    if ($hasSwoole) {
        echo "askr table class / Swoole\\Table, ops per CPU second, every round:\n";
        printf("%-5s %6s | %11s %11s %6s | %11s %11s %6s | %11s %11s %6s | %11s %11s %6s\n", "round", "steal",
            "get askr", "Swoole", "ratio", "set askr", "Swoole", "ratio", "incr askr", "Swoole", "ratio", "getcol askr", "Swoole", "ratio");
        for ($r = 0; $r < $rounds; $r++) {
            printf("%-5d %6d", $r + 1, $per[$r]["steal_jiffies"]);
            foreach (["get", "set", "incr", "getcol"] as $op) {
                $x = $all["$op.table"][$r]; $y = $all["$op.swoole"][$r];
                printf(" | %11s %11s %6.2f", number_format($x), number_format($y), $x / $y);
            }
            echo "\n";
        }
    }
    printf("\nmedians of %d rounds:\n%-6s %14s %14s %14s %14s %11s %13s %12s\n", $rounds, "op", "table class", "raw natives", "APCu", "Swoole", "table/APCu", "natives/APCu", "table/Swoole");
    foreach (["get" => "apcu_fetch", "set" => "apcu_store", "incr" => "apcu_inc", "getcol" => "apcu_fetch"] as $op => $apcu) {
        printf("%-6s %14s %14s %14s %14s %11.2f %13.2f %12s\n", $op,
            number_format($m["$op.table"]), number_format($m["$op.natives"]), number_format($m["$op.apcu"]),
            $hasSwoole ? number_format($m["$op.swoole"]) : "-",
            $m["$op.table"] / $m["$op.apcu"], $m["$op.natives"] / $m["$op.apcu"],
            $hasSwoole ? sprintf("%.2f", $m["$op.table"] / $m["$op.swoole"]) : "-");
    }
    printf("ops per CPU second, %d ops over %d keys per round; askr: one worker (PHP %s, SAPI %s, opcache %s, jit %s, APCu %s); Swoole %s: php CLI (opcache %s)\n",
        $first["n"], $first["keys"], $first["php"], $first["sapi"], $first["opcache"] ? "on" : "off", $first["jit"] ?: "-", $first["apcu"],
        $swoole["swoole"] ?? "-", ($swoole["opcache"] ?? false) ? "on" : "off");
' "$BENCH_TMP" "$ROUNDS" "$OUT" "$ASKR_BINARY"
log "wrote $OUT"
