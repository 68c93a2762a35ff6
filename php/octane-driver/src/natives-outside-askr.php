<?php

/*
 * Outside the askr runtime the Ephpm\Octane natives do not exist. Calling one from
 * `php artisan`, PHP-FPM or a test would otherwise fail with "Call to undefined
 * function", which says nothing about why. These fallbacks fail with a message that
 * does. Inside `askr serve` the runtime's shim has registered the real functions
 * before any script runs, so function_exists() is true and nothing here is defined.
 *
 * The signatures are the ones in ../stubs/natives.php (tests-php/Unit/Natives/NativesStubTest checks
 * that they agree).
 */

namespace Ephpm\Octane;

if (! \function_exists('Ephpm\Octane\outside_askr')) {
    /**
     * @internal Builds the error every fallback throws.
     */
    function outside_askr(string $function): \RuntimeException
    {
        return new \RuntimeException(sprintf(
            'Ephpm\Octane\%s() is only available inside the askr runtime (askr serve); this process runs under SAPI %s.',
            $function,
            \PHP_SAPI
        ));
    }
}

if (! \function_exists('Ephpm\Octane\take_request')) {

    function take_request(): ?array
    {
        throw outside_askr('take_request');
    }

    function send_response(int $status, array $headers, string $body = '', bool $stream = false): void
    {
        throw outside_askr('send_response');
    }

    function send_chunk(string $chunk): void
    {
        throw outside_askr('send_chunk');
    }

    function finish_response(): void
    {
        throw outside_askr('finish_response');
    }

    function send_file(int $status, array $headers, string $path, int $offset = 0, int $length = -1): void
    {
        throw outside_askr('send_file');
    }

    function on_tick(int $intervalMs, callable $callback): void
    {
        throw outside_askr('on_tick');
    }

    function defer(callable $callback): void
    {
        throw outside_askr('defer');
    }

    function run_deferred(): int
    {
        throw outside_askr('run_deferred');
    }
}

if (! \function_exists('Ephpm\Octane\table_open')) {
    function table_names(): array
    {
        throw outside_askr('table_names');
    }

    function table_open(string $name): array
    {
        throw outside_askr('table_open');
    }

    function table_get(int $handle, string $key, ?string $column = null): array|int|float|string|false
    {
        throw outside_askr('table_get');
    }

    function table_set(int $handle, string $key, array $row): bool
    {
        throw outside_askr('table_set');
    }

    function table_incr(int $handle, string $key, string $column, int|float $by = 1): int|float
    {
        throw outside_askr('table_incr');
    }

    function table_del(int $handle, string $key): bool
    {
        throw outside_askr('table_del');
    }

    function table_exists(int $handle, string $key): bool
    {
        throw outside_askr('table_exists');
    }

    function table_count(int $handle): int
    {
        throw outside_askr('table_count');
    }

    function table_scan(int $handle, int $cursor, int $count): array
    {
        throw outside_askr('table_scan');
    }
}

if (! \function_exists('Ephpm\Octane\dispatch_tasks')) {
    function dispatch_tasks(array $payloads, int $timeoutMs = 3000, bool $wait = true): array
    {
        throw outside_askr('dispatch_tasks');
    }

    function take_task(): ?array
    {
        throw outside_askr('take_task');
    }

    function send_task_result(string $result, string $status = 'ok'): void
    {
        throw outside_askr('send_task_result');
    }

    function set_vars(array $vars): void
    {
        throw outside_askr('set_vars');
    }

    function get_vars(string|array $name): array
    {
        throw outside_askr('get_vars');
    }

    function should_stop(): bool
    {
        throw outside_askr('should_stop');
    }

    function get_worker_handle(): mixed
    {
        throw outside_askr('get_worker_handle');
    }

    function ensure_background_worker(string|array $name, ?float $timeout = null): void
    {
        throw outside_askr('ensure_background_worker');
    }
}

if (! \function_exists('Ephpm\Octane\cache_forget_tag')) {
    function cache_forget_tag(string|array $tags): void
    {
        throw outside_askr('cache_forget_tag');
    }

    function cache_forget(string $url): void
    {
        throw outside_askr('cache_forget');
    }

    function cache_flush(): void
    {
        throw outside_askr('cache_flush');
    }
}

if (! \function_exists('Ephpm\Octane\broadcast')) {
    function broadcast(array|string $channels, string $event, string $data, ?string $exceptSocketId = null): void
    {
        throw outside_askr('broadcast');
    }
}
