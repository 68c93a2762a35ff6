<?php
// HTTP worker of tests-dotnet/Askr.Tests/Background/BackgroundWorkerTests.cs: reads the
// background workers' vars and ensures them.

use function Ephpm\Octane\{take_request, send_response, get_vars, set_vars, should_stop, get_worker_handle, ensure_background_worker};

require __DIR__.'/values.php';

function reply(mixed $data, int $status = 200): void
{
    send_response($status, ['Content-Type' => 'application/json'], json_encode($data, JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE));
}

function error_of(Throwable $e): array
{
    return ['error' => get_class($e).': '.$e->getMessage()];
}

// Fail-fast at boot: ASKR_TEST_ENSURE_AT_BOOT names a worker the "app" needs before it serves.
if (($boot = getenv('ASKR_TEST_ENSURE_AT_BOOT')) !== false && $boot !== '') {
    ensure_background_worker(explode(',', $boot), 10.0);
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    $path = parse_url($request['uri'], PHP_URL_PATH);
    try {
        switch ($path) {
            case '/vars':
                $names = str_contains($q['name'], ',') ? explode(',', $q['name']) : $q['name'];
                reply(['pid' => getmypid(), 'vars' => get_vars($names)]);
                break;
            case '/identical':
                // The same generation gives the same array, twice in a request.
                $a = get_vars($q['name']);
                $b = get_vars($q['name']);
                reply(['identical' => $a === $b, 'vars' => $a]);
                break;
            case '/types':
                $vars = get_vars('types');
                reply([
                    'equal' => $vars === every_value_type(),
                    'binary_hex' => bin2hex($vars['binary']),
                    'enum_is_same_case' => $vars['enum_string'] === Colour::Blue && $vars['enum_int'] === Level::High,
                    'int' => $vars['int'],
                ]);
                break;
            case '/age':
                // How old this node's copy of a publishing worker's vars is, in ms (same machine clock).
                $vars = get_vars($q['name']);
                reply(['age_ms' => (microtime(true) - $vars['at']) * 1000, 'vars' => $vars]);
                break;
            case '/ensure':
                $names = str_contains($q['name'], ',') ? explode(',', $q['name']) : $q['name'];
                $start = microtime(true);
                ensure_background_worker($names, isset($q['timeout']) ? (float) $q['timeout'] : null);
                reply(['elapsed_ms' => (microtime(true) - $start) * 1000, 'vars' => get_vars($names)]);
                break;
            case '/not-background':
                reply([
                    'set_vars' => error_of_call(fn () => set_vars(['a' => 1])),
                    'should_stop' => error_of_call(fn () => should_stop()),
                    'get_worker_handle' => error_of_call(fn () => get_worker_handle()),
                ]);
                break;
            default:
                reply(['pid' => getmypid()]);
        }
    } catch (Throwable $e) {
        reply(error_of($e), 500);
    }
}

function error_of_call(callable $fn): ?string
{
    try {
        $fn();

        return null;
    } catch (Throwable $e) {
        return get_class($e).': '.$e->getMessage();
    }
}
