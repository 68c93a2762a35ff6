<?php

namespace Askr\Octane;

use Askr\Octane\Server\AdminClient;
use Askr\Octane\Server\ServerProcessInspector;
use Askr\Octane\Server\ServerStateFile;
use Illuminate\Support\ServiceProvider;
use Laravel\Octane\Commands as Octane;
use Laravel\Octane\PosixExtension;

/**
 * Registers the `askr` server with Laravel Octane.
 *
 * Octane has no server registry: octane:start/status/reload/stop each match on the
 * server name. Artisan resolves command classes through the container, so binding
 * Octane's command classes to subclasses that know `askr` (and defer to Octane for
 * every other server) adds the server without touching Octane.
 *
 * Configuration (all optional), under config('octane.askr'): `binary` (path of the askr
 * executable), `admin_port`, `log_level`, `worker_script`, `response_cache` (size of askr's
 * response cache, e.g. "256M"; docs/response-cache.md), `response_cache_ignore_cookies`,
 * `pusher` (Pusher apps, docs/websockets.md), `record_errors` (and `record_sensitive`,
 * `record_redact`, `record_max_files`, `record_max_bytes`: docs/lifecycle.md).
 *
 * Also registers the `askr` broadcaster (Broadcast::extend('askr')).
 */
class AskrServiceProvider extends ServiceProvider
{
    public function register()
    {
        $this->app->bind(Octane\StartCommand::class, Commands\StartCommand::class);
        $this->app->bind(Octane\StatusCommand::class, Commands\StatusCommand::class);
        $this->app->bind(Octane\ReloadCommand::class, Commands\ReloadCommand::class);
        $this->app->bind(Octane\StopCommand::class, Commands\StopCommand::class);

        $this->app->bind(ServerStateFile::class, function ($app) {
            return new ServerStateFile($app['config']->get(
                'octane.state_file',
                storage_path('logs/octane-server-state.json')
            ));
        });

        $this->app->bind(ServerProcessInspector::class, function ($app) {
            return new ServerProcessInspector(
                $app->make(ServerStateFile::class),
                new AdminClient,
                new PosixExtension,
            );
        });
    }

    public function boot()
    {
        // Route middleware of askr's response cache: ->middleware('askr.cache:60,tags=posts').
        $this->app['router']->aliasMiddleware('askr.cache', ResponseCache\CacheResponse::class);
        // Broadcast::extend('askr'): Laravel broadcasting on askr's Pusher-protocol WebSockets (docs/websockets.md).
        if (class_exists(\Illuminate\Broadcasting\BroadcastManager::class)) {
            $this->app->afterResolving(\Illuminate\Broadcasting\BroadcastManager::class, function ($manager) {
                $manager->extend('askr', fn ($app, array $config) => new Broadcasting\AskrBroadcaster($config));
            });
        }

        if ($this->app->runningInConsole()) {
            $this->commands([
                Commands\StartAskrCommand::class,
                Commands\PurgeResponseCacheCommand::class,
                Commands\ReplayCommand::class,
            ]);
        }
    }
}
