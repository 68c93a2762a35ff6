<?php

/**
 * Declarations of the natives (and the class Ephpm\Octane\Table) that the askr runtime
 * registers in every PHP worker,
 * for IDEs and static analysis. This file is never loaded at run time: inside
 * `askr serve` the functions are provided by the runtime's shim (native/shim/),
 * outside it they do not exist (see ../src/natives-outside-askr.php for the
 * clear error an app gets when it calls them elsewhere).
 *
 * The contract is the one in docs/natives.md of the askr repository.
 */

namespace Ephpm\Octane;

/**
 * Blocks until the next HTTP request for this worker arrives.
 *
 * Between requests the runtime runs the callbacks registered with on_tick() here,
 * in this worker, never during a request.
 *
 * @return array{
 *     id: int,
 *     method: string,
 *     uri: string,
 *     protocol: string,
 *     headers: array<string, string>,
 *     server: array<string, string>,
 *     body: string
 * }|null The request envelope, or null when the worker is shutting down (leave the loop).
 *         `uri` is the raw request target (path and query). `headers` maps each header name,
 *         as the client sent it, to its value; repeated headers are joined with ", "
 *         (Cookie with "; "). `server` holds the CGI-style variables (RFC 3875):
 *         REQUEST_METHOD, REQUEST_URI, QUERY_STRING, SERVER_PROTOCOL, SERVER_NAME,
 *         SERVER_ADDR, SERVER_PORT, REMOTE_ADDR, REMOTE_PORT, REQUEST_SCHEME, HTTPS ("on",
 *         only over TLS), DOCUMENT_ROOT, SCRIPT_NAME, SCRIPT_FILENAME, PHP_SELF,
 *         REQUEST_TIME, REQUEST_TIME_FLOAT, CONTENT_TYPE, CONTENT_LENGTH and one HTTP_*
 *         entry per header. `body` is the whole request body (at most --max-body-size bytes).
 *
 * @throws \Error if a streamed response of the previous request is still open and cannot be finished.
 */
function take_request(): ?array {}

/**
 * Answers the current request. Exactly one of send_response() or send_file() per take_request().
 *
 * @param int $status HTTP status code, 100..999.
 * @param array<string, string|string[]> $headers Header name => value, or a list of values
 *        (each sent as its own header line, as Set-Cookie needs).
 * @param string $body The body, or its first chunk when $stream is true.
 * @param bool $stream When true, status and headers are sent at once and the response stays
 *        open: send more with send_chunk() and end it with finish_response() (the next
 *        take_request() also ends it). The client receives each chunk as it is sent.
 *
 * @throws \Error when there is no current request or it has already been answered.
 */
function send_response(int $status, array $headers, string $body = '', bool $stream = false): void {}

/**
 * Sends one more chunk of a streamed response (see send_response()'s $stream).
 * A client that has gone away is not an error: the chunk is dropped.
 *
 * @throws \Error when no streamed response is open.
 */
function send_chunk(string $chunk): void {}

/**
 * Ends the streamed response of the current request. Does nothing if it is already ended.
 */
function finish_response(): void {}

/**
 * Answers the current request with (a byte range of) a file, sent by the runtime from disk
 * without passing through PHP's memory.
 *
 * @param int $status HTTP status code (206 for a range the caller has already validated).
 * @param array<string, string|string[]> $headers As for send_response(); Content-Length is
 *        set by the runtime from $length.
 * @param string $path Absolute path of a readable regular file.
 * @param int $offset First byte to send, 0-based.
 * @param int $length Number of bytes to send; -1 sends to the end of the file.
 *
 * @throws \Error when there is no current request, it has already been answered, or the
 *         file cannot be opened (the response is then not sent, and the caller may answer 500).
 */
function send_file(int $status, array $headers, string $path, int $offset = 0, int $length = -1): void {}

/**
 * Registers a callback that the runtime runs in this worker every $intervalMs milliseconds,
 * between requests (inside take_request() while it waits), never during one. A callback that
 * throws has its exception logged; the worker and later ticks go on.
 *
 * @param int $intervalMs Interval in milliseconds, at least 1.
 * @param callable(): void $callback
 *
 * @throws \ValueError when $intervalMs < 1.
 */
function on_tick(int $intervalMs, callable $callback): void {}

