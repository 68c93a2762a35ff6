<?php
// askr worker for bench/response-cache: /page answers BODY_BYTES bytes opted into the response
// cache; /slow sleeps 300 ms (the stampede) and appends a line to STAMPEDE_LOG per PHP run;
// /fill/<n> stores small tagged entries (tag t<n % 100>); /purge-cost?n= times n purges of one tag
// by the native, in nanoseconds per purge.
use function Ephpm\Octane\{take_request, send_response, cache_forget_tag};

$body = str_repeat('x', (int) (getenv('BODY_BYTES') ?: 4096));
$log = getenv('STAMPEDE_LOG') ?: '/dev/null';
while (($request = take_request()) !== null) {
    $path = parse_url($request['uri'], PHP_URL_PATH);
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    if ($path === '/page') {
        send_response(200, ['Content-Type' => 'text/plain', 'Askr-Cache' => '3600'], $body);
    } elseif ($path === '/slow') {
        file_put_contents($log, "run\n", FILE_APPEND | LOCK_EX);
        usleep(300000);
        send_response(200, ['Content-Type' => 'text/plain', 'Askr-Cache' => '3600'], 'slow');
    } elseif (str_starts_with($path, '/fill/')) {
        $n = (int) substr($path, 6);
        send_response(200, ['Content-Type' => 'text/plain', 'Askr-Cache' => '3600, tags=t' . ($n % 100)], "entry $n");
    } elseif ($path === '/purge-cost') {
        $n = (int) ($q['n'] ?? 10000);
        $t = hrtime(true);
        for ($i = 0; $i < $n; $i++) {
            cache_forget_tag('t' . ($i % 100));
        }
        send_response(200, ['Content-Type' => 'text/plain'], (string) round((hrtime(true) - $t) / $n));
    } else {
        send_response(404, [], 'not found');
    }
}
