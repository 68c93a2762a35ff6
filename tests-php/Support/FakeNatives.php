<?php

namespace Askr\Octane\Tests\Support;

use Askr\Octane\Server\Natives;
use Askr\Octane\Tasks\TaskWorkerNatives;
use RuntimeException;

/**
 * Records every call the client (or the task worker loop) makes, in order, and enforces the
 * contract's "exactly one answer per request" and "exactly one result per task" rules, as the
 * runtime would.
 */
final class FakeNatives implements Natives, TaskWorkerNatives
{
    /** @var list<array{0: string, 1: array}> */
    public array $calls = [];

    /** @var list<array|null> */
    public array $envelopes = [];

    /** @var list<array{id: int, kind: string, payload: string}|null> What takeTask() returns, in order. */
    public array $tasks = [];

    private bool $taskAnswered = true;

    private bool $answered = false;

    private bool $streaming = false;

    public function takeRequest(): ?array
    {
        $this->calls[] = ['takeRequest', []];
        $this->answered = false;
        $this->streaming = false;

        return array_shift($this->envelopes);
    }

    public function sendResponse(int $status, array $headers, string $body = '', bool $stream = false): void
    {
        if ($this->answered) {
            throw new \Error('send_response(): the request has already been answered');
        }

        $this->answered = true;
        $this->streaming = $stream;
        $this->calls[] = ['sendResponse', compact('status', 'headers', 'body', 'stream')];
    }

    public function sendChunk(string $chunk): void
    {
        if (! $this->streaming) {
            throw new \Error('send_chunk(): no streamed response is open');
        }

        $this->calls[] = ['sendChunk', compact('chunk')];
    }

    public function finishResponse(): void
    {
        $this->streaming = false;
        $this->calls[] = ['finishResponse', []];
    }

    public function sendFile(int $status, array $headers, string $path, int $offset = 0, int $length = -1): void
    {
        if ($this->answered) {
            throw new \Error('send_file(): the request has already been answered');
        }

        $this->answered = true;
        $this->calls[] = ['sendFile', compact('status', 'headers', 'path', 'offset', 'length')];
    }

    public function onTick(int $intervalMs, callable $callback): void
    {
        $this->calls[] = ['onTick', compact('intervalMs')];
    }

    public function takeTask(): ?array
    {
        $this->calls[] = ['takeTask', []];
        $this->taskAnswered = false;

        return array_shift($this->tasks);
    }

    public function sendTaskResult(string $result, string $status = 'ok'): void
    {
        if ($this->taskAnswered) {
            throw new \Error('send_task_result(): there is no task to answer');
        }

        if (! in_array($status, ['ok', 'error'], true)) {
            throw new \ValueError('send_task_result(): Argument #2 ($status) must be "ok" or "error"');
        }

        $this->taskAnswered = true;
        $this->calls[] = ['sendTaskResult', compact('result', 'status')];
    }

    /** The names of the calls, in order. */
    public function callNames(): array
    {
        return array_column($this->calls, 0);
    }

    /** The arguments of the only call named $name. */
    public function only(string $name): array
    {
        $matching = array_values(array_filter($this->calls, fn ($call) => $call[0] === $name));

        if (count($matching) !== 1) {
            throw new RuntimeException(sprintf('Expected exactly one %s call, got %d.', $name, count($matching)));
        }

        return $matching[0][1];
    }
}
