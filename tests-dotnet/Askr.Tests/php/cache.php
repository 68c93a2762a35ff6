<?php
// Worker script for the response cache's tests (tests-dotnet/Askr.Tests/ResponseCache). Every
// request PHP sees is appended to the file in ASKR_TEST_CACHE_LOG (one line: the raw target and the pid), so
// a test counts exactly how many requests reached PHP, across all workers. The query says what
// to answer: h = the Askr-Cache header, cc = Cache-Control, vary, status, etag, lm
// (Last-Modified), hx = many-tags or long-tag (malformed headers), cookie=1 (a Set-Cookie), sleep = milliseconds before answering,
// die=1 (exit the process mid-request: the leader dies).

use function Ephpm\Octane\{take_request, send_response, cache_forget_tag, cache_forget, cache_flush};

$log = getenv('ASKR_TEST_CACHE_LOG') ?: sys_get_temp_dir() . '/askr-cache-test.log';
$pid = getmypid();
$served = 0;

while (($request = take_request()) !== null) {
    $served++;
    $fh = fopen($log, 'a');
    flock($fh, LOCK_EX);
    fwrite($fh, $request['uri'] . ' pid=' . $pid . "\n");
    flock($fh, LOCK_UN);
    fclose($fh);
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    if (isset($q['sleep'])) {
        usleep((int) $q['sleep'] * 1000);
    }
    // The purge natives: /purge?tag=a or ?tags[]=a&tags[]=b, ?url=..., ?flush=1.
    if (parse_url($request['uri'], PHP_URL_PATH) === '/purge') {
        try {
            if (isset($q['tag'])) cache_forget_tag($q['tag']);
            if (isset($q['tags'])) cache_forget_tag($q['tags']);
            if (isset($q['url'])) cache_forget($q['url']);
            if (isset($q['flush'])) cache_flush();
            send_response(200, [], 'purged');
        } catch (\Throwable $e) {
            send_response(400, [], get_class($e) . ': ' . $e->getMessage());
        }
        continue;
    }
    if (parse_url($request['uri'], PHP_URL_PATH) === '/env') {
        send_response(200, [], var_export(getenv($q['name'] ?? ''), true));
        continue;
    }
    if (isset($q['die'])) {
        exit(3);
    }
    // failfile: while that file exists the route fails (500, no Askr-Cache), for stale-if-error.
    if (isset($q['failfile']) && file_exists($q['failfile'])) {
        send_response(500, ['Content-Type' => 'text/plain'], 'failing');
        continue;
    }
    $headers = ['Content-Type' => 'text/plain'];
    if (isset($q['h'])) $headers['Askr-Cache'] = $q['h'];
    // Headers too long for a request target: 1,000 tags, one tag of 10 KB.
    if (($q['hx'] ?? '') === 'many-tags') $headers['Askr-Cache'] = '60, tags=' . implode(',', array_map(fn ($i) => "t$i", range(1, 1000)));
    if (($q['hx'] ?? '') === 'long-tag') $headers['Askr-Cache'] = '60, tags=' . str_repeat('x', 10240);
    if (isset($q['cc'])) $headers['Cache-Control'] = $q['cc'];
    if (isset($q['vary'])) $headers['Vary'] = $q['vary'];
    if (isset($q['etag'])) $headers['ETag'] = $q['etag'];
    if (isset($q['lm'])) $headers['Last-Modified'] = $q['lm'];
    if (isset($q['cookie'])) $headers['Set-Cookie'] = 'session=secret-' . $served . '; Path=/';
    $varied = isset($q['vary']) ? ($request['headers'][$q['vary']] ?? '') : '';
    $body = 'pid=' . $pid . ' n=' . $served . ' uri=' . $request['uri'] . ' varied=' . $varied;
    send_response((int) ($q['status'] ?? 200), $headers, $body);
}
