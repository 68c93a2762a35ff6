<?php

namespace Askr\Octane\Commands;

use Askr\Octane\Server\AskrBinary;
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

        $arguments = ServeCommandLine::arguments([
            'binary' => $binary,
            'root' => public_path(),
            'workerScript' => static::workerScript(),
            'host' => $this->getHost(),
            'port' => $this->getPort(),
            'workers' => $this->option('workers'),
            // Recycled inside the worker process (MAX_REQUESTS below): the app boots again without a
            // new process, which costs a fresh .NET runtime and dropped keep-alive connections.
            'maxRequests' => null,
            'adminPort' => $adminPort,
            'logLevel' => $this->option('log-level') ?: config('octane.askr.log_level'),
            'tables' => $tablesFile,
            'respPort' => $this->option('resp-port') ?: config('octane.askr.resp_port') ?: env('ASKR_RESP_PORT'),
            'taskWorkers' => $taskWorkers,
            'cluster' => $cluster = static::clusterConfig(),
            'backgroundWorkers' => $backgroundWorkers,
        ]);

        $this->writeServerStateFile($serverStateFile, $adminPort, $taskWorkers);

        $this->forgetEnvironmentVariables();

        $server = tap(new Process($arguments, base_path(), [
            'APP_ENV' => app()->environment(),
            'APP_BASE_PATH' => base_path(),
            'LARAVEL_OCTANE' => 1,
            'ASKR_TASK_WORKERS' => $taskWorkers,
            'MAX_REQUESTS' => (string) (int) $this->option('max-requests'),
            // The secret reaches askr through its environment, never on its command line (ps).
            'ASKR_CLUSTER_SECRET' => $cluster['secret'] ?? false,
        ], null, null))->start();

        $serverStateFile->writeProcessId($server->getPid());
        $this->server = $server;

        return $this->runServer($server, $inspector, 'askr');
    }

    /**
     * This node's cluster settings (docs/cluster.md of the askr repository): config('octane.askr.cluster.*'),
     * each falling back to its environment variable (ASKR_CLUSTER_PORT, _HOST, _ADVERTISE, _SEEDS, _SECRET).
     *
     * @return array{port: ?string, host: ?string, advertise: ?string, seeds: ?string, secret: ?string}
     */
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

    protected function writeServerStateFile(ServerStateFile $serverStateFile, int $adminPort, int $taskWorkers): void
    {
        $serverStateFile->writeState([
            'appName' => config('app.name', 'Laravel'),
            'host' => $this->getHost(),
            'port' => $this->getPort(),
            'adminHost' => '127.0.0.1',
            'adminPort' => $adminPort,
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
