<?php

namespace Askr\Octane\Server;

use Askr\Octane\Tasks\TaskNatives;
use Askr\Octane\Tasks\TaskWorkerNatives;

use function Ephpm\Octane\dispatch_tasks;
use function Ephpm\Octane\finish_response;
use function Ephpm\Octane\on_tick;
use function Ephpm\Octane\send_chunk;
use function Ephpm\Octane\send_file;
use function Ephpm\Octane\send_response;
use function Ephpm\Octane\send_task_result;
use function Ephpm\Octane\table_count;
use function Ephpm\Octane\table_del;
use function Ephpm\Octane\table_exists;
use function Ephpm\Octane\table_get;
use function Ephpm\Octane\table_incr;
use function Ephpm\Octane\table_names;
use function Ephpm\Octane\table_open;
use function Ephpm\Octane\table_scan;
use function Ephpm\Octane\table_set;
use function Ephpm\Octane\take_request;
use function Ephpm\Octane\take_task;

/**
 * The natives as the askr runtime registers them. Outside `askr serve` every call
 * throws the RuntimeException of src/natives-outside-askr.php.
 */
final class RuntimeNatives implements Natives, TableNatives, TaskNatives, TaskWorkerNatives
{
    public function takeRequest(): ?array
    {
        return take_request();
    }

    public function sendResponse(int $status, array $headers, string $body = '', bool $stream = false): void
    {
        send_response($status, $headers, $body, $stream);
    }

    public function sendChunk(string $chunk): void
    {
        send_chunk($chunk);
    }

    public function finishResponse(): void
    {
        finish_response();
    }

    public function sendFile(int $status, array $headers, string $path, int $offset = 0, int $length = -1): void
    {
        send_file($status, $headers, $path, $offset, $length);
    }

    public function onTick(int $intervalMs, callable $callback): void
    {
        on_tick($intervalMs, $callback);
    }

    public function tableNames(): array
    {
        return table_names();
    }

    public function tableOpen(string $name): array
    {
        return table_open($name);
    }

    public function tableGet(int $handle, string $key, ?string $column = null): array|int|float|string|false
    {
        return table_get($handle, $key, $column);
    }

    public function tableSet(int $handle, string $key, array $row): bool
    {
        return table_set($handle, $key, $row);
    }

    public function tableIncr(int $handle, string $key, string $column, int|float $by = 1): int|float
    {
        return table_incr($handle, $key, $column, $by);
    }

    public function tableDel(int $handle, string $key): bool
    {
        return table_del($handle, $key);
    }

    public function tableExists(int $handle, string $key): bool
    {
        return table_exists($handle, $key);
    }

    public function tableCount(int $handle): int
    {
        return table_count($handle);
    }

    public function tableScan(int $handle, int $cursor, int $count): array
    {
        return table_scan($handle, $cursor, $count);
    }

    public function dispatchTasks(array $payloads, int $timeoutMs = 3000, bool $wait = true): array
    {
        return dispatch_tasks($payloads, $timeoutMs, $wait);
    }

    public function takeTask(): ?array
    {
        return take_task();
    }

    public function sendTaskResult(string $result, string $status = 'ok'): void
    {
        send_task_result($result, $status);
    }
}
