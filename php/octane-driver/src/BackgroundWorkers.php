<?php

namespace Askr\Octane;

use function Ephpm\Octane\ensure_background_worker;
use function Ephpm\Octane\get_vars;
use function Ephpm\Octane\get_worker_handle;
use function Ephpm\Octane\set_vars;
use function Ephpm\Octane\should_stop;

/**
 * The background-worker natives for a Laravel app (docs/background-workers.md of the askr
 * repository). A background worker is an ordinary Artisan command declared in
 * config('octane.askr.background_workers'); it publishes with BackgroundWorkers::set() and loops
 * until BackgroundWorkers::shouldStop(); HTTP workers read with BackgroundWorkers::vars().
 */
class BackgroundWorkers
{
    /**
     * The latest snapshot of a background worker (or name => snapshot for a list).
     *
     * @param  string|list<string>  $name
     * @return array<array-key, mixed>
     *
     * @throws \RuntimeException when a name is not declared, not running or has not published.
     */
    public static function vars(string|array $name): array
    {
        return get_vars($name);
    }

    /**
     * In a background worker: replaces its snapshot (null, bool, int, float, string, arrays, backed enums).
     *
     * @param  array<array-key, mixed>  $vars
     */
    public static function set(array $vars): void
    {
        set_vars($vars);
    }

    /**
     * Starts the named workers if they are not running and waits until each published once.
     *
     * @param  string|list<string>  $name
     * @param  float|null  $timeout  Seconds; null: 30.
     *
     * @throws \RuntimeException at the deadline, naming the worker, its attempts and its last PHP error.
     */
    public static function ensure(string|array $name, ?float $timeout = null): void
    {
        ensure_background_worker($name, $timeout);
    }

    /** In a background worker: whether it must stop (shutdown, reload). */
    public static function shouldStop(): bool
    {
        return should_stop();
    }

    /**
     * In a background worker: a stream readable when it must stop, for stream_select().
     *
     * @return resource
     */
    public static function stopHandle(): mixed
    {
        return get_worker_handle();
    }

    /**
     * Sleeps up to $seconds, waking at once when the worker must stop; true when it must stop.
     * The loop of a background worker: `while (! BackgroundWorkers::sleep(1.0)) { ... }`.
     */
    public static function sleep(float $seconds): bool
    {
        if (should_stop()) {
            return true;
        }

        $read = [get_worker_handle()];
        $write = $except = null;
        $whole = (int) floor($seconds);
        @stream_select($read, $write, $except, $whole, (int) (($seconds - $whole) * 1_000_000));

        return should_stop();
    }
}
