<?php

/*
 * Swoole's side of bench/tables/run.sh: the same operations over the same keys and values as
 * worker.php's table class variants, on a Swoole\Table of the same shape (s string:64, n int,
 * f float; the smallest size from keys + 16 up, doubling, that holds every key), in a plain
 * CLI process (run.sh turns opcache on, as in the askr worker):
 *
 *   php -d extension=$SWOOLE_SO bench/tables/swoole.php N KEYS ROUNDS
 *
 * Prints JSON: per variant (get/set/incr/getcol .swoole) every round's operations per CPU second
 * of this process (getrusage) and the wall-clock rates, as worker.php measures them. The first
 * round of min(N, 20000) operations is a warm-up and not recorded.
 */

if (! extension_loaded('swoole')) {
    fwrite(STDERR, "swoole.php: ext-swoole is not loaded (php -d extension=/path/to/swoole.so)\n");
    exit(2);
}

$n = max(1000, (int) ($argv[1] ?? 500000));
$keyCount = max(1, (int) ($argv[2] ?? 1000));
$rounds = max(1, (int) ($argv[3] ?? 1));

// A failed operation (Swoole warns and returns false) must not count as a fast one.
set_error_handler(static function (int $level, string $message): never {
    throw new ErrorException($message, 0, $level);
});

$keys = array_map(fn ($i) => 'bench:key:'.$i, range(0, $keyCount - 1));

// Swoole\Table hashes into size buckets with a 20 % overflow pool, so a table declared with as
// many rows as keys (askr's keys + 16) runs out of room on collisions ("unable to allocate
// memory"). Its size is doubled from keys + 16 until every key fits: the smallest table that
// holds them, as a Swoole user would declare it.
for ($size = $keyCount + 16; ; $size *= 2) {
    $table = new Swoole\Table($size);
    $table->column('s', Swoole\Table::TYPE_STRING, 64);
    $table->column('n', Swoole\Table::TYPE_INT);
    $table->column('f', Swoole\Table::TYPE_FLOAT);
    $table->create();

    try {
        foreach ($keys as $key) {
            $table->set($key, ['n' => 0]);
        }
        break;
    } catch (ErrorException) {
        $table->destroy();
    }
}

function cpu_seconds(): float
{
    $u = getrusage();

    return $u['ru_utime.tv_sec'] + $u['ru_utime.tv_usec'] / 1e6 + $u['ru_stime.tv_sec'] + $u['ru_stime.tv_usec'] / 1e6;
}

/** @return array{0: float, 1: float} ops per CPU second, ops per wall second */
function measure(int $n, Closure $loop): array
{
    $cpu = cpu_seconds();
    $start = hrtime(true);
    $loop();
    $wall = (hrtime(true) - $start) / 1e9;
    $cpu = cpu_seconds() - $cpu;

    return [$n / max($cpu, 1e-6), $n / $wall];
}

/** @return array<string, array{0: float, 1: float}> */
function round_of(Swoole\Table $table, array $keys, int $n): array
{
    $k = count($keys);
    $row = ['s' => 'hello world, a value of some 40 bytes....', 'n' => 12345, 'f' => 1.5];
    $r = [];
    $r['set.swoole'] = measure($n, function () use ($table, $keys, $k, $n, $row) {
        for ($i = 0; $i < $n; $i++) {
            $table->set($keys[$i % $k], $row);
        }
    });
    $r['get.swoole'] = measure($n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->get($keys[$i % $k]);
        }
    });
    $r['incr.swoole'] = measure($n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->incr($keys[$i % $k], 'n');
        }
    });
    $r['getcol.swoole'] = measure($n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->get($keys[$i % $k], 'n');
        }
    });

    return $r;
}

round_of($table, $keys, min($n, 20000)); // warm-up

$cpu = $wall = [];
for ($i = 0; $i < $rounds; $i++) {
    foreach (round_of($table, $keys, $n) as $variant => [$perCpu, $perWall]) {
        $cpu[$variant][] = $perCpu;
        $wall[$variant][] = $perWall;
    }
}

echo json_encode([
    'n' => $n,
    'keys' => $keyCount,
    'php' => PHP_VERSION,
    'swoole' => phpversion('swoole'),
    'swoole_table_size' => $size,
    'opcache' => function_exists('opcache_get_status') && (opcache_get_status(false)['opcache_enabled'] ?? false),
    'rounds_ops_per_second' => $cpu,
    'rounds_wall_ops_per_second' => $wall,
], JSON_PRESERVE_ZERO_FRACTION), "\n";
