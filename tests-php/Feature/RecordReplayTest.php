<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * octane:start --server=askr with recording of 5xx (ASKR_RECORD_ERRORS, as octane.askr.record_errors)
 * and `php artisan octane:replay` (docs/lifecycle.md): a route that fails for one body is
 * recorded, redacted, and replays to the same failure in a fresh interpreter.
 */
class RecordReplayTest extends TestCase
{
    private string $directory;

    protected function setUp(): void
    {
        $this->directory = sys_get_temp_dir().'/askr-records-'.bin2hex(random_bytes(6));
    }

    protected function tearDown(): void
    {
        foreach (glob($this->directory.'/*') ?: [] as $file) {
            unlink($file);
        }

        @rmdir($this->directory);
    }

    public function test_a_failing_request_is_recorded_and_octane_replay_reproduces_the_failure(): void
    {
        // LOG_CHANNEL=stderr: the handler's report of the exception is visible, in the server and in the replay.
        $env = ['ASKR_RECORD_ERRORS' => $this->directory, 'LOG_CHANNEL' => 'stderr'];
        $server = AskrServer::start(workers: 1, env: $env);

        try {
            $post = fn (int $qty) => Http::request('POST', $server->url('/api/orders'), [
                'Content-Type' => 'application/json',
                'Accept' => 'application/json',
                'Authorization' => 'Bearer s3cret',
            ], json_encode(['qty' => $qty, 'password' => 'hunter2']));

            $this->assertSame(200, $post(3)['status']);
            $this->assertSame(500, $post(-1)['status']);

            $server->waitUntil(fn () => count(glob($this->directory.'/*.json')) === 1, 10, 'one record');
        } finally {
            $server->stop();
        }

        [$file] = glob($this->directory.'/*.json');
        $this->assertSame(0600, fileperms($file) & 0777);
        $record = json_decode(file_get_contents($file), true);
        $this->assertSame('POST', $record['request']['method']);
        $this->assertSame('/api/orders', $record['request']['uri']);
        $this->assertSame('[redacted]', $record['request']['headers']['Authorization']);
        $this->assertSame(['qty' => -1, 'password' => '[redacted]'], json_decode($record['request']['body'], true));

        $replay = AskrServer::artisanWith(['LOG_CHANNEL' => 'stderr'], 'octane:replay', $file);

        $this->assertSame(0, $replay->getExitCode(), $replay->getErrorOutput());
        $this->assertStringStartsWith("HTTP/1.1 500 Internal Server Error\r\n", $replay->getOutput());
        $this->assertStringContainsString('order rejected: qty=-1', $replay->getErrorOutput(), 'the same exception, reported in the replay');
    }

    public function test_octane_replay_of_a_malformed_record_says_what_is_wrong(): void
    {
        AskrServer::skipUnlessRunnable();
        mkdir($this->directory);
        file_put_contents($file = $this->directory.'/broken.json', '{"askr_record": 1, "request": {"method": "GET", "headers": {}, "server": {}}}');

        $replay = AskrServer::artisan('octane:replay', $file);

        $this->assertSame(65, $replay->getExitCode());
        $this->assertStringContainsString('"request.uri" is missing', $replay->getErrorOutput());
    }
}
