<?php

/*
 * Worker script for bench/tables/run.sh, run by `askr serve --tables tables.json --workers 1`.
 *
 * GET /ping answers "pong". GET /run?n=N&keys=K&rounds=R measures, inside this askr worker,
 * the operations per second of
 *   get (a whole row) / set / incr / getcol (one int column) through the driver's table class (Askr\Octane\Tables\Table, what
 *     Octane::table() returns), through the raw natives (Ephpm\Octane\table_*), and
 *   apcu_fetch / apcu_store / apcu_inc over the same keys and values (getcol: apcu_fetch of an int entry),
 * each op N times over K keys, R rounds interleaved (so machine noise hits every variant
 * alike), and answers JSON with every round and the median per variant. Rates are per CPU
 * second of this process (getrusage), so that other load on a shared machine does not count;
 * wall-clock rates are reported alongside.
 *
 * Environment: OCTANE_PATH (laravel/octane source, default ~/.cache/askr/octane-1.5.6).
 */

use Askr\Octane\Tables\Table;

use function Ephpm\Octane\send_response;
use function Ephpm\Octane\table_get;
use function Ephpm\Octane\table_incr;
use function Ephpm\Octane\table_open;
use function Ephpm\Octane\table_set;
use function Ephpm\Octane\take_request;

$repository = dirname(__DIR__, 2);
$octane = getenv('OCTANE_PATH') ?: (getenv('HOME') ?: '/root').'/.cache/askr/octane-1.5.6';

// The table class uses Octane's EnsuresColumnSizes (and Illuminate\Support\Arr through it).
$illuminate = stream_resolve_include_path('Illuminate/autoload.php') ?: '/usr/share/php/Illuminate/autoload.php';
if (is_file($illuminate)) {
    require_once $illuminate;
}

spl_autoload_register(static function (string $class) use ($repository, $octane): void {
    foreach (['Askr\\Octane\\' => $repository.'/php/octane-driver/src/', 'Laravel\\Octane\\' => $octane.'/src/'] as $prefix => $directory) {
        if (str_starts_with($class, $prefix) && is_file($file = $directory.str_replace('\\', '/', substr($class, strlen($prefix))).'.php')) {
            require $file;

            return;
        }
    }
});

function bench_reply(int $status, mixed $data): void
{
    send_response($status, ['Content-Type' => 'application/json'], json_encode($data, JSON_PRETTY_PRINT | JSON_PRESERVE_ZERO_FRACTION));
}

/** Wall-clock ops/s of every measurement of the current run, by variant (bench_round() fills it). */
$GLOBALS['bench_wall'] = [];

/** CPU seconds (user + system) this process has used so far. */
function bench_cpu_seconds(): float
{
    $usage = getrusage();

    return $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6 + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6;
}

/**
 * Runs $loop (which does $n operations) and returns operations per CPU second of this process.
 * On a shared machine the wall clock also counts the time other processes had the CPU; the
 * process's CPU time does not (askr's other threads are idle while the loop runs). The
 * wall-clock rate is recorded too.
 */
function bench_measure(string $variant, int $n, Closure $loop): float
{
    $cpu = bench_cpu_seconds();
    $start = hrtime(true);
    $loop();
    $wall = (hrtime(true) - $start) / 1e9;
    $cpu = bench_cpu_seconds() - $cpu;

    $GLOBALS['bench_wall'][$variant][] = $n / $wall;

    return $n / max($cpu, 1e-6);
}

/**
 * @param  list<string>  $keys
 * @return array<string, float> variant => ops/s
 */
