<?php

namespace Askr\Octane\Tests\Support;

use PHPUnit\Framework\SkippedTestError;
use RuntimeException;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

/**
 * Runs the example app (examples/laravel) under `php artisan octane:start --server=askr`
 * for the end-to-end tests, on free loopback ports.
 */
final class AskrServer
{
    public int $port;

    public int $adminPort;

    public ?int $supervisorPid = null;

    /** Environment the server was started with (and octane:stop needs). */
    public array $env = [];

    private function __construct(public Process $process)
    {
    }

    public static function repository(): string
    {
        return dirname(__DIR__, 2);
    }

    public static function appPath(): string
    {
        return self::repository().'/examples/laravel';
    }

    /**
     * ASKR_BINARY, else build/askr/askr of this repository (built by scripts/setup.sh).
     */
    public static function binary(): string
    {
        return getenv('ASKR_BINARY') ?: self::repository().'/build/askr/askr';
    }

    /**
     * The environment of a process that runs the example app: ASKR_BINARY, and OCTANE_PATH, which
     * makes the app's generated vendor/autoload.php load the Octane source of this PHPUnit run
     * (examples/laravel/setup.sh); $env comes first.
     *
     * @param  array<string, string|false>  $env
     * @return array<string, string|false>
     */
    public static function environment(array $env = []): array
    {
        return $env + ['ASKR_BINARY' => self::binary()] + (ASKR_TESTS_OCTANE_PATH !== null ? ['OCTANE_PATH' => ASKR_TESTS_OCTANE_PATH] : []);
    }

    /**
     * Skips the calling test, saying what is missing, unless Octane, the example app and askr are all there.
     */
    public static function skipUnlessRunnable(): void
    {
        if (ASKR_TESTS_OCTANE_PATH === null) {
            throw new SkippedTestError('laravel/octane was not found: export v1.5.6 to ~/.cache/askr/octane-1.5.6 or set OCTANE_PATH (see tests-php/bootstrap.php).');
        }

        if (! is_file(self::binary()) || ! is_executable(self::binary())) {
            throw new SkippedTestError('The askr binary was not found at '.self::binary().': run scripts/setup.sh, or set ASKR_BINARY to an askr executable.');
        }

        self::ensureAppIsSetUp();
    }

    /**
     * Runs examples/laravel/setup.sh once when the example app has no vendor/autoload.php yet.
     */
    public static function ensureAppIsSetUp(): void
    {
        if (is_file(self::appPath().'/vendor/autoload.php') && is_file(self::appPath().'/.env')) {
            return;
        }

        $setup = new Process(['sh', self::appPath().'/setup.sh'], self::appPath(), ['OCTANE_PATH' => ASKR_TESTS_OCTANE_PATH], null, 120);
        $setup->run();

        if (! $setup->isSuccessful()) {
            throw new RuntimeException("examples/laravel/setup.sh failed:\n".$setup->getOutput().$setup->getErrorOutput());
        }
    }

    /**
     * Starts the server and returns once it answers GET /json (deadline: 60 s).
     *
     * @param  list<string>  $options  More octane:start options.
     */
    public static function start(int $workers = 2, int $maxRequests = 500, array $options = [], array $env = []): self
    {
        self::skipUnlessRunnable();

        $port = self::freePort();
        $adminPort = self::freePort();

        $process = new Process(array_merge([
            (new PhpExecutableFinder)->find(), 'artisan', 'octane:start',
            '--server=askr',
            '--host=127.0.0.1',
            "--port={$port}",
            "--admin-port={$adminPort}",
            "--workers={$workers}",
            "--max-requests={$maxRequests}",
        ], $options), self::appPath(), self::environment($env), null, null);

        $process->start();

        $server = new self($process);
        $server->env = $env;
        $server->port = $port;
        $server->adminPort = $adminPort;

        $server->waitUntil(function () use ($server) {
            try {
                return Http::get($server->url('/json'), [])['status'] === 200;
            } catch (RuntimeException) {
                return false;
            }
        }, 60, 'the server to answer GET /json');

        $state = json_decode((string) @file_get_contents($env['OCTANE_STATE_FILE'] ?? self::appPath().'/storage/logs/octane-server-state.json'), true);
        $server->supervisorPid = $state['masterProcessId'] ?? null;

        return $server;
    }

    public function url(string $path): string
    {
        return "http://127.0.0.1:{$this->port}{$path}";
    }

    /**
     * Runs `php artisan <arguments>` in the example app and returns the finished process.
     */
    public static function artisan(string ...$arguments): Process
    {
        return self::artisanWith([], ...$arguments);
    }

    /** As artisan(), with more environment variables (e.g. OCTANE_STATE_FILE of one of several servers). */
    public static function artisanWith(array $env, string ...$arguments): Process
    {
        $process = new Process(
            array_merge([(new PhpExecutableFinder)->find(), 'artisan'], $arguments),
            self::appPath(),
            self::environment($env),
            null,
            60
        );
        $process->run();

        return $process;
    }

    /**
     * Polls $condition every 20 ms until it is true; fails after $seconds, with the server's output.
     */
    public function waitUntil(callable $condition, float $seconds, string $what): void
    {
        $deadline = microtime(true) + $seconds;

        while (! $condition()) {
            if (! $this->process->isRunning()) {
                throw new RuntimeException("The server exited (code {$this->process->getExitCode()}) while waiting for {$what}:\n".$this->output());
            }

            if (microtime(true) > $deadline) {
                throw new RuntimeException("Timed out after {$seconds} s waiting for {$what}. Server output:\n".$this->output());
            }

            usleep(20_000);
        }
    }

    public function output(): string
    {
        return $this->process->getOutput().$this->process->getErrorOutput();
    }

    /**
     * Stops the server with octane:stop, then makes sure nothing is left running.
     */
    public function stop(): void
    {
        if ($this->process->isRunning()) {
            self::artisanWith($this->env, 'octane:stop', '--server=askr');

            $deadline = microtime(true) + 20;

            while ($this->process->isRunning() && microtime(true) < $deadline) {
                usleep(20_000);
            }
        }

        if ($this->process->isRunning()) {
            $this->process->stop(5, SIGTERM);
        }

        // Only the askr supervisor this server started: the pid must still be an askr process.
        if ($this->supervisorPid && str_contains((string) @file_get_contents("/proc/{$this->supervisorPid}/cmdline"), 'askr')) {
            posix_kill($this->supervisorPid, SIGKILL);
        }
    }

    public static function freePort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($socket, false), ':'), 1);
        fclose($socket);

        return $port;
    }
}
