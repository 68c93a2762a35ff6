<?php

namespace App\Http\Controllers;

use Closure;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\Cache;
use Laravel\Octane\Facades\Octane;
use Throwable;

/**
 * State shared by every worker: Octane::table() and Cache::store('octane'), both backed by
 * askr's shared-memory tables. Every answer is JSON with the pid of the worker that served it;
 * an exception is answered with 500 and its class and message (so the tests can read them).
 */
class SharedStateController
{
    // --- Octane::table('visits'): 'page' string:100, 'count' int, 'last_seen' float ---

    /** Counts a visit of ?page= (atomic across workers), remembers when it happened. */
    public function hit(Request $request): JsonResponse
    {
        return $this->answer(function () use ($request) {
            $table = Octane::table('visits');
            $key = $this->key($request);
            $count = $table->incr($key, 'count', (int) $request->query('by', 1));
            $table->set($key, ['page' => (string) $request->query('page', $key), 'last_seen' => microtime(true)]);

            return ['key' => $key, 'count' => $count];
        });
    }

    /** Atomic increment only (?key=, ?by=, ?column=, default 'count'): what the concurrency test hammers. */
    public function incr(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'count' => Octane::table('visits')->incr($this->key($request), (string) $request->query('column', 'count'), (int) $request->query('by', 1)),
        ]);
    }

    public function read(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'row' => Octane::table('visits')->get($this->key($request)),
            'count' => Octane::table('visits')->get($this->key($request), 'count'),
            'exists' => Octane::table('visits')->exists($this->key($request)),
        ]);
    }

    /** Writes a whole row: ?page=, ?count=. */
    public function write(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'set' => Octane::table('visits')->set($this->key($request), [
                'page' => (string) $request->query('page', ''),
                'count' => (int) $request->query('count', 0),
                'last_seen' => microtime(true),
            ]),
        ]);
    }

    public function forget(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['deleted' => Octane::table('visits')->del($this->key($request))]);
    }

    /** Every row, by iterating the table. */
    public function all(): JsonResponse
    {
        return $this->answer(function () {
            $rows = [];

            foreach (Octane::table('visits') as $key => $row) {
                $rows[$key] = $row;
            }

            ksort($rows);

            return ['rows' => $rows, 'count' => count(Octane::table('visits'))];
        });
    }

    /** What Octane::table() returns: its class, its parents, and which of its methods are internal (C) methods. */
    public function tableClass(): JsonResponse
    {
        return $this->answer(function () {
            $table = Octane::table('visits');
            $methods = [];

            foreach (['get', 'set', 'incr', 'decr', 'exists', 'exist', 'del', 'delete', 'count', 'column'] as $name) {
                $methods[$name] = (new \ReflectionMethod($table, $name))->isInternal();
            }

            return ['class' => get_class($table), 'parents' => array_values(class_parents($table)), 'internal' => $methods];
        });
    }

    // --- Octane::table('limited'): 3 rows, 'name' string:10, 'n' int ---

    /** ?key=, ?name=: fills the table, writes too-long values, uses too-long keys. */
    public function limitedSet(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'set' => Octane::table('limited')->set((string) $request->query('key'), ['name' => (string) $request->query('name', ''), 'n' => 1]),
            'count' => Octane::table('limited')->count(),
        ]);
    }

    public function limitedClear(): JsonResponse
    {
        return $this->answer(function () {
            $table = Octane::table('limited');

            foreach ($table as $key => $row) {
                $table->del($key);
            }

            return ['count' => $table->count()];
        });
    }

    // --- Cache::store('octane') ---

    public function cachePut(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'put' => Cache::store('octane')->put($this->key($request), $request->query('value'), (int) $request->query('ttl', 60)),
        ]);
    }

    public function cacheForever(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['put' => Cache::store('octane')->forever($this->key($request), $request->query('value'))]);
    }

    public function cacheGet(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['value' => Cache::store('octane')->get($this->key($request))]);
    }

    public function cacheIncrement(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['value' => Cache::store('octane')->increment($this->key($request), (int) $request->query('by', 1))]);
    }

    public function cacheDecrement(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['value' => Cache::store('octane')->decrement($this->key($request), (int) $request->query('by', 1))]);
    }

    public function cacheForget(Request $request): JsonResponse
    {
        return $this->answer(fn () => ['forgotten' => Cache::store('octane')->forget($this->key($request))]);
    }

    /** ?keys=a,b,c */
    public function cacheMany(Request $request): JsonResponse
    {
        return $this->answer(fn () => [
            'values' => Cache::store('octane')->many(explode(',', (string) $request->query('keys', ''))),
        ]);
    }

    /** Registers an interval entry (refreshed on each tick) and reads it: the worker's pid when first resolved. */
    public function cacheInterval(): JsonResponse
    {
        return $this->answer(function () {
            Cache::store('octane')->interval('example-interval', fn () => 'resolved by '.getmypid(), 5);

            return ['value' => Cache::store('octane')->get('example-interval')];
        });
    }

    private function key(Request $request): string
    {
        return (string) $request->query('key', $request->query('page', 'home'));
    }

    private function answer(Closure $action): JsonResponse
    {
        try {
            return response()->json($action() + ['pid' => getmypid()], 200, [], JSON_PRESERVE_ZERO_FRACTION);
        } catch (Throwable $e) {
            return response()->json(['error' => get_class($e), 'message' => $e->getMessage(), 'pid' => getmypid()], 500);
        }
    }
}
