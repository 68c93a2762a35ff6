<?php

namespace Askr\Octane\Tasks;

use Closure;
use Laravel\Octane\Exceptions\TaskExceptionResult;
use Laravel\Octane\Worker;
use Throwable;

/**
 * The loop of an askr task worker (ASKR_WORKER_KIND=task), what Swoole's onTask handler is for
 * Octane's Swoole server: take_task() hands it, by kind,
 *
 * - "task": the payload is one task serialized by AskrTaskDispatcher. It runs through Octane's
 *   Worker::handleTask() (TaskReceived / TaskTerminated, the app's state reset, a task's
 *   exception reported and returned as a TaskExceptionResult), and the serialized result is the
 *   answer. A result that cannot be serialized, or a payload that cannot be unserialized, is
 *   answered with a TaskExceptionResult that says so: the caller gets a TaskException.
 * - "tick": once a second per node, to one task worker. Worker::handleTick() fires Octane's
 *   TickReceived, on which Octane::tick() callbacks and the octane cache store's interval()
 *   entries run. Exceptions are reported; the next tick runs as usual.
 *
 * Every task and tick is answered exactly once with send_task_result(), status 'ok' (a task's
 * exception travels inside its result), whatever happens in between: nothing a task does (short
 * of killing the process) ends the loop.
 */
final class TaskWorkerLoop
{
    /** Tasks handled (ticks not counted). */
    public int $tasks = 0;

    public int $ticks = 0;

    /**
     * @param  Closure(Throwable): void  $report  How failures outside the application's own handling are reported.
     * @param  bool  $handleTicks  false: ticks are answered without running (config('octane.tick') === false).
     */
    public function __construct(
        private Worker $worker,
        private TaskWorkerNatives $natives,
        private Closure $report,
        private bool $handleTicks = true,
    ) {
    }

    /**
     * Handles tasks and ticks until the runtime shuts the worker down (take_task() returns null),
     * or after $maxTasks tasks (0: no limit).
     */
    public function run(int $maxTasks = 0): void
    {
        while (($maxTasks <= 0 || $this->tasks < $maxTasks) && ($task = $this->natives->takeTask()) !== null) {
            $this->handle($task);
        }
    }

    /**
     * @param  array{id: int, kind: string, payload: string}  $task  What take_task() returned.
     */
    public function handle(array $task): void
    {
        $kind = $task['kind'] ?? null;

        if ($kind === 'tick') {
            $this->ticks++;
            $this->tick();
            $this->natives->sendTaskResult('', TaskStatus::Ok->value);

            return;
        }

        $this->tasks++;

        try {
            $answer = $kind === 'task'
                ? $this->task((string) ($task['payload'] ?? ''))
                : $this->failure(new InvalidTaskPayloadException(sprintf(
                    "askr's task worker received a task of kind [%s]; it only handles task and tick.",
                    is_string($kind) ? $kind : get_debug_type($kind)
                )));
        } catch (Throwable $e) {
            // Not the task's own exception (handleTask() returns those): a failure around it,
            // e.g. in a WorkerErrorOccurred listener.
            $answer = $this->failure($e);
        }

        $this->natives->sendTaskResult($answer, TaskStatus::Ok->value);
    }

    private function task(string $payload): string
    {
        try {
            $task = TaskPayloads::decodeTask($payload);
        } catch (InvalidTaskPayloadException $e) {
            return $this->failure($e);
        }

        return TaskPayloads::encodeResult($this->worker->handleTask($task));
    }

    private function tick(): void
    {
        if (! $this->handleTicks) {
            return;
        }

        try {
            // handleTick() reports what TickReceived listeners throw (WorkerErrorOccurred), and
            // Octane::tick() callbacks report their own exceptions.
            $this->worker->handleTick();
        } catch (Throwable $e) {
            $this->reportSafely($e);
        }
    }

    /**
     * Reports $e and returns the answer that rethrows it in the caller.
     */
    private function failure(Throwable $e): string
    {
        $this->reportSafely($e);

        return TaskPayloads::encodeResult(TaskExceptionResult::from($e));
    }

    private function reportSafely(Throwable $e): void
    {
        try {
            ($this->report)($e);
        } catch (Throwable) {
            // Reporting must not take the task worker down.
        }
    }
}
