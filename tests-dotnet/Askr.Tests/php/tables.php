<?php
// Worker script for the table natives' tests (tests-dotnet/Askr.Tests/Runtime/TableNativesTests.cs).

use function Ephpm\Octane\{take_request, send_response, table_open, table_get, table_set, table_incr, table_del, table_exists, table_count, table_scan};

$example = table_open('example');
$tiny = table_open('tiny');

function reply(mixed $data, int $status = 200): void
{
    send_response($status, ['Content-Type' => 'application/json'], json_encode($data, JSON_PRESERVE_ZERO_FRACTION));
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    $h = ($q['table'] ?? 'example') === 'tiny' ? $tiny['handle'] : $example['handle'];
    try {
        switch (parse_url($request['uri'], PHP_URL_PATH)) {
            case '/open':
                reply([$example, $tiny]);
                break;
            case '/set':
                reply(['ok' => table_set($h, $q['key'], json_decode($q['row'], true)), 'pid' => getmypid()]);
                break;
            case '/get':
                reply(['value' => isset($q['column']) ? table_get($h, $q['key'], $q['column']) : table_get($h, $q['key']), 'pid' => getmypid()]);
                break;
            case '/incr':
                $by = isset($q['by']) ? json_decode($q['by']) : 1;
                reply(['value' => table_incr($h, $q['key'], $q['column'], $by), 'pid' => getmypid()]);
                break;
            case '/del':
                reply(['deleted' => table_del($h, $q['key'])]);
                break;
            case '/exists':
                reply(['exists' => table_exists($h, $q['key'])]);
                break;
            case '/count':
                reply(['count' => table_count($h)]);
                break;
            case '/scan':
                $all = [];
                $cursor = 0;
                do {
                    [$cursor, $rows] = table_scan($h, $cursor, 3);
                    $all += $rows;
                } while ($cursor !== 0);
                reply(['rows' => $all]);
                break;
            case '/unknown-table':
                table_open('nope');
                break;
            default:
                reply(['error' => 'no route'], 404);
        }
    } catch (\Throwable $e) {
        reply(['exception' => get_class($e), 'message' => $e->getMessage()], 500);
    }
}
