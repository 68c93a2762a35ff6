<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\Process;

/**
 * --max-requests recycling, octane:status / octane:reload / octane:stop, and Ctrl+C on octane:start.
 */
class ServerLifecycleTest extends TestCase
{
    private ?AskrServer $server = null;

    protected function tearDown(): void
    {
        $this->server?->stop();
    }

    public function test_a_worker_boots_the_app_again_after_max_requests_without_failing_a_request(): void
    {
        $this->server = AskrServer::start(workers: 1, maxRequests: 5);

        // After --max-requests (plus up to 20 % jitter) the worker script leaves its loop and askr
        // runs it again in the same process: a fresh application boot. Keep asking until two
        // such boots happened, and let no request fail meanwhile.
        $boots = [];
        $pids = [];
        $requests = 0;

        $this->server->waitUntil(function () use (&$boots, &$pids, &$requests) {
            $response = Http::get($this->server->url('/pid'), ['Accept' => 'application/json']);
            $requests++;

            $this->assertSame(200, $response['status'], "request {$requests} failed: {$response['body']}");
            $answer = json_decode($response['body'], true);
            $boots[$answer['boot']] = ($boots[$answer['boot']] ?? 0) + 1;
            $pids[$answer['pid']] = true;

            return count($boots) >= 3;
        }, 60, 'two application reboots');

        $this->assertGreaterThanOrEqual(3, count($boots));
        // A whole boot served 5 or 6 requests (the first also answered the start-up probe,
        // unseen here; the last may still be counting).
        foreach (array_slice($boots, 1, -1) as $served) {
            $this->assertGreaterThanOrEqual(5, $served);
            $this->assertLessThanOrEqual(6, $served);
        }
        $this->assertCount(1, $pids, 'the app was booted again in the same process');
    }

    public function test_status_reload_and_stop_drive_the_running_server(): void
    {
        $this->server = AskrServer::start(workers: 1);
        $before = Http::json($this->server->url('/pid'))['pid'];

        $status = AskrServer::artisan('octane:status', '--server=askr');
        $this->assertSame(0, $status->getExitCode(), $status->getOutput().$status->getErrorOutput());
        $this->assertStringContainsString('Octane server is running.', $status->getOutput());

        // The admin endpoint refuses a reload without the token that octane:start wrote to the state file.
        $state = json_decode((string) file_get_contents(AskrServer::appPath().'/storage/logs/octane-server-state.json'), true)['state'];
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $state['adminToken']);
        $anonymous = Http::request('POST', "http://127.0.0.1:{$this->server->adminPort}/reload");
        $this->assertSame(401, $anonymous['status'], $anonymous['body']);

        $reload = AskrServer::artisan('octane:reload', '--server=askr');
        $this->assertSame(0, $reload->getExitCode(), $reload->getOutput().$reload->getErrorOutput());
        $this->assertStringContainsString('Reloading workers', $reload->getOutput());

        // Rolling reload: a new worker takes over, and no request fails meanwhile.
        $this->server->waitUntil(function () use ($before) {
            $response = Http::get($this->server->url('/pid'), ['Accept' => 'application/json']);

            if ($response['status'] !== 200) {
                throw new RuntimeException("A request failed during the reload: {$response['status']} {$response['body']}");
            }

            return json_decode($response['body'], true)['pid'] !== $before;
        }, 30, 'a reloaded worker');

        $stop = AskrServer::artisan('octane:stop', '--server=askr');
        $this->assertSame(0, $stop->getExitCode(), $stop->getOutput().$stop->getErrorOutput());

        $deadline = microtime(true) + 20;
        while ($this->server->process->isRunning() && microtime(true) < $deadline) {
            usleep(20_000);
        }

        $this->assertFalse($this->server->process->isRunning(), 'octane:start exits when the server stops');
        $this->assertFileDoesNotExist(AskrServer::appPath().'/storage/logs/octane-server-state.json');

        $after = AskrServer::artisan('octane:status', '--server=askr');
        $this->assertSame(1, $after->getExitCode());
        $this->assertStringContainsString('Octane server is not running.', $after->getOutput());
    }

    public function test_ctrl_c_on_octane_start_lets_in_flight_requests_finish_and_leaves_nothing_behind(): void
    {
        $this->server = AskrServer::start(workers: 1, options: ['--task-workers=0']);
        $supervisor = $this->server->supervisorPid;
        $this->assertNotNull($supervisor);
        $this->assertNotEmpty(glob("/dev/shm/askr-{$supervisor}-*"), 'the server has its shared-memory files');

        // A streamed response that stays in flight until its gate file exists.
        $gate = 'ctrl-c-'.bin2hex(random_bytes(4));
        $gateFile = AskrServer::appPath().'/storage/app/gates/'.$gate;
        @mkdir(dirname($gateFile), 0777, true);
        $client = new Process(['curl', '-sN', '--max-time', '60', $this->server->url("/stream?gate={$gate}")]);
        $client->start();

        try {
            $this->server->waitUntil(fn () => str_contains($client->getOutput(), 'first'), 20, 'the first chunk of the stream');

            // What a terminal's Ctrl+C does to octane:start (askr, in the same process group, gets it too).
            $this->server->process->signal(SIGINT);
            posix_kill($supervisor, SIGINT);

            // Octane 2.x's signal handler exits right after stopping the server: wait for octane:start to
            // be draining (or gone) before letting the request finish, so a stop that kills askr would cut it.
            $deadline = microtime(true) + 20;
            while ($this->server->process->isRunning() && ! str_contains($this->server->output(), 'stopping: draining') && microtime(true) < $deadline) {
                usleep(20_000);
            }

            touch($gateFile);
            $client->wait();

            $this->assertSame("first\ngate opened\nlast\n", $client->getOutput(), 'the in-flight request finished');

            $deadline = microtime(true) + 30;
            while ($this->server->process->isRunning() && microtime(true) < $deadline) {
                usleep(20_000);
            }

            $this->assertFalse($this->server->process->isRunning(), 'octane:start exited');
            $this->assertSame(0, $this->server->process->getExitCode(), $this->server->output());
            $this->assertStringContainsString('stopped', $this->server->output());
            $this->assertFalse(file_exists("/proc/{$supervisor}") && str_contains((string) @file_get_contents("/proc/{$supervisor}/cmdline"), 'askr'), 'the askr supervisor exited');
            $this->assertSame([], glob("/dev/shm/askr-{$supervisor}-*"), 'askr removed its shared-memory files');
        } finally {
            $client->stop(0);
            @unlink($gateFile);
        }
    }

    public function test_the_console_shows_each_request_in_octanes_request_log_in_the_local_environment(): void
    {
        $this->server = AskrServer::start(workers: 1, env: ['APP_ENV' => 'local']);

        Http::get($this->server->url('/request-log-probe'));

        $this->server->waitUntil(
            fn () => preg_match('/404\s+GET \/request-log-probe/', $this->server->process->getOutput()) === 1,
            10,
            'the request log line for /request-log-probe'
        );

        $this->assertStringContainsString('Server running', $this->server->process->getOutput());
    }

    public function test_in_production_no_request_lines_are_written_as_with_octanes_swoole_server(): void
    {
        $this->server = AskrServer::start(workers: 1);

        $this->assertContains('--no-access-log', explode("\0", (string) file_get_contents("/proc/{$this->server->supervisorPid}/cmdline")));
        $this->assertSame(404, Http::get($this->server->url('/request-log-probe'))['status']);
        $this->assertStringNotContainsString('request-log-probe', $this->server->process->getOutput());
    }
}
