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
     *     responseCache?: string|null, responseCacheIgnoreCookies?: list<string>|string|null,
     *     cluster?: array{port?: int|string|null, host?: string|null, advertise?: string|null, seeds?: string|null},
     *     accessLog?: bool, pusherApps?: list<array{app_id: string|int, key: string, secret: string}>,
     *     tls?: array{https?: bool, httpRedirect?: bool, certificate?: string|null, key?: string|null, httpPort?: int|string|null, hstsMaxAge?: int|string|null},
     *     backgroundWorkers?: list<string>, workersMin?: int|string|null, workersMax?: int|string|null, workersSpare?: int|string|null,
     *     pusherMaxConnections?: int|string|null, pusherWebhooks?: string|array<int|string, string>|null}  $options
     *        `workers` "auto" or empty leaves the count to askr (one per core); `maxRequests` 0 never recycles;
     *        `tables` is the tables JSON file (docs/tables-php.md); `respPort` the RESP endpoint's port (empty: none);
     *        `taskWorkers` the task worker count (docs/tasks.md): a number (0: none), "auto" / empty: one per core;
     *        `responseCache` the size of askr's response cache ("256M"; empty: off) and
     *        `responseCacheIgnoreCookies` the cookie names that do not bypass it (docs/response-cache.md);
     *        `cluster` this node's cluster endpoint and seeds (docs/cluster.md; empty port: not clustered). The
     *        cluster secret is not a command-line argument: askr reads it from ASKR_CLUSTER_SECRET.
     *        `accessLog` false: askr writes no request lines (`--no-access-log`), see showsRequestLines().
     *        `pusherApps` the Pusher apps askr serves WebSockets and the HTTP API for (docs/websockets.md).
     *        `pusherMaxConnections` (config('octane.askr.pusher_max_connections')) caps each app's connections on
     *        the node (--pusher-max-connections; 0 or empty: no cap); `pusherWebhooks`
     *        (config('octane.askr.pusher_webhooks')) a URL for every app, or a list of "URL" / "ID=URL", or a map of
     *        app id => URL (--pusher-webhook, repeatable).
     *        `tls.https` serves HTTPS on `port` (--https-port) with `tls.certificate`/`tls.key`, else askr's
     *        development certificate; the plain listener is off unless `tls.httpRedirect`, which
     *        redirects `tls.httpPort` (default 80, as Caddy's HTTP->HTTPS redirect) to it; `tls.hstsMaxAge`
     *        sends Strict-Transport-Security (docs/tls.md).
     *        `backgroundWorkers` the --background-worker values (BackgroundWorkerDeclarations, docs/background-workers.md).
     *        `workersMin`/`workersMax` (config('octane.askr.workers_min'/'workers_max')) autoscale the HTTP workers
     *        between the two (--workers-min/--workers-max, docs/lifecycle.md), with `workersSpare` booted spares;
     *        `workers` must then be "auto" or empty.
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
        ];

        $tls = $options['tls'] ?? [];

        if ($tls['https'] ?? false) {
            array_push($arguments, '--https-port', (string) static::positive('port', $options['port']));

            if (($certificate = $tls['certificate'] ?? null) !== null && $certificate !== '') {
                array_push($arguments, '--certificate', $certificate);

                if (($key = $tls['key'] ?? null) !== null && $key !== '') {
                    array_push($arguments, '--key', $key);
                }
            } else {
                $arguments[] = '--https-dev';
            }

            if ($tls['httpRedirect'] ?? false) {
                array_push($arguments, '--port', (string) static::positive('http-port', $tls['httpPort'] ?? 80), '--http-redirect');
            } else {
                $arguments[] = '--no-http';
            }

            if (($hsts = $tls['hstsMaxAge'] ?? null) !== null && $hsts !== '') {
                array_push($arguments, '--hsts-max-age', (string) static::positive('hsts-max-age', $hsts));
            }
        } elseif ($tls['httpRedirect'] ?? false) {
            throw new InvalidArgumentException('--http-redirect redirects plain HTTP to HTTPS: give --https as well.');
        } else {
            array_push($arguments, '--port', (string) static::positive('port', $options['port']));
        }

        $workers = $options['workers'] ?? 'auto';

        $workersMin = $options['workersMin'] ?? null;
        $workersMax = $options['workersMax'] ?? null;

        if (($workersMin !== null && $workersMin !== '') || ($workersMax !== null && $workersMax !== '')) {
            if ($workersMin === null || $workersMin === '' || $workersMax === null || $workersMax === '') {
                throw new InvalidArgumentException("Autoscaling needs both config('octane.askr.workers_min') and config('octane.askr.workers_max').");
            }

            $min = static::positive('workers-min', $workersMin);
            $max = static::positive('workers-max', $workersMax);

            if ($min > $max) {
                throw new InvalidArgumentException("octane.askr.workers_min ({$min}) is more than octane.askr.workers_max ({$max}).");
            }

            if ($workers !== 'auto' && $workers !== '' && $workers !== null) {
                throw new InvalidArgumentException("--workers={$workers} is a fixed count, and octane.askr.workers_min/workers_max autoscale: give --workers=auto or remove the config.");
            }

            array_push($arguments, '--workers-min', (string) $min, '--workers-max', (string) $max);

            if (($spare = $options['workersSpare'] ?? null) !== null && $spare !== '') {
                if (! is_numeric($spare) || (int) $spare < 0) {
                    throw new InvalidArgumentException("octane.askr.workers_spare must be 0 or more, [{$spare}] given.");
                }

                array_push($arguments, '--workers-spare', (string) (int) $spare);
            }
        } elseif ($workers !== 'auto' && $workers !== '' && $workers !== null) {
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

        if (($options['accessLog'] ?? true) === false) {
            $arguments[] = '--no-access-log';
        }

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

        if (($cacheSize = $options['responseCache'] ?? null) !== null && $cacheSize !== '' && $cacheSize !== false) {
            if (! preg_match('/^\d+[KMG]?$/i', (string) $cacheSize)) {
                throw new InvalidArgumentException("config('octane.askr.response_cache') must be a size such as 256M (K, M or G), [{$cacheSize}] given.");
            }

            array_push($arguments, '--response-cache', strtoupper((string) $cacheSize));

            $cookies = $options['responseCacheIgnoreCookies'] ?? null;
            $cookies = is_array($cookies) ? implode(',', $cookies) : (string) $cookies;

            if ($cookies !== '') {
                array_push($arguments, '--response-cache-ignore-cookies', $cookies);
            }
        }

        foreach ($options['pusherApps'] ?? [] as $app) {
            array_push($arguments, '--pusher-app', static::pusherApp($app));
        }

        $maxConnections = $options['pusherMaxConnections'] ?? null;

        if ($maxConnections !== null && $maxConnections !== '') {
            if (filter_var($maxConnections, FILTER_VALIDATE_INT, ['options' => ['min_range' => 0]]) === false) {
                throw new InvalidArgumentException("octane.askr.pusher_max_connections must be a number of connections (0: no cap), [{$maxConnections}] given.");
            }

            if ((int) $maxConnections > 0) {
                array_push($arguments, '--pusher-max-connections', (string) (int) $maxConnections);
            }
        }

        foreach (static::pusherWebhooks($options['pusherWebhooks'] ?? null) as $webhook) {
            array_push($arguments, '--pusher-webhook', $webhook);
        }

        // Record 5xx for replay (docs/lifecycle.md): config('octane.askr.record_errors') and its siblings.
        $record = $options['recordErrors'] ?? [];

        if (($recordDirectory = $record['directory'] ?? null) !== null && $recordDirectory !== '') {
            array_push($arguments, '--record-errors', (string) $recordDirectory);

            if ($record['sensitive'] ?? false) {
                $arguments[] = '--record-sensitive';
            }

            if (($redact = $record['redact'] ?? null) !== null) {
                array_push($arguments, '--record-redact', implode(',', (array) $redact));
            }

            foreach (['max_files' => '--record-max-files', 'max_bytes' => '--record-max-bytes'] as $key => $flag) {
                if (($value = $record[$key] ?? null) !== null && $value !== '') {
                    array_push($arguments, $flag, (string) static::positive(ltrim($flag, '-'), $value));
                }
            }
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
     * Whether octane:start shows a line per request, by Octane's own servers' rules: Swoole's
     * workers stream them only when the app runs in the "local" or "testing" environment
     * (Laravel\Octane\Swoole\Handlers\OnWorkerStart::streamRequestsToConsole); RoadRunner and
     * FrankenPHP log them at info level, which is their level only in "local" unless --log-level
     * asks for info or debug. When this is false the driver runs askr with --no-access-log, so
     * neither askr nor octane:start spends anything on lines nobody sees.
     */
    public static function showsRequestLines(string $environment, ?string $logLevel): bool
    {
        return in_array($environment, ['local', 'testing'], true)
            || in_array(strtolower((string) $logLevel), ['debug', 'info'], true);
    }

    /**
     * The `--pusher-webhook` values (docs/websockets.md, "Webhooks") from config('octane.askr.pusher_webhooks'):
     * a URL (every app), a list of "URL" or "ID=URL", or a map of app id => URL.
     *
     * @param  string|array<int|string, string>|null  $config
     * @return list<string>
     *
     * @throws InvalidArgumentException for a URL that is not http(s), naming it.
     */
    public static function pusherWebhooks(string|array|null $config): array
    {
        if ($config === null || $config === '' || $config === []) {
            return [];
        }

        $values = [];

        $config = (array) $config;
        $list = array_is_list($config); // else a map: app id (numeric ids become int keys) => URL

        foreach ($config as $app => $url) {
            $value = $list ? (string) $url : $app.'='.$url;
            $target = str_contains($value, '=') && ! preg_match('#^https?://#', $value) ? substr($value, strpos($value, '=') + 1) : $value;

            if (! preg_match('#^https?://[^\s]+$#', $target)) {
                throw new InvalidArgumentException("octane.askr.pusher_webhooks: [{$value}] is not an http(s) URL (or ID=URL).");
            }

            $values[] = $value;
        }

        return $values;
    }

    /**
     * One `--pusher-app id:key:secret` value (docs/websockets.md) from a broadcasting connection's
     * `app_id`, `key` and `secret`.
     *
     * @param  array{app_id?: mixed, key?: mixed, secret?: mixed}  $app
     *
     * @throws InvalidArgumentException when one is missing, or the id or key holds a ':'.
     */
    public static function pusherApp(array $app): string
    {
        foreach (['app_id', 'key', 'secret'] as $name) {
            if (! isset($app[$name]) || (string) $app[$name] === '') {
                throw new InvalidArgumentException("A Pusher app for askr needs [{$name}] (config/broadcasting.php or octane.askr.pusher).");
            }
        }

        if (str_contains((string) $app['app_id'], ':') || str_contains((string) $app['key'], ':')) {
            throw new InvalidArgumentException('A Pusher app id or key for askr cannot contain ":".');
        }

        return $app['app_id'].':'.$app['key'].':'.$app['secret'];
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
