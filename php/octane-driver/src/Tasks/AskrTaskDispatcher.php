<?php

namespace Askr\Octane\Tasks;

use Askr\Octane\Server\RuntimeNatives;
use Laravel\Octane\Contracts\DispatchesTasks;
use Laravel\Octane\Exceptions\TaskExceptionResult;
use Laravel\Octane\Exceptions\TaskTimeoutException;
use Laravel\Octane\SequentialTaskDispatcher;

/**
 * Octane::concurrently() and Octane::tasks()->dispatch() in askr's HTTP workers: the tasks run
 * in parallel on the node's task workers (askr serve --task-workers), through the runtime's
 * dispatch_tasks(). Bound to Octane's DispatchesTasks contract by the askr worker script.
 *
 * The semantics are those of Octane's SwooleTaskDispatcher over Swoole's taskWaitMulti():
 *
 * - closures travel as Laravel's SerializableClosure, other tasks (invokable objects) as they are;
 * - the results come back under the caller's keys, in the caller's order;
 * - a task that threw: its exception is rethrown here through TaskExceptionResult::getOriginal()
 *   (an Octane TaskException with the original class, message, code, file and line; a dd()
 *   becomes Octane's DdException), the first one in the caller's order;
 * - no result at all within $waitMilliseconds: TaskTimeoutException; some results but not all:
 *   the missing ones are false (Swoole's taskWaitMulti() returns the finished ones only, and
 *   Octane fills the rest with false);
 * - a task whose worker died or answered something unreadable: TaskFailedException (a
 *   TaskException), where Swoole would leave the task out (false) once its deadline passed.
 *
 * Without task workers (askr serve --task-workers 0) the runtime answers "unavailable"; the tasks
 * then run one after the other in this worker with Octane's SequentialTaskDispatcher, as they do
 * under Octane outside Swoole.
 */
class AskrTaskDispatcher implements DispatchesTasks
{
    /**
     * @param  bool|null  $taskWorkers  Whether the server runs task workers; null: learn it from the
     *        runtime's first answer (see ASKR_TASK_WORKERS in fromEnvironment()).
     */
    public function __construct(
        protected TaskNatives $natives,
        protected ?bool $taskWorkers = null,
        protected ?DispatchesTasks $fallback = null,
    ) {
        $this->fallback ??= new SequentialTaskDispatcher;
    }

    /**
     * The dispatcher of an askr HTTP worker. `octane:start --server=askr` tells the workers how
     * many task workers askr runs in ASKR_TASK_WORKERS; without it (askr serve run by hand) the
     * first dispatch finds out.
     */
    public static function fromEnvironment(?TaskNatives $natives = null, string|false|null $taskWorkers = null): static
    {
        $taskWorkers ??= getenv('ASKR_TASK_WORKERS');

        return new static(
            $natives ?? new RuntimeNatives,
            is_numeric($taskWorkers) ? (int) $taskWorkers > 0 : null,
        );
    }

    /**
     * Runs the tasks concurrently on the task workers and returns their results under the same keys.
     *
     * @throws \Laravel\Octane\Exceptions\TaskException
     * @throws \Laravel\Octane\Exceptions\DdException
     * @throws TaskTimeoutException
     */
    public function resolve(array $tasks, int $waitMilliseconds = 3000): array
    {
        if ($tasks === []) {
            return [];
        }

        if ($this->taskWorkers === false) {
            return $this->fallback->resolve($tasks, $waitMilliseconds);
        }

        $keys = array_keys($tasks);

        $outcomes = array_values($this->natives->dispatchTasks(
            array_map([TaskPayloads::class, 'encodeTask'], array_values($tasks)),
            max(0, $waitMilliseconds),
            true,
        ));

        $statuses = array_count_values(array_map(fn ($outcome) => (string) ($outcome['status'] ?? ''), $outcomes));

        if (($statuses[TaskStatus::Unavailable->value] ?? 0) === count($keys)) {
            $this->taskWorkers = false;

            return $this->fallback->resolve($tasks, $waitMilliseconds);
        }

        $this->taskWorkers = true;

        if (($statuses[TaskStatus::Ok->value] ?? 0) === 0 && ($statuses[TaskStatus::Error->value] ?? 0) === 0) {
            throw TaskTimeoutException::after($waitMilliseconds);
        }

        $results = [];

        foreach ($keys as $index => $key) {
            $outcome = $outcomes[$index] ?? ['status' => TaskStatus::Timeout->value, 'data' => ''];

            switch (TaskStatus::tryFrom((string) ($outcome['status'] ?? ''))) {
                case TaskStatus::Ok:
                    $result = TaskPayloads::decodeResult((string) $outcome['data'], $key);

                    if ($result instanceof TaskExceptionResult) {
                        throw $result->getOriginal();
                    }

                    $results[$key] = $result->result;
                    break;

                case TaskStatus::Timeout:
                    $results[$key] = false;
                    break;

                default:
                    throw TaskFailedException::forTask($key, sprintf(
                        "askr's task worker gave no result (%s: %s).",
                        $outcome['status'] ?? 'no status',
                        rtrim((string) ($outcome['data'] ?? ''), '.') ?: 'no details'
                    ));
            }
        }

        return $results;
    }

    /**
     * Runs the tasks on the task workers without waiting for them (fire and forget). A task's
     * exception is reported in its task worker; nothing comes back here.
     */
    public function dispatch(array $tasks): void
    {
        if ($tasks === []) {
            return;
        }

        $this->taskWorkers ??= $this->probe();

        if ($this->taskWorkers === false) {
            $this->fallback->dispatch($tasks);

            return;
        }

        $this->natives->dispatchTasks(array_map([TaskPayloads::class, 'encodeTask'], array_values($tasks)), 0, false);
    }

    /**
     * Whether the server runs task workers, for dispatch(): tasks sent without waiting to a server
     * that has none would be dropped. Costs one small task (or 'unavailable') once per worker.
     */
    protected function probe(): bool
    {
        $outcome = $this->natives->dispatchTasks([TaskPayloads::encodeTask(new ProbeTask)], 1000, true);

        return (reset($outcome)['status'] ?? TaskStatus::Unavailable->value) !== TaskStatus::Unavailable->value;
    }

    /**
     * Whether the server runs task workers: true, false, or null while unknown.
     */
    public function hasTaskWorkers(): ?bool
    {
        return $this->taskWorkers;
    }
}
