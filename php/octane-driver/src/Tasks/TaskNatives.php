<?php

namespace Askr\Octane\Tasks;

/**
 * The task native of the askr runtime (Ephpm\Octane\dispatch_tasks, see stubs/natives.php) as an
 * object, so the dispatcher can be driven by a fake in unit tests.
 */
interface TaskNatives
{
    /**
     * Runs serialized tasks on the node's task workers, in parallel.
     *
     * @param  array<array-key, string>  $payloads
     * @return array<array-key, array{status: string, data: string}> One entry per payload, same keys and
     *         order ('ok': data is the task worker's answer; 'error', 'timeout', 'unavailable': data is a
     *         message); [] when $wait is false.
     */
    public function dispatchTasks(array $payloads, int $timeoutMs = 3000, bool $wait = true): array;
}
