<?php

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

Route::post('/validate', function (Request $request) {
    $data = $request->validate([
        'email' => 'required|email',
        'age' => 'required|integer|min:18',
    ]);

    return ['valid' => $data];
});

Route::get('/json', fn () => ['hello' => 'world']);

// Shared state across workers (askr's shared-memory tables): Octane::table() and Cache::store('octane').
Route::controller(\App\Http\Controllers\SharedStateController::class)->group(function () {
    Route::get('/tables/visits/hit', 'hit');
    Route::get('/tables/visits/incr', 'incr');
    Route::get('/tables/visits/read', 'read');
    Route::get('/tables/visits/write', 'write');
    Route::get('/tables/visits/forget', 'forget');
    Route::get('/tables/visits', 'all');
    Route::get('/tables/visits/class', 'tableClass');
    Route::get('/tables/limited/set', 'limitedSet');
    Route::get('/tables/limited/clear', 'limitedClear');
    Route::get('/cache/put', 'cachePut');
    Route::get('/cache/forever', 'cacheForever');
    Route::get('/cache/get', 'cacheGet');
    Route::get('/cache/increment', 'cacheIncrement');
    Route::get('/cache/decrement', 'cacheDecrement');
    Route::get('/cache/forget', 'cacheForget');
    Route::get('/cache/many', 'cacheMany');
    Route::get('/cache/interval', 'cacheInterval');
});

// Octane's tasks and ticks (askr's task workers): docs/tasks.md.
Route::controller(\App\Http\Controllers\TasksController::class)->prefix('tasks')->group(function () {
    Route::get('/concurrently', 'concurrently');
    Route::get('/trivial', 'trivial');
    Route::get('/exception', 'throwing'); // not 'exception': class_exists('exception') is true, Laravel would take it for a class
    Route::get('/timeout', 'timeout');
    Route::get('/partial', 'partial');
    Route::get('/crash', 'crash');
    Route::get('/unserializable', 'unserializable');
    Route::get('/nested', 'nested');
    Route::get('/captured-table', 'capturedTable');
    Route::get('/dispatch', 'dispatch');
    Route::get('/dispatched', 'dispatched');
    Route::get('/ticks', 'ticks');
    Route::get('/interval', 'interval');
});

// Purges askr's response cache from a request: Askr\Octane\ResponseCache runs the native.
Route::post('/response-cache/forget-tag', function (Request $request) {
    \Askr\Octane\ResponseCache::forgetTag($request->input('tag'));

    return ['forgotten' => $request->input('tag')];
});
Route::post('/response-cache/forget', function (Request $request) {
    \Askr\Octane\ResponseCache::forget($request->input('url'));

    return ['forgotten' => $request->input('url')];
});

// Record and replay of 5xx (docs/lifecycle.md): fails, for one body only, with an exception that
// the handler reports and renders as a 500; tests-php/Feature/RecordReplayTest records and replays it.
Route::post('/orders', function (Request $request) {
    $qty = (int) $request->input('qty');

    if ($qty < 1) {
        throw new RuntimeException("order rejected: qty={$qty}");
    }

    return ['accepted' => $qty];
});
// A background worker's vars (app/Console/Commands/WatchFeatureFlags.php): docs/background-workers.md.
Route::get('/background/flags', fn () => response()->json([
    'pid' => getmypid(),
    'vars' => \Askr\Octane\BackgroundWorkers::vars('flags'),
]));
