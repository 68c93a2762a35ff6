<?php

use Laravel\Octane\Contracts\OperationTerminated;
use Laravel\Octane\Events\RequestHandled;
use Laravel\Octane\Events\RequestReceived;
use Laravel\Octane\Events\RequestTerminated;
use Laravel\Octane\Events\TaskReceived;
use Laravel\Octane\Events\TaskTerminated;
use Laravel\Octane\Events\TickReceived;
use Laravel\Octane\Events\TickTerminated;
use Laravel\Octane\Events\WorkerErrorOccurred;
use Laravel\Octane\Events\WorkerStarting;
use Laravel\Octane\Events\WorkerStopping;
use Laravel\Octane\Listeners\EnsureUploadedFilesAreValid;
use Laravel\Octane\Listeners\EnsureUploadedFilesCanBeMoved;
use Laravel\Octane\Listeners\FlushTemporaryContainerInstances;
use Laravel\Octane\Listeners\ReportException;
use Laravel\Octane\Listeners\StopWorkerIfNecessary;
use Laravel\Octane\Octane;

// Octane's configuration as `php artisan octane:install` would publish it, trimmed,
// with askr selected and the askr section the driver reads.

return [
    'server' => env('OCTANE_SERVER', 'askr'),

    // Where octane:start records the running server for octane:status/reload/stop; one per
    // server when several run from this directory (the three-node cluster test does).
    'state_file' => env('OCTANE_STATE_FILE', storage_path('logs/octane-server-state.json')),

    'https' => env('OCTANE_HTTPS', false),

    'askr' => [
        // Path of the askr executable; null: the ASKR_BINARY environment variable, then the PATH, then base_path('askr').
        // This example lives in the askr repository, so it uses the runtime that scripts/setup.sh built.
        'binary' => env('ASKR_BINARY') ? null : (realpath(base_path('../../build/askr/askr')) ?: null),
        // Port of askr's admin endpoint on 127.0.0.1; null: a free port, recorded in the state file.
        'admin_port' => env('ASKR_ADMIN_PORT'),
        'log_level' => env('ASKR_LOG_LEVEL'),
        // Port of askr's RESP (Redis protocol) endpoint over the tables, on 127.0.0.1; null: none.
        'resp_port' => env('ASKR_RESP_PORT'),
        // Size of askr's response cache in shared memory (docs/response-cache.md), e.g. "256M"; null: off.
        'response_cache' => env('ASKR_RESPONSE_CACHE'),
        // Cookies that do not make a request personal for the response cache (name* for a prefix).
        'response_cache_ignore_cookies' => ['_ga*'],
        // Background workers (docs/background-workers.md of the askr repository): name => Artisan command
        // (or a .php script, or ['command' => ..., 'num' => N, 'lazy' => true]). Only when
        // ASKR_EXAMPLE_BACKGROUND is set, so the other tests do not pay for the extra process.
        'background_workers' => env('ASKR_EXAMPLE_BACKGROUND') ? [
            'flags' => 'flags:watch',
        ] : [],
        // Replicate the tables with other nodes (docs/cluster.md of the askr repository); port null: alone.
        'cluster' => [
            'port' => env('ASKR_CLUSTER_PORT'),
            'host' => env('ASKR_CLUSTER_HOST'),
            'advertise' => env('ASKR_CLUSTER_ADVERTISE'),
            'seeds' => env('ASKR_CLUSTER_SEEDS'),
            'secret' => env('ASKR_CLUSTER_SECRET'),
        ],
    ],

    'listeners' => [
        WorkerStarting::class => [
            EnsureUploadedFilesAreValid::class,
            EnsureUploadedFilesCanBeMoved::class,
        ],

        RequestReceived::class => [
            ...Octane::prepareApplicationForNextOperation(),
            ...Octane::prepareApplicationForNextRequest(),
        ],

        RequestHandled::class => [],

        RequestTerminated::class => [],

        TaskReceived::class => [
            ...Octane::prepareApplicationForNextOperation(),
        ],

        TaskTerminated::class => [],

        TickReceived::class => [
            ...Octane::prepareApplicationForNextOperation(),
        ],

        TickTerminated::class => [],

        OperationTerminated::class => [
            FlushTemporaryContainerInstances::class,
        ],

        WorkerErrorOccurred::class => [
            ReportException::class,
            StopWorkerIfNecessary::class,
        ],

        WorkerStopping::class => [],
    ],

    'warm' => [
        ...Octane::defaultServicesToWarm(),
    ],

    'flush' => [],

    'cache' => [
        'rows' => 1000,
        'bytes' => 10000,
    ],

    // Shared by every worker of the node (askr's shared-memory store): Octane::table('visits').
    // 'limited' is deliberately tiny: the tests fill it and write too-long values to it.
    'tables' => [
        'visits:1000' => [
            'page' => 'string:100',
            'count' => 'int',
            'last_seen' => 'float',
        ],
        'limited:3' => [
            'name' => 'string:10',
            'n' => 'int',
        ],
        // Counted by the ticks of AppServiceProvider (rows 'every-second', 'every-two-seconds').
        'ticks:10' => [
            'count' => 'int',
            'last' => 'float',
        ],
        // Written by the fire-and-forget task of /api/tasks/dispatch.
        'dispatched:100' => [
            'pid' => 'int',
            'at' => 'float',
        ],
    ],

    'watch' => [
        'app',
        'bootstrap',
        'config',
        'database',
        'public/**/*.php',
        'resources/**/*.php',
        'routes',
        '.env',
    ],

    'garbage' => 50,

    'max_execution_time' => 30,
];
