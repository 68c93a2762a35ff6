<?php
// Convergence of a write across three local askr nodes: writes a row on node 1 (HTTP, the
// tables.php test worker), then polls nodes 2 and 3 until both return it. Prints JSON with the
// per-write times (ms) and their p50/p99/max.
// Usage: php convergence.php <port1> <port2> <port3> <writes>
[, $p1, $p2, $p3, $writes] = $argv + [null, null, null, null, 200];
$get = static function (int $port, string $path): string {
    static $handles = [];
    $h = $handles[$port] ??= curl_init();
    curl_setopt_array($h, [CURLOPT_URL => "http://127.0.0.1:$port$path", CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 5]);
    return (string) curl_exec($h);
};
$times = [];
$lost = 0;
$run = bin2hex(random_bytes(3));
for ($i = 0; $i < (int) $writes; $i++) {
    $key = "conv-$run-$i";
    $row = rawurlencode(json_encode(['name' => "v$i"]));
    $start = hrtime(true);
    $get((int) $p1, "/set?key=$key&row=$row");
    $pending = [(int) $p2 => true, (int) $p3 => true];
    $deadline = $start + 10_000_000_000;
    while ($pending && hrtime(true) < $deadline) {
        foreach (array_keys($pending) as $port) {
            if (str_contains($get($port, "/get?key=$key&column=name"), "\"v$i\"")) {
                unset($pending[$port]);
            }
        }
    }
    if ($pending) {
        $lost++;
        continue;
    }
    $times[] = (hrtime(true) - $start) / 1e6;
    usleep(20_000);
}
sort($times);
$pct = static fn (float $p) => $times ? $times[min(count($times) - 1, (int) ceil($p * count($times)) - 1)] : null;
echo json_encode(['writes' => (int) $writes, 'not_converged_in_10s' => $lost, 'p50_ms' => $pct(0.5), 'p99_ms' => $pct(0.99), 'max_ms' => $times ? end($times) : null]), "\n";
