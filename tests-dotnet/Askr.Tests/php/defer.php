<?php
// Worker script for the defer-after-send tests (tests-dotnet/Askr.Tests/Lifecycle/DeferTests).
// Every deferred callback appends one line "<what> <microtime(true)>" to the file named by ?log=.

use function Ephpm\Octane\{take_request, send_response, defer, run_deferred};

$bootId = bin2hex(random_bytes(4));

function note(string $log, string $what): void
{
    file_put_contents($log, $what.' '.sprintf('%.6f', microtime(true))."\n", FILE_APPEND);
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $query);
    $log = (string) ($query['log'] ?? '/dev/null');
    switch (parse_url($request['uri'], PHP_URL_PATH)) {
        case '/defer':
            // Two callbacks, the first slow, one between them that throws: all run, in order.
            $delayMs = (int) ($query['delay'] ?? 300);
            defer(function () use ($log, $delayMs) {
                note($log, 'first-start');
                usleep($delayMs * 1000);
                note($log, 'first-end');
            });
            defer(fn () => throw new RuntimeException('deferred failure on purpose'));
            defer(function () use ($log) {
                note($log, 'second');
                // Deferred by a deferred callback: joins the end of the same run.
                defer(fn () => note($log, 'nested'));
            });
            send_response(200, ['Content-Type' => 'text/plain'], str_repeat('x', 100000));
            break;
        case '/run-deferred':
            // run_deferred() before the answer leaves the queue alone; after it, runs it at once.
            defer(fn () => note($log, 'deferred'));
            $before = run_deferred();
            send_response(200, ['Content-Type' => 'text/plain'], 'answered');
            $after = run_deferred();
            note($log, "counts {$before} {$after}");
            break;
        case '/defer-forever':
            defer(function () {
                while (true) {
                }
            });
            send_response(200, ['Content-Type' => 'text/plain'], 'answered before the endless callback');
            break;
        case '/now':
            send_response(200, ['Content-Type' => 'application/json'], json_encode(['now' => microtime(true), 'boot' => $bootId]));
            break;
        default:
            send_response(404, [], 'not found');
    }
}