/**
 * Runs $callback after the current response is complete on the wire: the body is flushed and
 * the client's keep-alive connection is free for its next request before the callback starts.
 * The worker runs the deferred callbacks in the order they were deferred, before it takes its
 * next request: take_request() runs them first (and run_deferred() runs them earlier, for a
 * framework that must run them before it resets its state). They count against the request's
 * `--request-timeout`: a callback still running at the deadline is interrupted as the request
 * would be (and a worker blocked in a system call is replaced). A callback that throws has its
 * exception logged as a warning and the other callbacks still run. Deferred outside a request
 * (while the worker boots), a callback runs at the next take_request() without waiting.
 *
 * @param callable(): void $callback
 */
function defer(callable $callback): void {}

/**
 * Runs the callbacks deferred with defer() now, in order, once the current response is
 * complete on the wire (waiting for it up to the request's remaining `--request-timeout`).
 * take_request() calls it itself; a driver calls it when its framework resets state before the
 * next take_request(), so the callbacks still see the request's state (askr's Octane driver
 * calls it on Octane's RequestTerminated event).
 *
 * @return int How many callbacks ran (0 when none was deferred).
 */
function run_deferred(): int {}

/**
 * The names of the tables of the node's shared store, as the runtime parsed them from
 * `askr serve --tables` (the octane cache table "octane_cache" included when declared), so a
 * worker opens exactly what the runtime holds without reading the tables file itself.
 *
 * @return list<string> Empty when the server was started without tables.
 */
function table_names(): array {}

/**
 * Opens a table of the node's shared store by name (declared in config/octane.php 'tables', or
 * "octane_cache" for the octane cache table). Call once per worker; use the handle afterwards.
 *
 * @return array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}
 *         rows is the capacity; type is 1 (int), 2 (float) or 3 (string, size in bytes), as
 *         Swoole\Table::TYPE_INT, TYPE_FLOAT and TYPE_STRING.
 *
 * @throws \InvalidArgumentException when no such table is declared.
 * @throws \RuntimeException when the server was started without tables (askr serve --tables).
 */
function table_open(string $name): array {}

/**
 * Reads a row, or one column of it.
 *
 * @return array<string, int|float|string>|int|float|string|false The row (every column), the
 *         column's value, or false when the key (or the column) does not exist, as Swoole\Table::get.
 *
 * @throws \ValueError when $key is empty or longer than 63 bytes.
 */
function table_get(int $handle, string $key, ?string $column = null): array|int|float|string|false {}

/**
 * Writes the given columns of a row, creating the row if needed (other columns start at 0 or '').
 * Undeclared columns are ignored; values are converted to the column's type, as Swoole\Table::set.
 *
 * @return bool true.
 *
 * @throws \ValueError when $key is empty or longer than 63 bytes, or a string is longer than its column.
 * @throws \RuntimeException when the row is new and the table is full.
 */
function table_set(int $handle, string $key, array $row): bool {}

/**
 * Adds $by to an int or float column atomically across all workers of the node, creating the
 * row if needed; decrement with a negative $by.
 *
 * @return int|float The new value (int for an int column, float for a float column).
 *
 * @throws \ValueError when $column does not exist or is a string column, or the key is invalid.
 * @throws \RuntimeException when the row is new and the table is full.
 */
function table_incr(int $handle, string $key, string $column, int|float $by = 1): int|float {}

/** Deletes a row. @return bool false if it did not exist. */
function table_del(int $handle, string $key): bool {}

/** @return bool whether the row exists. */
function table_exists(int $handle, string $key): bool {}

/** @return int rows in use. */
function table_count(int $handle): int {}

/**
 * Walks the table in batches (Redis SCAN style): start with cursor 0, continue with the returned
 * cursor until it is 0 again. Rows present for the whole walk are returned exactly once.
 *
 * @param int $count Rows wanted per batch (a batch may hold a few more or fewer).
 * @return array{0: int, 1: array<string, array<string, int|float|string>>} [next cursor, key => row].
 */
function table_scan(int $handle, int $cursor, int $count): array {}

/**
 * Runs serialized tasks on the node's task workers (askr serve --task-workers), in parallel,
 * one task per task worker at a time; Octane::concurrently() on askr uses it. A task worker gets
 * each payload from take_task() and answers it with send_task_result().
 *
 * @param array<array-key, string> $payloads Serialized tasks, keyed as the caller likes.
 * @param int $timeoutMs How long to wait for all results, in milliseconds.
 * @param bool $wait false: return at once with [], the tasks still run.
 * @return array<array-key, array{status: 'ok'|'error'|'timeout'|'unavailable', data: string}>
 *         One entry per payload, same keys and order. data is the task's answer for 'ok', else
 *         a message ('error': the task failed or its worker died; 'timeout': no result in time,
 *         the task still runs to its end; 'unavailable': the server has no task workers).
 *
 * @throws \TypeError when a payload is not a string.
 */
