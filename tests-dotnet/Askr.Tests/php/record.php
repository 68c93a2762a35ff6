<?php
// Worker script for the record-and-replay tests (tests-dotnet/Askr.Tests/Lifecycle/RecordReplayTests).
// POST /orders fails (500) for a JSON body whose qty is below 1, and says what it saw.

use function Ephpm\Octane\{take_request, send_response};

while (($request = take_request()) !== null) {
    switch (parse_url($request['uri'], PHP_URL_PATH)) {
        case '/orders':
            $order = json_decode($request['body'], true);
            $seen = 'auth='.($request['server']['HTTP_AUTHORIZATION'] ?? '-').' password='.($order['password'] ?? '-');
            if (! is_array($order) || ($order['qty'] ?? 0) < 1) {
                send_response(500, ['Content-Type' => 'text/plain', 'X-Failure' => 'qty'], 'order rejected: qty='.json_encode($order['qty'] ?? null).' '.$seen);
            } else {
                send_response(200, ['Content-Type' => 'text/plain'], 'order accepted '.$seen);
            }
            break;
        case '/not-found':
            send_response(404, [], 'no');
            break;
        default:
            send_response(200, [], 'ok');
    }
}