function bench_round(Table $table, int $handle, array $keys, int $n): array
{
    $k = count($keys);
    $row = ['s' => 'hello world, a value of some 40 bytes....', 'n' => 12345, 'f' => 1.5];
    $apcuRow = $row;
    $result = [];

    // Writes first, so that reads find every key.
    $result['set.table'] = bench_measure('set.table', $n, function () use ($table, $keys, $k, $n, $row) {
        for ($i = 0; $i < $n; $i++) {
            $table->set($keys[$i % $k], $row);
        }
    });
    $result['set.natives'] = bench_measure('set.natives', $n, function () use ($handle, $keys, $k, $n, $row) {
        for ($i = 0; $i < $n; $i++) {
            table_set($handle, $keys[$i % $k], $row);
        }
    });
    $result['set.apcu'] = bench_measure('set.apcu', $n, function () use ($keys, $k, $n, $apcuRow) {
        for ($i = 0; $i < $n; $i++) {
            apcu_store($keys[$i % $k], $apcuRow);
        }
    });

    $result['get.table'] = bench_measure('get.table', $n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->get($keys[$i % $k]);
        }
    });
    $result['get.natives'] = bench_measure('get.natives', $n, function () use ($handle, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            table_get($handle, $keys[$i % $k]);
        }
    });
    $result['get.apcu'] = bench_measure('get.apcu', $n, function () use ($keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            apcu_fetch($keys[$i % $k]);
        }
    });

    $result['incr.table'] = bench_measure('incr.table', $n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->incr($keys[$i % $k], 'n');
        }
    });
    $result['incr.natives'] = bench_measure('incr.natives', $n, function () use ($handle, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            table_incr($handle, $keys[$i % $k], 'n');
        }
    });
    // apcu_inc needs an int entry: its own keys, created before the loop.
    $counters = array_map(fn ($key) => 'c:'.$key, $keys);
    foreach ($counters as $counter) {
        apcu_store($counter, 0);
    }
    $result['incr.apcu'] = bench_measure('incr.apcu', $n, function () use ($counters, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            apcu_inc($counters[$i % $k]);
        }
    });

    // One int value: a column of the row, against an int entry (the counters above).
    $result['getcol.table'] = bench_measure('getcol.table', $n, function () use ($table, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            $table->get($keys[$i % $k], 'n');
        }
    });
    $result['getcol.natives'] = bench_measure('getcol.natives', $n, function () use ($handle, $keys, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            table_get($handle, $keys[$i % $k], 'n');
        }
    });
    $result['getcol.apcu'] = bench_measure('getcol.apcu', $n, function () use ($counters, $k, $n) {
        for ($i = 0; $i < $n; $i++) {
            apcu_fetch($counters[$i % $k]);
        }
    });

    return $result;
}

function bench_median(array $values): float
{
    sort($values);
    $middle = intdiv(count($values), 2);

    return count($values) % 2 ? $values[$middle] : ($values[$middle - 1] + $values[$middle]) / 2;
}

$table = Table::open('bench');
$handle = table_open('bench')['handle'];

while (($request = take_request()) !== null) {
    $path = parse_url($request['uri'], PHP_URL_PATH);
    parse_str((string) parse_url($request['uri'], PHP_URL_QUERY), $query);

    if ($path === '/ping') {
        send_response(200, ['Content-Type' => 'text/plain'], 'pong');
        continue;
    }

    if ($path !== '/run') {
        bench_reply(404, ['error' => 'GET /run?n=&keys=&rounds=']);
        continue;
    }

    if (! function_exists('apcu_enabled') || ! apcu_enabled()) {
        bench_reply(500, ['error' => 'APCu is not enabled in the askr worker (php8.2-apcu; askr serve --php-ini apc.enable_cli=1)']);
        continue;
    }

    $n = max(1000, (int) ($query['n'] ?? 200000));
    $keyCount = max(1, (int) ($query['keys'] ?? 1000));
    $rounds = max(1, (int) ($query['rounds'] ?? 5));
    $keys = array_map(fn ($i) => 'bench:key:'.$i, range(0, $keyCount - 1));

    apcu_clear_cache();
    bench_round($table, $handle, $keys, min($n, 20000)); // warm-up, not recorded
    $GLOBALS['bench_wall'] = [];

    $all = [];
    for ($r = 0; $r < $rounds; $r++) {
        foreach (bench_round($table, $handle, $keys, $n) as $variant => $opsPerSecond) {
            $all[$variant][] = $opsPerSecond;
        }
    }

    $median = array_map('bench_median', $all);
    $ratios = [];

    foreach (['get', 'set', 'incr', 'getcol'] as $op) {
        $ratios[$op] = [
            'table/apcu' => $median["{$op}.table"] / $median["{$op}.apcu"],
            'natives/apcu' => $median["{$op}.natives"] / $median["{$op}.apcu"],
        ];
    }

    bench_reply(200, [
        'n' => $n,
        'keys' => $keyCount,
        'rounds' => $rounds,
        'php' => PHP_VERSION,
        'sapi' => PHP_SAPI,
        'opcache' => function_exists('opcache_get_status') && (opcache_get_status(false)['opcache_enabled'] ?? false),
        'jit' => (string) ini_get('opcache.jit'),
        'apcu' => phpversion('apcu'),
        'apcu_serializer' => (string) ini_get('apc.serializer'),
        'measure' => 'operations per CPU second of the worker process (getrusage); wall-clock rates alongside',
        'median_ops_per_second' => $median,
        'ratios' => $ratios,
        'median_wall_ops_per_second' => array_map('bench_median', $GLOBALS['bench_wall']),
        'rounds_ops_per_second' => $all,
        'rounds_wall_ops_per_second' => $GLOBALS['bench_wall'],
        'pid' => getmypid(),
    ]);
}
