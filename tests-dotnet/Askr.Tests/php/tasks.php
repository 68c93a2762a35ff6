<?php
// Worker script for the task-worker tests (tests-dotnet/Askr.Tests/Tasks/TaskTests.cs): HTTP
// workers dispatch tasks with dispatch_tasks(); task workers (ASKR_WORKER_KIND=task) run them.
// A task payload is JSON: {"sleep_ms": n, "fail": bool, "crash": bool, "value": any}.

use function Ephpm\Octane\{take_request, send_response, dispatch_tasks, take_task, send_task_result, table_open, table_incr, table_set, table_get};

$ticks = table_open('ticks')['handle'];

if (getenv('ASKR_WORKER_KIND') === 'task') {
    while (($job = take_task()) !== null) {
        if ($job['kind'] === 'tick') {
            table_incr($ticks, 'node', 'count');
            table_set($ticks, 'node', ['last' => microtime(true), 'pid' => getmypid()]);
            send_task_result('');
            continue;
        }
        $task = json_decode($job['payload'], true);
        if (isset($task['probe'])) {
            // Misuse of the natives in a task worker: the error PHP gets is the task's result.
            try {
                $task['probe'] === 'take_request' ? take_request() : send_task_result('x', 'fine');
                $error = null;
            } catch (Throwable $e) {
                $error = get_class($e) . ': ' . $e->getMessage();
            }
            send_task_result(json_encode(['pid' => getmypid(), 'value' => $error]));
            continue;
        }
        usleep(($task['sleep_ms'] ?? 0) * 1000);
        if (!empty($task['crash'])) {
            posix_kill(getmypid(), SIGKILL);
        }
        if (!empty($task['fail'])) {
            throw new RuntimeException('task failed on purpose');
        }
        send_task_result(json_encode(['pid' => getmypid(), 'value' => $task['value'] ?? null]));
    }
    return;
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    switch (parse_url($request['uri'], PHP_URL_PATH)) {
        case '/concurrently':
            $tasks = json_decode($q['tasks'], true);
            $start = microtime(true);
            $results = dispatch_tasks(array_map('json_encode', $tasks), (int) ($q['timeout'] ?? 3000), ($q['wait'] ?? '1') === '1');
            $elapsed = (microtime(true) - $start) * 1000;
            send_response(200, ['Content-Type' => 'application/json'], json_encode([
                'elapsed_ms' => $elapsed,
                'results' => array_map(fn ($r) => ['status' => $r['status'], 'data' => $r['status'] === 'ok' ? json_decode($r['data'], true) : $r['data']], $results),
            ]));
            break;
        case '/repeat':
            // The runtime's own round trip: n dispatches of three trivial tasks, timed here.
            $times = [];
            for ($i = 0; $i < (int) ($q['n'] ?? 100); $i++) {
                $start = hrtime(true);
                dispatch_tasks(['a' => '{}', 'b' => '{}', 'c' => '{}'], 3000);
                $times[] = (hrtime(true) - $start) / 1e6;
            }
            sort($times);
            send_response(200, ['Content-Type' => 'application/json'], json_encode([
                'p50_ms' => $times[intdiv(count($times), 2)],
                'p90_ms' => $times[(int) (count($times) * 0.9)],
            ]));
            break;
        case '/take-task':
            // An HTTP worker gets no tasks.
            try {
                take_task();
                $error = null;
            } catch (Throwable $e) {
                $error = get_class($e) . ': ' . $e->getMessage();
            }
            send_response(200, ['Content-Type' => 'application/json'], json_encode(['error' => $error]));
            break;
        case '/ticks':
            send_response(200, ['Content-Type' => 'application/json'], json_encode(table_get($ticks, 'node') ?: ['count' => 0]));
            break;
        default:
            send_response(200, ['Content-Type' => 'application/json'], json_encode(['pid' => getmypid()]));
    }
}
