<?php

namespace Askr\Octane\Tasks;

use Laravel\Octane\Contracts\DispatchesTasks;
use Laravel\Octane\SequentialTaskDispatcher;

/**
 * What an askr worker binds for Octane's tasks, by kind (ASKR_WORKER_KIND, set by the runtime):
 *
 * - HTTP workers: DispatchesTasks => AskrTaskDispatcher (tasks go to the task workers);
 * - task workers: DispatchesTasks => Octane's SequentialTaskDispatcher, so that a task calling
 *   Octane::concurrently() runs those nested tasks one after the other in its own process
 *   instead of queueing them behind itself: task workers waiting on task workers could take the
 *   whole pool and then wait until their deadline.
 *
 * Passed as initial instances of Worker::boot(), so an application that binds its own
 * DispatchesTasks in a service provider still wins.
 */
final class WorkerTasks
{
    public static function isTaskWorker(string|false|null $kind): bool
    {
        return $kind === 'task';
    }

    /**
     * @return array<string, object>
     */
    public static function initialInstances(bool $taskWorker, ?TaskNatives $natives = null, string|false|null $taskWorkers = null): array
    {
        return [
            DispatchesTasks::class => $taskWorker
                ? new SequentialTaskDispatcher
                : AskrTaskDispatcher::fromEnvironment($natives, $taskWorkers),
        ];
    }
}
