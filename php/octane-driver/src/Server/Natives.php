<?php

namespace Askr\Octane\Server;

/**
 * The askr runtime's natives (namespace Ephpm\Octane, see stubs/natives.php) as an
 * object, so the client can be driven by a fake in unit tests. Each method has the
 * semantics of the native of the same name.
 */
interface Natives
{
    /**
     * Blocks until the next request envelope for this worker; null on shutdown.
     *
     * @return array{id: int, method: string, uri: string, protocol: string, headers: array<string, string>, server: array<string, string>, body: string}|null
     */
    public function takeRequest(): ?array;

    /**
     * Answers the current request; with $stream the response stays open for sendChunk().
     *
     * @param  array<string, string|string[]>  $headers
     */
    public function sendResponse(int $status, array $headers, string $body = '', bool $stream = false): void;

    /**
     * Sends one more chunk of the open streamed response.
     */
    public function sendChunk(string $chunk): void;

    /**
     * Ends the open streamed response; does nothing if it is already ended.
     */
    public function finishResponse(): void;

    /**
     * Answers the current request with $length bytes (-1: to the end) of the file at $path from $offset.
     *
     * @param  array<string, string|string[]>  $headers
     */
    public function sendFile(int $status, array $headers, string $path, int $offset = 0, int $length = -1): void;

    /**
     * Runs $callback in this worker every $intervalMs milliseconds, between requests.
     */
    public function onTick(int $intervalMs, callable $callback): void;
}
