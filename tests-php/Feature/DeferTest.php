<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * Askr\Octane\defer() in the example app under octane:start --server=askr (docs/lifecycle.md):
 * the client has its response before the deferred work is done, the callbacks run in order and
 * still see the request, and one that throws is reported through the app's exception handler.
 */
class DeferTest extends TestCase
{
    public function test_deferred_callbacks_run_after_the_response_in_order_with_the_request_and_a_failure_reported(): void
    {
        $tag = 'd'.bin2hex(random_bytes(6));
        $file = AskrServer::appPath()."/storage/framework/defer-{$tag}.log";
        // LOG_CHANNEL=stderr: what the exception handler reports reaches the server's output.
        $server = AskrServer::start(workers: 1, env: ['LOG_CHANNEL' => 'stderr']);

        try {
            $response = Http::get($server->url("/defer?tag={$tag}"));
            $received = microtime(true);
            $this->assertSame(200, $response['status'], $response['body']);

            $server->waitUntil(fn () => count(self::notes($file)) >= 2, 15, 'both deferred notes');
            $notes = self::notes($file);

            $this->assertSame(['slow', 'after-failure'], array_column($notes, 'what'));
            $this->assertSame([$tag, $tag], array_column($notes, 'tag'), 'the callbacks see the request that deferred them');
            $this->assertLessThan($notes[0]['at'], $received, 'the client had its response before the slow callback (300 ms) ended');

            // Monolog's line ("<env>.ERROR: ..."): the handler reported it, not the runtime's warning.
            $server->waitUntil(fn () => preg_match("/\\.ERROR: deferred failure {$tag}/", $server->output()) === 1, 10, 'the failure reported by the exception handler');
        } finally {
            $server->stop();
            @unlink($file);
        }
    }

    /** @return list<array{what: string, tag: string, at: float}> */
    private static function notes(string $file): array
    {
        $lines = is_file($file) ? file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) : [];

        return array_map(fn ($line) => json_decode($line, true), $lines);
    }
}
