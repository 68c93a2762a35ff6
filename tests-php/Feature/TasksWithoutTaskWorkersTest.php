<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use Laravel\Octane\Exceptions\TaskException;
use PHPUnit\Framework\TestCase;

/**
 * octane:start --task-workers=0: Octane::concurrently() falls back to Octane's sequential
 * semantics, in the HTTP worker itself.
 */
class TasksWithoutTaskWorkersTest extends TestCase
{
    private static ?AskrServer $server = null;

    protected function setUp(): void
    {
        self::$server ??= AskrServer::start(workers: 1, options: ['--task-workers=0']);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function test_tasks_run_one_after_the_other_in_the_http_worker(): void
    {
        $body = Http::json(self::$server->url('/api/tasks/concurrently?ms=100&keys=c,a,b'));

        $this->assertSame(['c', 'a', 'b'], array_keys($body['results']));
        $this->assertSame([$body['pid']], array_values(array_unique(array_column($body['results'], 'pid'))));
        $this->assertGreaterThanOrEqual(299, $body['elapsed_ms']);
    }

    public function test_exceptions_are_rethrown_and_dispatch_runs_the_task_before_answering(): void
    {
        $response = Http::get(self::$server->url('/api/tasks/exception'));
        $body = json_decode($response['body'], true);

        $this->assertSame(500, $response['status']);
        $this->assertSame(TaskException::class, $body['error']);
        $this->assertSame(\InvalidArgumentException::class, $body['original']);

        $dispatch = Http::json(self::$server->url('/api/tasks/dispatch?token=seq&ms=100'));
        $this->assertGreaterThanOrEqual(99, $dispatch['elapsed_ms']);
        $this->assertSame($dispatch['pid'], Http::json(self::$server->url('/api/tasks/dispatched?token=seq'))['row']['pid']);
    }
}
