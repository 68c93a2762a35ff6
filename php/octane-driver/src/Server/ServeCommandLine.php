<?php

namespace Askr\Octane\Server;

use InvalidArgumentException;

/**
 * Maps octane:start's options onto an `askr serve` command line (docs/runtime.md of
 * the askr repository). Logs are always JSON: the start command renders them as
 * Octane's request log.
 */
class ServeCommandLine
{
    /** Octane / RoadRunner level names => askr's. */
    protected const LOG_LEVELS = [
        'debug' => 'debug',
        'info' => 'info',
        'warn' => 'warning',
        'warning' => 'warning',
        'error' => 'error',
    ];

    /**
     * @param  array{binary: string, root: string, workerScript: string, host: string, port: int|string,
     *     workers?: int|string|null, maxRequests?: int|string|null, adminPort: int|string, logLevel?: string|null,
     *     tables?: string|null, respPort?: int|string|null, taskWorkers?: int|string|null,
     *     cluster?: array{port?: int|string|null, host?: string|null, advertise?: string|null, seeds?: string|null},
     *     backgroundWorkers?: list<string>}  $options
     *        `workers` "auto" or empty leaves the count to askr (one per core); `maxRequests` 0 never recycles;
     *        `tables` is the tables JSON file (docs/tables-php.md); `respPort` the RESP endpoint's port (empty: none);
     *        `taskWorkers` the task worker count (docs/tasks.md): a number (0: none), "auto" / empty: one per core;
     *        `cluster` this node's cluster endpoint and seeds (docs/cluster.md; empty port: not clustered). The
     *        cluster secret is not a command-line argument: askr reads it from ASKR_CLUSTER_SECRET.
     *        `backgroundWorkers` the --background-worker values (BackgroundWorkerDeclarations, docs/background-workers.md).
     * @return list<string>
     *
     * @throws InvalidArgumentException for a value askr would reject.
     */
    public static function arguments(array $options): array
    {
        $arguments = [
            $options['binary'], 'serve',
            '--root', $options['root'],
            '--worker-script', $options['workerScript'],
            '--host', (string) $options['host'],
            '--port', (string) static::positive('port', $options['port']),
        ];

        $workers = $options['workers'] ?? 'auto';

        if ($workers !== 'auto' && $workers !== '' && $workers !== null) {
            array_push($arguments, '--workers', (string) static::positive('workers', $workers));
        }

        if (($maxRequests = $options['maxRequests'] ?? null) !== null && $maxRequests !== '') {
            if (! is_numeric($maxRequests) || (int) $maxRequests < 0) {
                throw new InvalidArgumentException("--max-requests must be 0 (never recycle) or a positive number, [{$maxRequests}] given.");
            }

            array_push($arguments, '--max-requests', (string) (int) $maxRequests);
        }

        array_push($arguments, '--admin-port', (string) static::positive('admin-port', $options['adminPort']));
        array_push($arguments, '--log-format', 'json');

        if (($level = $options['logLevel'] ?? null) !== null && $level !== '') {
            $askrLevel = static::LOG_LEVELS[strtolower($level)] ?? throw new InvalidArgumentException(
                "--log-level must be one of debug, info, warning, error, [{$level}] given."
            );

            array_push($arguments, '--log-level', $askrLevel);
        }

        if (($tables = $options['tables'] ?? null) !== null && $tables !== '') {
            array_push($arguments, '--tables', $tables);
        }

        if (($respPort = $options['respPort'] ?? null) !== null && $respPort !== '') {
            array_push($arguments, '--resp-port', (string) static::positive('resp-port', $respPort));
        }

        if (array_key_exists('taskWorkers', $options)) {
            array_push($arguments, '--task-workers', (string) static::taskWorkers($options['taskWorkers']));
        }

        $cluster = $options['cluster'] ?? [];

        if (($clusterPort = $cluster['port'] ?? null) !== null && $clusterPort !== '') {
            array_push($arguments, '--cluster-port', (string) static::positive('cluster-port', $clusterPort));

            foreach (['host' => '--cluster-host', 'advertise' => '--cluster-advertise', 'seeds' => '--seeds'] as $key => $flag) {
                if (($value = $cluster[$key] ?? null) !== null && $value !== '') {
                    array_push($arguments, $flag, (string) $value);
                }
            }
        }

        foreach ($options['backgroundWorkers'] ?? [] as $backgroundWorker) {
            array_push($arguments, '--background-worker', $backgroundWorker);
        }

        return $arguments;
    }

    /**
     * The number of task workers for Octane's --task-workers: "auto" (Octane's default) or empty
     * is one per core, as Octane's Swoole server counts them; 0 runs none.
     *
     * @param  (callable(): int)|null  $cores
     *
     * @throws InvalidArgumentException for anything else than "auto" or a number >= 0.
     */
    public static function taskWorkers(int|string|null $value, ?callable $cores = null): int
    {
        if ($value === null || $value === '' || $value === 'auto') {
            return max(1, ($cores ?? [static::class, 'cores'])());
        }

        if (filter_var($value, FILTER_VALIDATE_INT, ['options' => ['min_range' => 0]]) === false) {
            throw new InvalidArgumentException("--task-workers must be auto, 0 (none) or a positive number, [{$value}] given.");
        }

        return (int) $value;
    }

    /**
     * The CPUs this process may run on (nproc), else the processors in /proc/cpuinfo, else 1.
     */
    public static function cores(): int
    {
        if (function_exists('shell_exec') && is_numeric($nproc = trim((string) @shell_exec('nproc 2>/dev/null')))) {
            return max(1, (int) $nproc);
        }

        $cpuinfo = @file_get_contents('/proc/cpuinfo');

        return $cpuinfo ? max(1, preg_match_all('/^processor\s*:/m', $cpuinfo)) : 1;
    }

    protected static function positive(string $option, int|string $value): int
    {
        if (filter_var($value, FILTER_VALIDATE_INT, ['options' => ['min_range' => 1]]) === false) {
            throw new InvalidArgumentException("--{$option} must be a positive number, [{$value}] given.");
        }

        return (int) $value;
    }
}
