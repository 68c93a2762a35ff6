<?php

namespace App\Providers;

use Illuminate\Foundation\Support\Providers\RouteServiceProvider as ServiceProvider;
use Illuminate\Support\Facades\Route;

class RouteServiceProvider extends ServiceProvider
{
    public function boot()
    {
        // Laravel's /broadcasting/auth (web middleware: the session's user) and the channels it authorizes.
        \Illuminate\Support\Facades\Broadcast::routes();
        require base_path('routes/channels.php');

        $this->routes(function () {
            Route::prefix('api')->middleware('api')->group(base_path('routes/api.php'));

            Route::middleware('web')->group(base_path('routes/web.php'));
        });
    }
}
