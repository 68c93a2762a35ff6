<?php
// Worker script for the runtime's integration tests (tests-dotnet). Each path exercises one
// behaviour of the natives or one fault; see the test that requests it.

use function Ephpm\Octane\{take_request, send_response, send_chunk, finish_response, send_file, on_tick};

$bootId = bin2hex(random_bytes(4));
$served = 0;
$ticks = 0;
$tickErrors = 0;
$ticksDuringRequest = 0;
$inRequest = false;

on_tick(50, function () use (&$ticks, &$inRequest, &$ticksDuringRequest) {
    $ticks++;
    if ($inRequest) {
        $ticksDuringRequest++;
    }
});
on_tick(250, function () use (&$tickErrors) {
    $tickErrors++;
    throw new RuntimeException('tick failure number ' . $tickErrors);
});

function json(int $status, array $data): void
{
    send_response($status, ['Content-Type' => 'application/json'], json_encode($data, JSON_UNESCAPED_SLASHES));
}

while (($request = take_request()) !== null) {
    $inRequest = true;
    $served++;
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $query);
    $path = parse_url($request['uri'], PHP_URL_PATH);
    switch ($path) {
        case '/signatures':
            // The natives as the shim registered them (arginfo generated from the stub): NativesTests
            // compares them with the stub's own declarations.
            require_once __DIR__ . '/../../../tests-php/Support/NativeSignatures.php';
            json(200, Askr\Octane\Tests\Support\NativeSignatures::defined());
            break;
        case '/broadcast':
            // Ephpm\Octane\broadcast() (docs/websockets.md): PusherBroadcastNativeTests.
            try {
                $b = json_decode($request['body'], true);
                \Ephpm\Octane\broadcast($b['channels'], $b['event'], $b['data'], $b['except'] ?? null);
                json(200, ['error' => null]);
            } catch (\Throwable $e) {
                json(200, ['error' => get_class($e) . ': ' . $e->getMessage()]);
            }
            break;
        case '/echo':
            json(200, $request + ['pid' => getmypid(), 'boot' => $bootId, 'served' => $served]);
            break;
        case '/table-names':
            json(200, ['names' => \Ephpm\Octane\table_names()]);
            break;
        case '/env':
            // What PHP code sees of one environment variable (false: not set).
            $name = (string) ($query['name'] ?? '');
            json(200, ['getenv' => getenv($name), 'server' => $_SERVER[$name] ?? null, 'env' => $_ENV[$name] ?? null]);
            break;
        case '/headers':
            send_response(201, [
                'Content-Type' => 'text/plain',
                'X-Single' => 'one',
                'Set-Cookie' => ['a=1; Path=/', 'b=2; Path=/'],
            ], 'created');
            break;
        case '/no-content-type':
            send_response(200, [], '<p>no type</p>');
            break;
        case '/double-send':
            send_response(200, ['Content-Type' => 'text/plain'], 'first');
            try {
                send_response(200, [], 'second');
                error_log('double-send: no error');
            } catch (\Error $e) {
                error_log('double-send error: ' . $e->getMessage());
            }
            break;
        case '/chunk-without-stream':
            try {
                send_chunk('x');
                json(200, ['error' => null]);
            } catch (\Error $e) {
                json(200, ['error' => $e->getMessage()]);
            }
            break;
        case '/bad-status':
            try {
                send_response(42, []);
            } catch (\ValueError $e) {
                json(200, ['error' => $e->getMessage()]);
            }
            break;
        case '/header-injection':
            try {
                send_response(200, ['X-Evil' => "a\r\nSet-Cookie: pwned=1"], 'no');
            } catch (\ValueError $e) {
                json(200, ['error' => $e->getMessage()]);
            }
            break;
        case '/stream-gated':
            // Sends the first chunk, then waits for the test to create the gate file before
            // producing the rest: the test proves it saw chunk 1 before chunk 2 existed.
            send_response(200, ['Content-Type' => 'text/plain'], "first\n", true);
            $deadline = microtime(true) + 10;
            while (!file_exists($query['gate']) && microtime(true) < $deadline) {
                usleep(5000);
            }
            send_chunk("second\n");
            send_chunk("third\n");
            finish_response();
            break;
        case '/stream-then-fatal':
            send_response(200, ['Content-Type' => 'text/plain'], "partial\n", true);
            undefined_function_for_a_fatal_error();
            break;
        case '/file':
            send_file(isset($query['length']) ? 206 : 200, ['Content-Type' => 'text/plain'], $query['path'],
                (int) ($query['offset'] ?? 0), (int) ($query['length'] ?? -1));
            break;
        case '/file-then-delete':
            send_file(200, ['Content-Type' => 'text/plain'], $query['path']);
            unlink($query['path']);
            break;
        case '/missing-file':
            try {
                send_file(200, [], '/nonexistent/file.txt');
            } catch (\Error $e) {
                json(500, ['error' => $e->getMessage()]);
            }
            break;
        case '/text':
            // ?size=N bytes of text/plain (CompressionTests), with any ?encoding= as Content-Encoding.
            $headers = ['Content-Type' => $query['type'] ?? 'text/plain; charset=utf-8'];
            if (isset($query['encoding'])) {
                $headers['Content-Encoding'] = $query['encoding'];
            }
            send_response(200, $headers, substr(str_repeat("askr compresses what PHP answers.\n", intdiv((int) ($query['size'] ?? 0), 34) + 1), 0, (int) ($query['size'] ?? 0)));
            break;
        case '/sendfile':
            // X-Sendfile / X-Accel-Redirect (SendfileTests): ?header=, ?path=, optional ?type=.
            $headers = [$query['header'] ?? 'X-Sendfile' => $query['path'] ?? ''];
            if (isset($query['type'])) {
                $headers['Content-Type'] = $query['type'];
            }
            send_response((int) ($query['status'] ?? 200), $headers, 'the body PHP sent, which the file replaces');
            break;
        case '/ticks':
            json(200, ['ticks' => $ticks, 'tick_errors' => $tickErrors, 'ticks_during_request' => $ticksDuringRequest, 'pid' => getmypid()]);
            break;
        case '/opcache':
            json(200, ['opcache' => function_exists('opcache_get_status') && opcache_get_status(false) !== false, 'sapi' => PHP_SAPI]);
            break;
        case '/sleep':
            if (isset($query['started'])) {
                touch($query['started']);
            }
            usleep((int) $query['ms'] * 1000);
            json(200, ['slept_ms' => (int) $query['ms'], 'pid' => getmypid()]);
            break;
        case '/fatal':
            undefined_function_for_a_fatal_error();
            break;
        case '/exception':
            throw new LogicException('uncaught on purpose');
        case '/exit':
            exit();
        case '/exit-status':
            exit(3);
        case '/oom':
            ini_set('memory_limit', '32M');
            $hog = [];
            while (true) {
                $hog[] = str_repeat('x', 1024 * 1024);
            }
        case '/loop':
            while (true) {
            }
        case '/no-answer':
            break;
        case '/output':
            echo "echoed outside any buffer\n";
            json(200, ['ok' => true]);
            break;
        default:
            json(200, ['pid' => getmypid(), 'boot' => $bootId, 'served' => $served, 'path' => $path]);
    }
    $inRequest = false;
}
