<?php

namespace App\Http\Controllers;

use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Cache;
use InvalidArgumentException;
use Laravel\Octane\Exceptions\TaskException;
use Laravel\Octane\Exceptions\TaskTimeoutException;
use Laravel\Octane\Facades\Octane;
use Throwable;

/**
 * Octane's tasks and ticks on askr (docs/tasks.md): Octane::concurrently() runs its closures in
 * askr's task workers (askr serve --task-workers), ticks registered in AppServiceProvider run
 * once a second per node. Every answer is JSON with the pid of the HTTP worker that served it
 * (`pid`); timings are taken around the concurrently() call with hrtime (`elapsed_ms`).
 */
class TasksController
{
    /**
     * ?n= tasks (default 3) that each sleep ?ms= milliseconds (default 100; a list such as
     * 300,100,200 gives each task its own) and return the pid of the process that ran them,
     * under the keys ?keys= (default first,second,third,...). ?wait= is concurrently()'s wait.
     */
    public function concurrently(Request $request): JsonResponse
    {
        $sleeps = array_map('intval', explode(',', (string) $request->query('ms', '100')));
        $count = (int) $request->query('n', max(3, count($sleeps)));
        $keys = $request->query('keys') !== null
            ? explode(',', (string) $request->query('keys'))
            : array_slice(['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'], 0, $count);

        $tasks = [];

        foreach ($keys as $index => $key) {
            $sleep = $sleeps[$index] ?? $sleeps[count($sleeps) - 1];

            $tasks[$key] = function () use ($key, $sleep) {
                if ($sleep > 0) {
                    usleep($sleep * 1000);
                }

                return ['key' => $key, 'pid' => getmypid(), 'kind' => getenv('ASKR_WORKER_KIND') ?: null];
            };
        }

        return $this->timed(fn () => Octane::concurrently($tasks, (int) $request->query('wait', 3000)));
    }

    /**
     * Three tasks that do nothing: what concurrently() costs on its own. One closure per line:
     * Laravel's SerializableClosure finds a closure's code by its line, and cannot tell apart
     * two closures that start on the same line (under Swoole as here).
     */
    public function trivial(): JsonResponse
    {
        $tasks = [
            fn () => 1,
            fn () => 2,
            fn () => 3,
        ];

        return $this->timed(fn () => Octane::concurrently($tasks));
    }

    /** The second task throws: concurrently() rethrows it as Octane's TaskException. */
    public function throwing(): JsonResponse
    {
        return $this->timed(fn () => Octane::concurrently([
            'fine' => fn () => 'fine',
            'broken' => function () {
                throw new InvalidArgumentException('Invalid order #42 from a task');
            },
        ]));
    }

    /** Every task runs past ?wait= (default 200) ms: TaskTimeoutException. */
    public function timeout(Request $request): JsonResponse
    {
        return $this->timed(fn () => Octane::concurrently([
            fn () => usleep(1_000_000),
            fn () => usleep(1_000_000),
        ], (int) $request->query('wait', 200)));
    }

    /** One task in time, one not: the late one is false (as with Swoole's taskWaitMulti()). */
    public function partial(): JsonResponse
    {
        return $this->timed(fn () => Octane::concurrently([
            'quick' => fn () => 'quick',
            'late' => function () {
                usleep(1_000_000);

                return 'late';
            },
        ], 300));
    }

    /** The task's worker dies mid-task (SIGKILL): the caller gets a TaskException at once. */
    public function crash(): JsonResponse
    {
        return $this->timed(fn () => Octane::concurrently([
            'survivor' => fn () => getmypid(),
            'victim' => function () {
                usleep(50_000);
                posix_kill(getmypid(), SIGKILL);

                return 'never';
            },
        ]));
    }

    /** A task returning something that cannot be serialized (a closure). */
    public function unserializable(): JsonResponse
    {
        $task = function () {
            return fn () => 'a closure';
        };

        return $this->timed(fn () => Octane::concurrently([$task]));
    }

