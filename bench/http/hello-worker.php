<?php
// Hello-world worker script for askr (bench/http/run.sh, bench/http/rss.sh).
// Equivalent of hello.php: same status, Content-Type and body, once per request.
while (($r = \Ephpm\Octane\take_request()) !== null) {
    \Ephpm\Octane\send_response(200, ['Content-Type' => 'text/plain'], 'Hello, World!');
}