function dispatch_tasks(array $payloads, int $timeoutMs = 3000, bool $wait = true): array {}

/**
 * In a task worker (environment ASKR_WORKER_KIND=task): blocks until the next task or tick for
 * this worker, as take_request() does for a request in an HTTP worker, and runs the callbacks
 * registered with on_tick() while it waits.
 *
 * @return array{id: int, kind: 'task'|'tick', payload: string}|null The task, or null when the
 *         worker is shutting down (leave the loop). 'task': payload is one payload given to
 *         dispatch_tasks() in some worker of the node. 'tick': once a second per node, to one free
 *         task worker (Octane's TickReceived), payload ''. id identifies it in the runtime's logs.
 *
 * @throws \Error in an HTTP worker (it gets requests from take_request(), no tasks).
 */
function take_task(): ?array {}

/**
 * Answers the task (or tick) the last take_task() returned: exactly once per take_task(). The
 * caller of dispatch_tasks() receives $result as the task's 'data' with this $status.
 *
 * @param string $result What the task produced (for askr's driver: the serialized TaskResult or
 *        TaskExceptionResult), or for 'error' a message saying why the task could not run.
 * @param string $status 'ok' or 'error' (the statuses of dispatch_tasks()).
 *
 * @throws \ValueError when $status is neither 'ok' nor 'error'.
 * @throws \Error when there is no task to answer (it was answered already, or none was taken),
 *         or in an HTTP worker.
 */
function send_task_result(string $result, string $status = 'ok'): void {}

/**
 * Invalidates, in the node's response cache (askr serve --response-cache), every entry stored
 * with any of these tags (Askr-Cache: 60, tags=posts), in every worker at once and, on a
 * cluster node, on every node. O(1) per tag, whatever the number of entries. Does nothing
 * when the server runs no response cache. Reference: docs/response-cache.md.
 *
 * @param string|array<array-key, string> $tags One tag or a list of tags (non-empty, at most
 *        200 bytes each, as in the Askr-Cache header).
 *
 * @throws \TypeError when an element of $tags is not a string.
 * @throws \ValueError when a tag is empty or longer than 200 bytes.
 */
function cache_forget_tag(string|array $tags): void {}

/**
 * Invalidates the response cache's entries of one URL: every variant (Vary) of its path and
 * query, as the client sent them, on any host. Does nothing without a response cache.
 *
 * @param string $url An absolute URL (https://example.com/posts?page=2) or a path with an
 *        optional query (/posts?page=2).
 *
 * @throws \ValueError when $url is empty.
 */
function cache_forget(string $url): void {}

/**
 * Invalidates every entry of the node's response cache (and, on a cluster node, of every
 * node's). Does nothing without a response cache.
 */
function cache_flush(): void {}

/**
 * Publishes a Pusher event to the WebSocket subscribers of channels (askr serve --pusher-app;
 * docs/websockets.md) on every HTTP worker of the node, as the HTTP API's POST /apps/{id}/events
 * does, without an HTTP hop: the driver's `askr` broadcaster (Broadcast::extend('askr')) uses it.
 * The event goes to the server's first Pusher app.
 *
 * @param array<string>|string $channels 1 to 100 channel names (Pusher's limit and alphabet).
 * @param string $event The event name (1 to 200 bytes).
 * @param string $data The event's data, delivered as this string (Laravel sends JSON).
 * @param string|null $exceptSocketId A socket id (digits.digits) not to deliver to: the sender's, for toOthers().
 *
 * @throws \ValueError for no channel, more than 100, a name Pusher does not allow, or an empty event name.
 * @throws \TypeError when the array holds something other than strings.
 * @throws \RuntimeException when the server has no Pusher app.
 */
function broadcast(array|string $channels, string $event, string $data, ?string $exceptSocketId = null): void {}

/**
 * In a background worker (askr serve --background-worker, docs/background-workers.md): replaces
 * this worker's whole snapshot of variables, atomically, in the node's shared memory. Every
 * worker's next get_vars() of this name sees the new snapshot. Nothing is written (and the
 * generation does not change) when the snapshot is identical to the current one.
 *
 * @param array<array-key, mixed> $vars Values: null, bool, int, float, string (binary safe),
 *        arrays of these (nested), backed enums.
 *
 * @throws \Error outside a background worker.
 * @throws \TypeError for a closure, a resource or an object other than a backed enum, naming
 *         where it is ($vars['a']['b']).
 * @throws \ValueError when the serialized snapshot is larger than --background-vars-limit
 *         (default 16 MiB), with both sizes in bytes.
 */
