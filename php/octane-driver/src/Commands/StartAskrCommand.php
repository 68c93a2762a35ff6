<?php

namespace Askr\Octane\Commands;

use Askr\Octane\Server\AskrBinary;
use Askr\Octane\Server\ReleasePaths;
use Askr\Octane\Background\BackgroundWorkerDeclarations;
use Askr\Octane\Server\ServeCommandLine;
use Askr\Octane\Server\ServerProcessInspector;
use Askr\Octane\Server\ServerStateFile;
use Askr\Octane\Tables\TableDeclarations;
use InvalidArgumentException;
use Laravel\Octane\Commands\Command;
use Laravel\Octane\Commands\Concerns\InteractsWithEnvironmentVariables;
use Laravel\Octane\Commands\Concerns\InteractsWithServers;
use RuntimeException;
use Symfony\Component\Console\Command\SignalableCommandInterface;
use Symfony\Component\Process\Process;

/**
 * octane:askr (hidden; reached through `octane:start --server=askr`): runs `askr serve`
 * on the application, writes Octane's server state file, and renders askr's JSON log
 * lines as Octane's console output, as Octane's own per-server start commands do.
 */
class StartAskrCommand extends Command implements SignalableCommandInterface
{
    use InteractsWithEnvironmentVariables;
    use InteractsWithServers;

