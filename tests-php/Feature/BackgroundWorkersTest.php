<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * An Artisan command as an askr background worker (docs/background-workers.md): the example app's
 * flags:watch (app/Console/Commands/WatchFeatureFlags.php), declared in config/octane.php as
 * askr.background_workers.flags, publishes a feature-flag file that both HTTP workers read with
 * Askr\Octane\BackgroundWorkers::vars('flags'); octane:status lists it.
 */
class BackgroundWorkersTest extends TestCase
{
    private ?AskrServer $server = null;

    private string $flagFile;

    protected function setUp(): void
    {
        $this->flagFile = AskrServer::appPath().'/storage/app/feature-flags.json';
        @unlink($this->flagFile);
    }

    protected function tearDown(): void
    {
        $this->server?->stop();
        @unlink($this->flagFile);
    }

    /** @return array{pid: int, vars: array}|null */
    private function flags(): ?array
    {
        $response = Http::get($this->server->url('/api/background/flags'), ['Accept' => 'application/json']);

        return $response['status'] === 200 ? json_decode($response['body'], true) : null;
    }

    public function test_an_artisan_command_publishes_vars_that_every_http_worker_reads_and_octane_status_lists_it(): void
    {
        $this->server = AskrServer::start(workers: 2, env: ['ASKR_EXAMPLE_BACKGROUND' => '1']);

        $this->server->waitUntil(fn () => $this->flags() !== null, 30, 'the flags background worker to publish');
        $first = $this->flags();
        $this->assertSame(['kind' => 'background', 'name' => 'flags', 'running_in_console' => true, 'app' => 'askr example'], $first['vars']['worker']);
        $this->assertSame('config', $first['vars']['source']);

        // A change of the watched file reaches both HTTP workers on their next request.
        file_put_contents($this->flagFile, json_encode(['new_checkout' => true]));
        $seen = [];
        $this->server->waitUntil(function () use (&$seen) {
            $flags = $this->flags();
            if (($flags['vars']['flags'] ?? null) === ['new_checkout' => true]) {
                $seen[$flags['pid']] = true;
            }

            return count($seen) === 2;
        }, 30, 'both HTTP workers to see the new flags');

        $status = AskrServer::artisan('octane:status', '--server=askr');
        $this->assertSame(0, $status->getExitCode(), $status->getOutput().$status->getErrorOutput());
        $this->assertMatchesRegularExpression('/background worker flags: ready \(pid \d+\), generation [2-9]\d*, 0 restart\(s\)/', $status->getOutput());
    }
}