function set_vars(array $vars): void {}

/**
 * The latest snapshot a background worker published with set_vars(): a pure read. In one
 * process the same snapshot generation gives the same array (unserialized once, then shared:
 * `===` is cheap).
 *
 * @param string|string[] $name A background worker's name, or a list of names.
 * @return array<array-key, mixed> The snapshot; for a list of names, name => snapshot.
 *
 * @throws \RuntimeException when a name is not declared, its worker was never started (lazy:
 *         call ensure_background_worker() first), or it has not published yet.
 */
function get_vars(string|array $name): array {}

/**
 * In a background worker: true once the worker must stop (shutdown, reload); the script should
 * return soon after. The supervisor kills it after --background-grace seconds.
 *
 * @throws \Error outside a background worker.
 */
function should_stop(): bool {}

/**
 * In a background worker: a read-only stream that becomes readable when the worker must stop,
 * for stream_select() loops (the readiness of should_stop() as a file descriptor).
 *
 * @return resource
 *
 * @throws \Error outside a background worker.
 */
function get_worker_handle(): mixed {}

/**
 * Starts the named background workers that are not running yet (lazy ones, or names a
 * --background-entrypoint catch-all runs), at most once on the node, then blocks until each has
 * published with set_vars() once, or the deadline passes (one deadline for the whole list).
 *
 * @param string|string[] $name A name or a list of names.
 * @param float|null $timeout Seconds; null: 30.
 *
 * @throws \RuntimeException when a name is not declared (and no catch-all runs it), or at the
 *         deadline: naming the worker, its start attempts and its last attempt's PHP error
 *         (message, file, line, exit status). While the app boots (before the first request)
 *         a worker whose attempt already failed throws at once (fail-fast).
 */
function ensure_background_worker(string|array $name, ?float $timeout = null): void {}

/**
 * A table of the node's shared store whose row operations are internal methods: a PHP class that
 * extends it runs no PHP frame around the store. Inside askr workers the driver's Swoole\Table
 * extends it, so the table Octane::table() returns inherits these methods. Outside `askr serve`
 * the class does not exist (no stand-in: check class_exists()).
 *
 * Every method answers as the native it names and throws that native's errors, with the
 * native's message. A ValueError of get/exists/del/incr/decr is first passed to
 * $this->clearer($e, $key), one of set to $this->setFailure($e, $key, $value), and what they
 * return is thrown instead. Using an object that bindHandle() never bound throws an \Error.
 */
abstract class Table
{
    /** table_get(): the row, one column of it, or false when the key (or the column) does not exist. */
    public function get(string $key, ?string $field = null): array|false|string|float|int {}

    /** table_set(). */
    public function set(string $key, array $value): bool {}

    /** table_incr(). */
    public function incr(string $key, string $column, int|float $incrby = 1): int|float {}

    /** table_incr() with -$incrby. */
    public function decr(string $key, string $column, int|float $incrby = 1): int|float {}

    /** table_exists(). */
    public function exists(string $key): bool {}

    /**
     * Alias of exists(), as in Swoole\Table.
     *
     * @implementation-alias Ephpm\Octane\Table::exists
     */
    public function exist(string $key): bool {}

    /** table_del(). */
    public function del(string $key): bool {}

    /**
     * Alias of del(), as in Swoole\Table.
     *
     * @implementation-alias Ephpm\Octane\Table::del
     */
    public function delete(string $key): bool {}

    /**
     * Binds this object to a table handle from table_open(), once (the handle is kept beside the
     * object, not in a property). A subclass's constructor calls it.
     *
     * @throws \ValueError when $handle is not a handle from table_open().
     * @throws \Error when the object is already bound.
     */
    final protected function bindHandle(int $handle): void {}

    /** Hook for the ValueErrors of get/exists/del/incr/decr: what it returns is thrown. Default: $e. */
    protected function clearer(\ValueError $e, string $key): \ValueError {}

    /** Hook for the ValueErrors of set: what it returns is thrown. Default: $this->clearer($e, $key). */
    protected function setFailure(\ValueError $e, string $key, array $value): \ValueError {}
}
