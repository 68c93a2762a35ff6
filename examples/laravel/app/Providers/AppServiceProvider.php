<?php

namespace App\Providers;

use App\Support\Basket;
use Illuminate\Support\Facades\Cache;
use Illuminate\Support\ServiceProvider;
use Laravel\Octane\Facades\Octane;
use RuntimeException;

class AppServiceProvider extends ServiceProvider
{
    public function register()
    {
        // Resolved during requests only (not warmed), so Octane gives each request a fresh one.
        $this->app->singleton(Basket::class);

        // Once per application boot: a worker that boots the app again gets a new one.
        $this->app->instance('example.boot_id', bin2hex(random_bytes(6)));
    }

    public function boot()
    {
        // Lets the end-to-end suite check what a worker does when the application cannot boot.
        if (! $this->app->runningInConsole() && getenv('ASKR_EXAMPLE_FAIL_BOOT')) {
            throw new RuntimeException('boot failure requested by ASKR_EXAMPLE_FAIL_BOOT');
        }

        // Ticks (docs/tasks.md): askr's task workers fire Octane's TickReceived once a second per
        // node; Octane::tick() runs each callback every ->seconds(n), once per node.
        Octane::tick('example-every-second', fn () => $this->countTick('every-second'));
        Octane::tick('example-every-two-seconds', fn () => $this->countTick('every-two-seconds'))->seconds(2);

        // An interval cache entry: refreshed on the ticks, shared by every worker through the
        // octane cache table. `pid` is the process that computed it (a task worker).
        Cache::store('octane')->interval('example-interval', fn () => [
            'token' => bin2hex(random_bytes(6)),
            'pid' => getmypid(),
            'at' => microtime(true),
        ], 1);
    }

    private function countTick(string $row): void
    {
        $table = Octane::table('ticks');
        $table->incr($row, 'count');
        $table->set($row, ['last' => microtime(true)]);
    }
}
