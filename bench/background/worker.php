<?php
// HTTP worker of bench/background/run.sh.
//   /getvars?n=&rounds=  ops/s of get_vars('static') (an unchanged 1 KB snapshot) against
//                        apcu_fetch() of the same array, interleaved rounds, medians
//   /visibility?ms=      polls get_vars('ticker') for ms milliseconds; for every sequence number
//                        published during the window, the delay from its set_vars() to its first
//                        get_vars() here, in microseconds
use function Ephpm\Octane\{take_request, send_response, get_vars, ensure_background_worker};

require __DIR__.'/snapshot.php';

function reply(array $data): void
{
    send_response(200, ['Content-Type' => 'application/json'], json_encode($data, JSON_PRESERVE_ZERO_FRACTION));
}

function median(array $xs): float
{
    sort($xs);

    return $xs[intdiv(count($xs), 2)];
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    switch (parse_url($request['uri'], PHP_URL_PATH)) {
        case '/ping':
            send_response(200, [], 'pong');
            break;
        case '/getvars':
            ensure_background_worker('static', 30);
            $n = (int) ($q['n'] ?? 200000);
            $snapshot = bench_snapshot();
            apcu_store('static', $snapshot);
            $same = get_vars('static') === $snapshot && apcu_fetch('static') === $snapshot;
            $rates = ['get_vars' => [], 'apcu_fetch' => []];
            for ($r = 0; $r < (int) ($q['rounds'] ?? 5); $r++) {
                $t = hrtime(true);
                for ($i = 0; $i < $n; $i++) {
                    $v = get_vars('static');
                }
                $rates['get_vars'][] = $n / ((hrtime(true) - $t) / 1e9);
                $t = hrtime(true);
                for ($i = 0; $i < $n; $i++) {
                    $v = apcu_fetch('static');
                }
                $rates['apcu_fetch'][] = $n / ((hrtime(true) - $t) / 1e9);
            }
            reply(['pid' => getmypid(), 'same_array' => $same, 'bytes' => strlen(serialize($snapshot)),
                'get_vars_ops' => median($rates['get_vars']), 'apcu_fetch_ops' => median($rates['apcu_fetch']), 'rounds' => $rates]);
            break;
        case '/visibility':
            ensure_background_worker('ticker', 30);
            $end = hrtime(true) + (int) ($q['ms'] ?? 2000) * 1_000_000;
            $first = get_vars('ticker')['seq'];
            $last = $first;
            $delays = [];
            while (hrtime(true) < $end) {
                $v = get_vars('ticker');
                if ($v['seq'] !== $last) {
                    $now = hrtime(true);
                    // Only the sequence numbers published inside the window, each at its first sight.
                    if ($v['seq'] === $last + 1) {
                        $delays[$v['seq']] = ($now - $v['t']) / 1000;
                    }
                    $last = $v['seq'];
                }
                usleep(20);
            }
            reply(['pid' => getmypid(), 'delays_us' => $delays]);
            break;
        default:
            send_response(404, [], 'not found');
    }
}
