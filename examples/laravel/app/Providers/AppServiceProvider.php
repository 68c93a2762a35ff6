<?php

namespace App\Providers;

use App\Support\Basket;
use Illuminate\Support\ServiceProvider;
use RuntimeException;

class AppServiceProvider extends ServiceProvider
{
    public function register()
    {
        // Resolved during requests only (not warmed), so Octane gives each request a fresh one.
        $this->app->singleton(Basket::class);
    }

    public function boot()
    {
        // Lets the end-to-end suite check what a worker does when the application cannot boot.
        if (! $this->app->runningInConsole() && getenv('ASKR_EXAMPLE_FAIL_BOOT')) {
            throw new RuntimeException('boot failure requested by ASKR_EXAMPLE_FAIL_BOOT');
        }
    }
}
