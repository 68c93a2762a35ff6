<?php

namespace App\Providers;

use App\Support\Basket;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function register()
    {
        // Resolved during requests only (not warmed), so Octane gives each request a fresh one.
        $this->app->singleton(Basket::class);
    }
}