    /** A task that calls concurrently() itself: the nested tasks run in that task worker, one after the other. */
    public function nested(): JsonResponse
    {
        return $this->timed(fn () => Octane::concurrently([
            'outer' => fn () => [
                'pid' => getmypid(),
                'inner' => Octane::concurrently([
                    'a' => fn () => getmypid(),
                    'b' => fn () => getmypid(),
                ]),
            ],
        ]));
    }

    /**
     * A task closure that captures a table object, not its name: the table is serialized with the
     * closure, and the task worker opens the same node table again by name. The HTTP worker
     * writes the row ?key= (count 41), the task reads it, increments it and returns the table
     * object, which comes back the same way; the HTTP worker then reads the increment.
     */
    public function capturedTable(Request $request): JsonResponse
    {
        $key = (string) $request->query('key', 'captured');
        $table = Octane::table('visits');
        $table->set($key, ['page' => 'from-http', 'count' => 41]);

        return $this->timed(function () use ($table, $key) {
            $task = Octane::concurrently(['task' => function () use ($table, $key) {
                return [
                    'pid' => getmypid(),
                    'kind' => getenv('ASKR_WORKER_KIND') ?: null,
                    'class' => $table::class,
                    'row' => $table->get($key),
                    'incremented' => $table->incr($key, 'count'),
                    'rows' => $table->count(),
                    'table' => $table,
                ];
            }])['task'];

            $returned = $task['table'];
            unset($task['table']);

            return [
                'task' => $task,
                'after' => $table->get($key, 'count'),
                'rows' => $table->count(),
                'returned' => ['class' => $returned::class, 'count' => $returned->get($key, 'count')],
            ];
        });
    }

    /**
     * Octane::tasks()->dispatch(): fire and forget. The task writes ?token= into the 'dispatched'
     * table after ?ms= (default 200) ms; /api/tasks/dispatched?token= reads it.
     */
    public function dispatch(Request $request): JsonResponse
    {
        $token = (string) $request->query('token', 'dispatched');
        $sleep = (int) $request->query('ms', 200);

        return $this->timed(function () use ($token, $sleep) {
            Octane::tasks()->dispatch([function () use ($token, $sleep) {
                usleep($sleep * 1000);
                Octane::table('dispatched')->set($token, ['pid' => getmypid(), 'at' => microtime(true)]);
            }]);

            return 'dispatched';
        });
    }

    public function dispatched(Request $request): JsonResponse
    {
        return response()->json([
            'row' => Octane::table('dispatched')->get((string) $request->query('token', 'dispatched')),
            'pid' => getmypid(),
        ]);
    }

    /** What the ticks registered in AppServiceProvider have counted (table 'ticks'). */
    public function ticks(): JsonResponse
    {
        return response()->json([
            'every_second' => Octane::table('ticks')->get('every-second') ?: null,
            'every_two_seconds' => Octane::table('ticks')->get('every-two-seconds') ?: null,
            'now' => microtime(true),
            'pid' => getmypid(),
        ], 200, [], JSON_PRESERVE_ZERO_FRACTION);
    }

    /** The interval cache entry registered in AppServiceProvider (refreshed every second by the ticks). */
    public function interval(): JsonResponse
    {
        return response()->json([
            'value' => Cache::store('octane')->get('example-interval'),
            'pid' => getmypid(),
        ], 200, [], JSON_PRESERVE_ZERO_FRACTION);
    }

    /**
     * Runs $action, timing it with hrtime; a task's exception is answered with 500, its class
     * (TaskException, ...), the original class (TaskException::getClass()) and message.
     */
    private function timed(callable $action): JsonResponse
    {
        $start = hrtime(true);

        try {
            $results = $action();
            $status = 200;
            $body = ['results' => $results];
        } catch (Throwable $e) {
            $status = 500;
            $body = [
                'error' => get_class($e),
                'original' => $e instanceof TaskException ? $e->getClass() : null,
                'message' => $e->getMessage(),
                'timeout' => $e instanceof TaskTimeoutException,
            ];
        }

        return response()->json($body + [
            'elapsed_ms' => (hrtime(true) - $start) / 1e6,
            'pid' => getmypid(),
        ], $status, [], JSON_PRESERVE_ZERO_FRACTION);
    }
}
