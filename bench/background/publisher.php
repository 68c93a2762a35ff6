<?php
// Background workers of bench/background/run.sh, by name: "static" publishes bench_snapshot() once;
// "ticker" publishes a sequence number and its hrtime(true) (CLOCK_MONOTONIC, the same clock in
// every process of the machine) every 20 ms, padded to about 1 KB, until it must stop.
use function Ephpm\Octane\{set_vars, should_stop, get_worker_handle};

require __DIR__.'/snapshot.php';

$handle = get_worker_handle();
$wait = static function (int $us) use ($handle): void {
    $read = [$handle];
    $write = $except = null;
    @stream_select($read, $write, $except, 0, $us);
};

if ($_SERVER['argv'][1] === 'static') {
    set_vars(bench_snapshot());
    while (! should_stop()) {
        $wait(1_000_000);
    }
    exit(0);
}

$pad = str_repeat('x', 1000);
for ($seq = 1; ! should_stop(); $seq++) {
    set_vars(['seq' => $seq, 't' => hrtime(true), 'pad' => $pad]);
    $wait(20_000);
}
