<?php

namespace Askr\Octane\Askr;

use function Ephpm\Octane\finish_response;
use function Ephpm\Octane\on_tick;
use function Ephpm\Octane\send_chunk;
use function Ephpm\Octane\send_file;
use function Ephpm\Octane\send_response;
use function Ephpm\Octane\take_request;

/**
 * The natives as the askr runtime registers them. Outside `askr serve` every call
 * throws the RuntimeException of src/natives-outside-askr.php.
 */
final class RuntimeNatives implements Natives
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
}
