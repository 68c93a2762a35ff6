<?php
// Worker script for bench/autoscale/run.sh: every request takes 20 ms in PHP (usleep: a worker
// waiting on I/O, as an app waiting on its database), then answers "ok".
while (($r = \Ephpm\Octane\take_request()) !== null) {
    usleep(20000);
    \Ephpm\Octane\send_response(200, ['Content-Type' => 'text/plain'], 'ok');
}