    public $signature = 'octane:askr
                    {--host=127.0.0.1 : The IP address the server should bind to}
                    {--port= : The port the server should be available on}
                    {--workers=auto : The number of workers that should be available to handle requests}
                    {--task-workers=auto : The number of task workers that should be available to handle tasks (auto: one per core; 0: none)}
                    {--max-requests=500 : The number of requests a worker handles before it is recycled}
                    {--admin-port= : The port of askr\'s admin endpoint on 127.0.0.1 [default: a free port]}
                    {--log-level= : Log messages at or above the specified log level}
                    {--resp-port= : The port of askr\'s RESP (Redis protocol) endpoint over the tables on 127.0.0.1 [default: none]}
                    {--https : Serve HTTPS (HTTP/1.1 and HTTP/2) on --port; certificate: config(\'octane.askr.tls\'), else a development one}
                    {--http-redirect : Redirect plain HTTP (config(\'octane.askr.tls.http_port\'), default 80) to HTTPS}
                    {--watch : Automatically reload the server when the application is modified}
                    {--poll : Use file system polling while watching in order to watch files over a network}';

    public $description = 'Start the Octane askr server';

    protected $hidden = true;

    /** The tail of askr's output that did not end with a newline yet, per stream. */
    protected array $pendingOutput = ['out' => '', 'err' => ''];

    /**
     * Seconds stopServer() waits for askr's graceful stop: more than askr's own grace period
     * (the request timeout + 15 s, 75 s with the default --request-timeout of 60).
     */
    public const STOP_WAIT_SECONDS = 90;

    /** askr's supervisor process while this command runs it. */
    protected ?Process $server = null;

    public function handle(ServerProcessInspector $inspector, ServerStateFile $serverStateFile)
    {
        try {
            $binary = static::binary()->findOrFail();
        } catch (RuntimeException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        if ($inspector->serverIsRunning()) {
            $this->error('askr server is already running.');

            return 1;
        }

        $adminPort = (int) ($this->option('admin-port') ?: config('octane.askr.admin_port') ?: static::freePort());

        try {
            $tablesFile = $this->writeTablesFile();
        } catch (InvalidArgumentException|RuntimeException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        try {
            $backgroundWorkers = BackgroundWorkerDeclarations::arguments(config('octane.askr.background_workers'), static::backgroundScript());
        } catch (InvalidArgumentException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        try {
            $taskWorkers = ServeCommandLine::taskWorkers($this->option('task-workers'));
        } catch (InvalidArgumentException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        // Through the release link, if the app is deployed as current -> releases/N (docs/lifecycle.md).
        $basePath = static::basePath();

        try {
            $arguments = ServeCommandLine::arguments([
                'binary' => $binary,
                'root' => ReleasePaths::map(public_path(), base_path(), $basePath),
                'workerScript' => ReleasePaths::map(static::workerScript(), base_path(), $basePath),
                'host' => $this->getHost(),
                'port' => $this->getPort(),
                'workers' => $this->option('workers'),
                // Autoscaling between the two (docs/lifecycle.md); Octane's --workers=auto keeps its meaning otherwise.
                'workersMin' => config('octane.askr.workers_min'),
                'workersMax' => config('octane.askr.workers_max'),
                'workersSpare' => config('octane.askr.workers_spare'),
                // Recycled inside the worker process (MAX_REQUESTS below): the app boots again without a
                // new process, which costs a fresh .NET runtime and dropped keep-alive connections.
                'maxRequests' => null,
                'adminPort' => $adminPort,
                'logLevel' => $logLevel = $this->option('log-level') ?: config('octane.askr.log_level'),
                'tables' => $tablesFile,
                'respPort' => $this->option('resp-port') ?: config('octane.askr.resp_port') ?: env('ASKR_RESP_PORT'),
                'taskWorkers' => $taskWorkers,
                'cluster' => $cluster = static::clusterConfig(),
                'accessLog' => ServeCommandLine::showsRequestLines(app()->environment(), $logLevel),
                'responseCache' => config('octane.askr.response_cache') ?: env('ASKR_RESPONSE_CACHE'),
                'responseCacheIgnoreCookies' => config('octane.askr.response_cache_ignore_cookies'),
                'pusherApps' => static::pusherApps(),
                'pusherMaxConnections' => config('octane.askr.pusher_max_connections'),
                'pusherWebhooks' => config('octane.askr.pusher_webhooks'),
                'tls' => static::tlsConfig((bool) $this->option('https'), (bool) $this->option('http-redirect')),
                'recordErrors' => static::recordErrorsConfig(),
                'backgroundWorkers' => $backgroundWorkers,
            ]);
        } catch (InvalidArgumentException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        // The admin endpoint's POST calls need it: octane:reload and octane:stop read it from the
        // state file; askr gets it through its environment, never on its command line (ps).
        $adminToken = bin2hex(random_bytes(32));

        $this->writeServerStateFile($serverStateFile, $adminPort, $taskWorkers, $adminToken);

        $this->forgetEnvironmentVariables();

        $server = tap(new Process($arguments, base_path(), [
            'APP_ENV' => app()->environment(),
            'APP_BASE_PATH' => $basePath,
            'LARAVEL_OCTANE' => 1,
            'ASKR_TASK_WORKERS' => $taskWorkers,
            'MAX_REQUESTS' => (string) (int) $this->option('max-requests'),
            // The secret reaches askr through its environment, never on its command line (ps).
            'ASKR_CLUSTER_SECRET' => $cluster['secret'] ?? false,
            'ASKR_ADMIN_TOKEN' => $adminToken,
        ], null, null))->start();

        $serverStateFile->writeProcessId($server->getPid());
        $this->server = $server;

        return $this->runServer($server, $inspector, 'askr');
    }

    /**
     * The Pusher apps askr serves (docs/websockets.md of the askr repository): config('octane.askr.pusher')
     * (a list of ['app_id', 'key', 'secret']), then every broadcasting connection whose driver is
     * "askr" or "pusher" (config('broadcasting.connections')), so a standard app needs nothing
     * beyond pointing its pusher connection at itself. One entry per app id, the first one wins.
     *
     * @return list<array{app_id: string|int, key: string, secret: string}>
     */
    public static function pusherApps(): array
    {
        $candidates = array_values((array) config('octane.askr.pusher', []));

        foreach ((array) config('broadcasting.connections', []) as $connection) {
            if (in_array($connection['driver'] ?? null, ['askr', 'pusher'], true) && ! empty($connection['key']) && ! empty($connection['secret']) && ! empty($connection['app_id'])) {
                $candidates[] = ['app_id' => $connection['app_id'], 'key' => $connection['key'], 'secret' => $connection['secret']];
            }
        }

        $apps = [];

        foreach ($candidates as $app) {
            $apps[(string) ($app['app_id'] ?? '')] ??= $app;
        }

        return array_values($apps);
    }

    /**
     * This node's cluster settings (docs/cluster.md of the askr repository): config('octane.askr.cluster.*'),
     * each falling back to its environment variable (ASKR_CLUSTER_PORT, _HOST, _ADVERTISE, _SEEDS, _SECRET).
     *
     * @return array{port: ?string, host: ?string, advertise: ?string, seeds: ?string, secret: ?string}
     */
    /**
     * Recording of 5xx requests (docs/lifecycle.md): `octane.askr.record_errors` (a directory, or
     * env ASKR_RECORD_ERRORS; relative to the app's base path), `record_sensitive` (bool),
     * `record_redact` (list of header and body field names), `record_max_files`, `record_max_bytes`.
     *
     * @return array{directory: ?string, sensitive: bool, redact: ?array, max_files: mixed, max_bytes: mixed}
     */
    public static function recordErrorsConfig(): array
    {
        return [
            'directory' => config('octane.askr.record_errors') ?: (getenv('ASKR_RECORD_ERRORS') ?: null),
            'sensitive' => (bool) config('octane.askr.record_sensitive', false),
            'redact' => config('octane.askr.record_redact'),
            'max_files' => config('octane.askr.record_max_files'),
            'max_bytes' => config('octane.askr.record_max_bytes'),
        ];
    }

    /** The app's base path through its release link, if any (ReleasePaths): `octane.askr.base_path` or env ASKR_APP_PATH override it. */
    public static function basePath(): string
    {
        return ReleasePaths::basePath(base_path(), $_SERVER, config('octane.askr.base_path') ?: (getenv('ASKR_APP_PATH') ?: null));
    }

    public static function clusterConfig(): array
    {
        $config = (array) config('octane.askr.cluster', []);
        $value = static fn (string $key, string $env) => ($config[$key] ?? null) ?: (getenv($env) ?: null);

        return [
            'port' => $value('port', 'ASKR_CLUSTER_PORT'),
            'host' => $value('host', 'ASKR_CLUSTER_HOST'),
            'advertise' => $value('advertise', 'ASKR_CLUSTER_ADVERTISE'),
            'seeds' => $value('seeds', 'ASKR_CLUSTER_SEEDS'),
            'secret' => $value('secret', 'ASKR_CLUSTER_SECRET'),
        ];
    }

    /**
     * The TLS settings of `octane:start --https` (docs/tls.md of the askr repository):
     * config('octane.askr.tls.*'), each falling back to its environment variable (ASKR_TLS_CERTIFICATE,
     * ASKR_TLS_KEY, ASKR_HTTP_PORT, ASKR_HSTS_MAX_AGE). Without a certificate askr serves its
     * self-signed development one (--https-dev), as FrankenPHP makes one for local names.
     *
     * @return array{https: bool, httpRedirect: bool, certificate: ?string, key: ?string, httpPort: ?string, hstsMaxAge: ?string}
     */
    public static function tlsConfig(bool $https, bool $httpRedirect): array
    {
        $config = (array) config('octane.askr.tls', []);
        $value = static fn (string $key, string $env) => ($config[$key] ?? null) ?: (getenv($env) ?: null);

        return [
            'https' => $https,
            'httpRedirect' => $httpRedirect,
            'certificate' => $value('certificate', 'ASKR_TLS_CERTIFICATE'),
            'key' => $value('key', 'ASKR_TLS_KEY'),
            'httpPort' => $value('http_port', 'ASKR_HTTP_PORT'),
            'hstsMaxAge' => $value('hsts_max_age', 'ASKR_HSTS_MAX_AGE'),
        ];
    }

    /**
     * Writes the tables JSON of `askr serve --tables` from config('octane.tables') and
     * config('octane.cache') (docs/tables-php.md); its path, or null when there is nothing to declare.
     *
     * @throws InvalidArgumentException for a table declaration askr would refuse.
     */
    protected function writeTablesFile(): ?string
    {
        $declarations = TableDeclarations::fromConfig(config('octane.tables'), config('octane.cache'));

        if ($declarations->tableNames() === [] && ! $declarations->hasCacheTable()) {
            return null;
        }

        $declarations->write($path = static::tablesFilePath());

        return $path;
    }

    /**
     * Where the tables file is written: config('octane.askr.tables_file'), else storage/logs/askr-tables.json (next to Octane's state file).
     */
    public static function tablesFilePath(): string
    {
        return config('octane.askr.tables_file') ?: storage_path('logs/askr-tables.json');
    }

    /**
     * The binary finder with this application's configuration.
     */
    public static function binary(): AskrBinary
    {
        $environment = getenv('ASKR_BINARY');

        return new AskrBinary(
            config('octane.askr.binary'),
            $environment === false ? ($_SERVER['ASKR_BINARY'] ?? $_ENV['ASKR_BINARY'] ?? null) : $environment,
            base_path(),
        );
    }

    /**
     * The worker script askr runs in each worker: config('octane.askr.worker_script'), else this package's.
     */
    public static function workerScript(): string
    {
        return config('octane.askr.worker_script') ?: realpath(__DIR__.'/../../bin/askr-worker.php');
    }

    /**
     * The script askr runs for a background worker that is an Artisan command: this package's.
     */
    public static function backgroundScript(): string
    {
        return realpath(__DIR__.'/../../bin/askr-background.php');
    }

    /**
     * A TCP port that is free on 127.0.0.1 right now (the kernel's choice).
     */
    public static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0', $errorCode, $errorMessage);

        if ($socket === false) {
            throw new RuntimeException("Unable to find a free port for askr's admin endpoint: {$errorMessage}");
        }

        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);

        return $port;
    }

    protected function writeServerStateFile(ServerStateFile $serverStateFile, int $adminPort, int $taskWorkers, string $adminToken): void
    {
        $serverStateFile->writeState([
            'appName' => config('app.name', 'Laravel'),
            'host' => $this->getHost(),
            'port' => $this->getPort(),
            'adminHost' => '127.0.0.1',
            'adminPort' => $adminPort,
            'adminToken' => $adminToken,
            'workers' => $this->option('workers'),
            'taskWorkers' => $taskWorkers,
            // Recycled inside the worker process (MAX_REQUESTS below): the app boots again without a
            // new process, which costs a fresh .NET runtime and dropped keep-alive connections.
            'maxRequests' => null,
            'octaneConfig' => config('octane'),
        ]);
    }

    /**
     * Render askr's output: request lines as Octane's request log, worker exceptions as
     * Octane renders them, log lines by level, anything else as it is.
     *
     * @param  \Symfony\Component\Process\Process  $server
     */
    protected function writeServerOutput($server)
    {
        [$output, $errorOutput] = $this->getServerOutput($server);

        foreach (['out' => $output, 'err' => $errorOutput] as $stream => $chunk) {
            $lines = explode("\n", $this->pendingOutput[$stream].$chunk);
            $this->pendingOutput[$stream] = $server->isRunning() ? array_pop($lines) : '';

            foreach ($lines as $line) {
                if (trim($line) !== '') {
                    $this->writeServerLine(rtrim($line, "\r"), $stream === 'err');
                }
            }
        }
    }

    protected function writeServerLine(string $line, bool $fromErrorStream): void
    {
        $entry = json_decode($line, true);

        if (! is_array($entry)) {
            $fromErrorStream ? $this->error($line) : $this->info($line);

            return;
        }

        if (($entry['type'] ?? null) === 'log') {
            $message = (string) ($entry['message'] ?? '');

            // A worker's own JSON line (Octane's Stream: throwable, shutdown), wrapped by askr.
            if (is_array($inner = json_decode($message, true)) && isset($inner['type'])) {
                $this->handleStream($inner);

                return;
            }

            match ($entry['level'] ?? 'info') {
                'error', 'critical', 'fatal' => $this->error($message),
                'warning', 'warn' => $this->warn($message),
                'debug' => $this->info($message, 'v'),
                default => $this->info($message),
            };

            return;
        }

        if (($entry['type'] ?? null) === 'request') {
            $entry['statusCode'] ??= 0;
            $entry['method'] ??= '';
            $entry['url'] ??= '/';
            $entry['duration'] ??= 0;
        }

        $this->handleStream($entry);
    }

    /**
     * Asks askr for its graceful stop (in-flight and queued requests finish) and waits until it
     * has exited, showing its last lines, for at most STOP_WAIT_SECONDS.
     *
     * Waiting matters on Octane 2.x: on SIGINT/SIGTERM octane:start's handleSignal() exits right
     * after its stopServer() (which calls this one for askr, see StartCommand::stopServer()), and
     * Symfony's Process, destroyed at exit, kills a child that is still running (SIGKILL at once):
     * askr's in-flight requests were cut and its shared-memory file was left in /dev/shm.
     * Octane 1.5 kept running its loop until the server had stopped.
     */
    public function stopServer()
    {
        $this->callSilent('octane:stop', [
            '--server' => 'askr',
        ]);

        $deadline = microtime(true) + static::STOP_WAIT_SECONDS;

        while ($this->server?->isRunning() && microtime(true) < $deadline) {
            $this->writeServerOutput($this->server);
            usleep(50_000);
        }

        if ($this->server !== null && ! $this->server->isRunning()) {
            $this->writeServerOutput($this->server);
        }
    }
}
