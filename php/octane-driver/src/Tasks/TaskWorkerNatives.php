<?php

namespace Askr\Octane\Tasks;

/**
 * The task worker's natives of the askr runtime (Ephpm\Octane\take_task and send_task_result,
 * see stubs/natives.php) as an object, so the task worker loop can be driven by a fake in unit
 * tests. Each method has the semantics of the native of the same name.
 */
interface TaskWorkerNatives
{
    /**
     * Blocks until the next task or tick for this task worker; null on shutdown.
     *
     * @return array{id: int, kind: string, payload: string}|null kind 'task' (payload: one serialized
     *         task) or 'tick' (payload '').
     */
    public function takeTask(): ?array;

    /**
     * Answers the task takeTask() returned, exactly once.
     *
     * @param  string  $status  'ok' (TaskStatus::Ok) or 'error' (TaskStatus::Error).
     */
    public function sendTaskResult(string $result, string $status = 'ok'): void;
}
