#!/usr/bin/env bash
# Octane::concurrently() on askr's task workers: starts the example app (examples/laravel) with
# `php artisan octane:start --server=askr --workers 1 --task-workers 3` and measures, from inside
# PHP (the route times the concurrently() call with hrtime and returns it), one request at a time:
#   sleep100      three tasks that each sleep 100 ms     (target: resolved in <= 130 ms)
#   trivial       three tasks that return a constant     (target: <= 1 ms at p50)
#   trivial-idle  the same, each request after 100 ms of idleness (no target: what a quiet
#                 server sees; on this kind of VM the PHP then runs about half as fast)
# Each case has its own phase: BENCH_WARMUP requests not measured, then the measured ones.
# Prints p50/p90/p99/max in ms (and the client-side request latency), writes the JSON to
# bench/results/tasks-<date>.json. See docs/benchmarks-tasks.md.
#
# Environment (all optional):
#   ASKR_BINARY         askr executable (default: <repo>/build/askr/askr)
#   OCTANE_PATH         laravel/octane source (default ~/.cache/askr/octane-1.5.6)
#   BENCH_REQUESTS      measured requests for trivial (default 2000); sleep100 and trivial-idle
#                       measure a tenth of it (at least 50), as each takes 100 ms
#   BENCH_WARMUP        warm-up requests before trivial, not measured (default 1000; a tenth
#                       before the other cases)
#   BENCH_TASK_WORKERS  task workers (default 3)
#   BENCH_PORT          first port tried on 127.0.0.1 (default 18480)
#   BENCH_RESULTS_DIR   where the JSON goes (default: <repo>/bench/results)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$BENCH/lib/common.sh"
APP=$REPO/examples/laravel

REQUESTS=${BENCH_REQUESTS:-2000}
WARMUP=${BENCH_WARMUP:-1000}
TASK_WORKERS=${BENCH_TASK_WORKERS:-3}

[[ -x $ASKR_BINARY ]] || die "askr not found at $ASKR_BINARY: run scripts/build.sh (or set ASKR_BINARY)"
need curl curl
need php php8.2-cli
[[ -f $APP/vendor/autoload.php && -f $APP/.env ]] || sh "$APP/setup.sh" >&2 || die "examples/laravel/setup.sh failed"

trap stop_all EXIT
bench_init_tmp

PORT=$(free_port "${BENCH_PORT:-18480}") || die "no free port"
ADMIN_PORT=$(free_port $((PORT + 1))) || die "no free admin port"
log "octane:start --server=askr --workers 1 --task-workers $TASK_WORKERS on 127.0.0.1:$PORT ($REQUESTS trivial requests after $WARMUP warm-up)"
cd "$APP"
start_server "$BENCH_TMP/server.log" env ASKR_BINARY="$ASKR_BINARY" php artisan octane:start --server=askr \
    --host=127.0.0.1 --port="$PORT" --admin-port="$ADMIN_PORT" --workers=1 --task-workers="$TASK_WORKERS" --max-requests=0
SERVER=$SERVER_PID
wait_http "$SERVER" "http://127.0.0.1:$PORT/api/json" '{"hello":"world"}' 60 || { cat "$BENCH_TMP/server.log" >&2; die "the server did not start"; }

mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/tasks-$(date +%Y%m%d-%H%M%S).json"
# shellcheck disable=SC2016  # the single-quoted text is PHP code, not shell
php -r '
    [, $base, $requests, $warmup, $taskWorkers, $out, $askr] = $argv;
    // case => [path, measured requests, warm-up requests, pause before each request in microseconds]
    $tenth = fn (int $n, int $min) => max($min, intdiv($n, 10));
    $cases = [
        "trivial" => ["/api/tasks/trivial", (int) $requests, (int) $warmup, 0],
        "sleep100" => ["/api/tasks/concurrently?ms=100", $tenth((int) $requests, 50), $tenth((int) $warmup, 5), 0],
        "trivial-idle" => ["/api/tasks/trivial", $tenth((int) $requests, 50), $tenth((int) $warmup, 5), 100000],
    ];
    $get = function (string $path) use ($base): array {
        $start = hrtime(true);
        $body = file_get_contents($base.$path);
        $client = (hrtime(true) - $start) / 1e6;
        $answer = json_decode((string) $body, true);
        if (! isset($answer["results"], $answer["elapsed_ms"])) {
            fwrite(STDERR, "unexpected answer from {$path}: {$body}\n");
            exit(1);
        }
        return [$answer["elapsed_ms"], $client, $answer["results"]];
    };
    $samples = [];
    $pids = [];
    foreach ($cases as $case => [$path, $count, $warm, $pause]) {
        for ($i = 0; $i < $warm; $i++) { $get($path); }
        $samples[$case] = ["concurrently" => [], "request" => []];
        for ($i = 0; $i < $count; $i++) {
            if ($pause > 0) { usleep($pause); }
            [$elapsed, $client, $results] = $get($path);
            $samples[$case]["concurrently"][] = $elapsed;
            $samples[$case]["request"][] = $client;
            if ($case === "sleep100") { foreach ($results as $r) { $pids[$r["pid"]] = true; } }
        }
    }
    $pct = function (array $values, float $p): float {
        sort($values);
        return $values[(int) min(count($values) - 1, max(0, ceil($p / 100 * count($values)) - 1))];
    };
    $summary = [];
    foreach ($samples as $case => $series) {
        foreach ($series as $what => $values) {
            $summary[$case][$what] = [
                "p50" => $pct($values, 50), "p90" => $pct($values, 90), "p99" => $pct($values, 99),
                "min" => min($values), "max" => max($values), "mean" => array_sum($values) / count($values),
            ];
        }
    }
    $result = [
        "date" => date(DATE_ATOM), "requests" => array_map(fn ($c) => $c[1], $cases), "warmup" => array_map(fn ($c) => $c[2], $cases),
        "http_workers" => 1, "task_workers" => (int) $taskWorkers, "task_worker_pids_seen" => count($pids),
        "targets" => ["sleep100_p50_ms" => 130, "trivial_p50_ms" => 1],
        "summary_ms" => $summary, "samples_ms" => $samples,
        "machine" => ["nproc" => (int) shell_exec("nproc"), "loadavg" => trim(file_get_contents("/proc/loadavg")), "php" => PHP_VERSION, "askr" => $askr],
    ];
    file_put_contents($out, json_encode($result, JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION)."\n");
    printf("%-12s %-26s %9s %9s %9s %9s\n", "case", "measured", "p50", "p90", "p99", "max");
    foreach ($summary as $case => $series) {
        foreach ($series as $what => $s) {
            printf("%-12s %-26s %9.2f %9.2f %9.2f %9.2f\n", $case, $what === "concurrently" ? "concurrently() (in PHP)" : "request (client)", $s["p50"], $s["p90"], $s["p99"], $s["max"]);
        }
    }
    printf("targets: 3 x 100 ms resolved in <= 130 ms (p50 %.2f: %s); trivial overhead <= 1 ms at p50 (%.2f: %s)\n",
        $summary["sleep100"]["concurrently"]["p50"], $summary["sleep100"]["concurrently"]["p50"] <= 130 ? "met" : "NOT met",
        $summary["trivial"]["concurrently"]["p50"], $summary["trivial"]["concurrently"]["p50"] <= 1 ? "met" : "NOT met");
    printf("trivial after 100 ms idle: p50 %.2f ms (no target)\n", $summary["trivial-idle"]["concurrently"]["p50"]);
    printf("requests measured: %s; 1 HTTP worker, %d task workers (%d seen), load average before: %s\n",
        implode(", ", array_map(fn ($c, $n) => "{$n} {$c[1]}", $cases, array_keys($cases))), $taskWorkers, count($pids), $result["machine"]["loadavg"]);
' "http://127.0.0.1:$PORT" "$REQUESTS" "$WARMUP" "$TASK_WORKERS" "$OUT" "$ASKR_BINARY"
log "wrote $OUT"
