<?php
// The smallest askr worker: boots once, then answers every request from the same process.
// Serve it with: build/askr/askr serve --root examples/hello --worker-script examples/hello/worker.php

$booted = microtime(true);
$served = 0;

while (($request = \Ephpm\Octane\take_request()) !== null) {
    $served++;
    $path = parse_url($request['uri'], PHP_URL_PATH);
    if ($path === '/stream') {
        \Ephpm\Octane\send_response(200, ['Content-Type' => 'text/plain'], "chunk 1\n", true);
        for ($i = 2; $i <= 3; $i++) {
            usleep(100_000);
            \Ephpm\Octane\send_chunk("chunk $i\n");
        }
        \Ephpm\Octane\finish_response();
        continue;
    }
    \Ephpm\Octane\send_response(200, ['Content-Type' => 'application/json'], json_encode([
        'hello' => 'world',
        'path' => $path,
        'pid' => getmypid(),
        'served_by_this_worker' => $served,
        'booted_at' => $booted,
    ]) . "\n");
}
