<?php
// Client for the example app's Octane::concurrently() routes (examples/laravel, TasksController):
// the route times the concurrently() call in PHP with hrtime and returns it as elapsed_ms, so what
// is measured is concurrently() itself, on any Octane server (askr, Swoole). One request at a time.
//
//   php concurrently-client.php BASE_URL TRIVIAL_REQUESTS WARMUP
//
// Cases: trivial (three closures returning a constant: GET /api/tasks/trivial) and sleep100
// (three closures that each sleep 100 ms: GET /api/tasks/concurrently?ms=100, a tenth of the
// requests, at least 20). Prints one line
//   BENCH_TASKS trivial_p50_ms=.. trivial_p99_ms=.. sleep100_p50_ms=.. sleep100_p99_ms=.. task_pids=N
// (task_pids: distinct processes that ran the sleep100 closures) and exits 1 on an unexpected answer.
[, $base, $requests, $warmup] = $argv + [null, null, '1000', '300'];
$requests = (int) $requests;
$warmup = (int) $warmup;
$cases = [
    'trivial' => ['/api/tasks/trivial', $requests, $warmup],
    'sleep100' => ['/api/tasks/concurrently?ms=100', max(20, intdiv($requests, 10)), max(3, intdiv($warmup, 10))],
];
$get = function (string $path) use ($base): array {
    $body = @file_get_contents($base.$path);
    $answer = json_decode((string) $body, true);
    if (! isset($answer['results'], $answer['elapsed_ms'])) {
        fwrite(STDERR, "unexpected answer from {$base}{$path}: ".var_export($body, true)."\n");
        exit(1);
    }

    return [(float) $answer['elapsed_ms'], $answer['results']];
};
$pct = function (array $values, float $p): float {
    sort($values);

    return $values[(int) min(count($values) - 1, max(0, ceil($p / 100 * count($values)) - 1))];
};
$out = [];
$pids = [];
foreach ($cases as $case => [$path, $count, $warm]) {
    for ($i = 0; $i < $warm; $i++) {
        $get($path);
    }
    $samples = [];
    for ($i = 0; $i < $count; $i++) {
        [$elapsed, $results] = $get($path);
        $samples[] = $elapsed;
        if ($case === 'sleep100') {
            foreach ($results as $r) {
                $pids[$r['pid'] ?? '?'] = true;
            }
        }
    }
    $out[] = sprintf('%s_p50_ms=%.3f %s_p99_ms=%.3f', $case, $pct($samples, 50), $case, $pct($samples, 99));
}
echo 'BENCH_TASKS ', implode(' ', $out), ' task_pids=', count($pids), "\n";
