<?php

namespace Askr\Octane\Tests\Support;

use Askr\Octane\Tasks\TaskNatives;
use Askr\Octane\Tasks\TaskPayloads;
use Laravel\Octane\Exceptions\TaskExceptionResult;
use Laravel\Octane\Swoole\TaskResult;
use Throwable;

/**
 * A model of dispatch_tasks(): records every call and, by default, runs each payload as a task
 * worker would (unserialize, call, TaskResult or TaskExceptionResult, serialize), in this process.
 * $outcomes forces the outcome of the task at a position ('timeout', 'error', 'unavailable', or
 * ['status' => ..., 'data' => ...]); $noTaskWorkers answers every payload 'unavailable'.
 */
final class FakeTaskNatives implements TaskNatives
{
    /** @var list<array{payloads: array, timeoutMs: int, wait: bool}> */
    public array $calls = [];

    /** @var array<int, string|array{status: string, data: string}> */
    public array $outcomes = [];

    public bool $noTaskWorkers = false;

    /** The pid reported by tasks that ask for it: not this process. */
    public int $taskPid = 424242;

    public function dispatchTasks(array $payloads, int $timeoutMs = 3000, bool $wait = true): array
    {
        $this->calls[] = compact('payloads', 'timeoutMs', 'wait');

        foreach ($payloads as $payload) {
            if (! is_string($payload)) {
                throw new \TypeError('dispatch_tasks(): every payload must be a string');
            }
        }

        if (! $wait) {
            return [];
        }

        $results = [];
        $index = 0;

        foreach ($payloads as $key => $payload) {
            $forced = $this->noTaskWorkers ? 'unavailable' : ($this->outcomes[$index] ?? null);

            $results[$key] = match (true) {
                is_array($forced) => $forced,
                $forced === 'timeout' => ['status' => 'timeout', 'data' => "no result within {$timeoutMs} ms"],
                $forced === 'error' => ['status' => 'error', 'data' => 'the task worker running this task exited (status 137)'],
                $forced === 'unavailable' => ['status' => 'unavailable', 'data' => 'the server runs no task workers (--task-workers 0)'],
                default => ['status' => 'ok', 'data' => $this->run($payload)],
            };

            $index++;
        }

        return $results;
    }

    /** What askr's task worker answers: Worker::handleTask()'s result, serialized. */
    private function run(string $payload): string
    {
        try {
            $task = TaskPayloads::decodeTask($payload);
            $result = new TaskResult($task());
        } catch (Throwable $e) {
            $result = TaskExceptionResult::from($e);
        }

        return TaskPayloads::encodeResult($result);
    }

    /** The tasks of a call, unserialized. */
    public function tasksOf(int $call): array
    {
        // @: Debian's serializable-closure 1.0 raises a deprecation on PHP 8.2 (dynamic property).
        return array_map(fn (string $payload) => @unserialize($payload), $this->calls[$call]['payloads']);
    }
}
