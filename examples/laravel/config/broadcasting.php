<?php

// Broadcasting on askr's own Pusher-protocol WebSockets (docs/websockets.md of the askr repository):
// octane:start --server=askr serves the app below on its own host and port (GET /app/{key} for
// Echo, /apps/{id}/... for the HTTP API), so nothing runs beside the app.

$app = [
    'key' => env('PUSHER_APP_KEY', 'askr-example-key'),
    'secret' => env('PUSHER_APP_SECRET', 'askr-example-secret'),
    'app_id' => env('PUSHER_APP_ID', 'askr-example'),
];

return [
    'default' => env('BROADCAST_DRIVER', 'askr'),

    'connections' => [
        // The driver's broadcaster: inside askr it publishes through Ephpm\Octane\broadcast(), no HTTP hop;
        // elsewhere (queue workers) it POSTs to the HTTP API at options.host:options.port.
        'askr' => $app + [
            'driver' => 'askr',
            'options' => [
                'host' => env('PUSHER_HOST', '127.0.0.1'),
                'port' => env('PUSHER_PORT', 8000),
                'scheme' => env('PUSHER_SCHEME', 'http'),
            ],
        ],

        // Laravel's own pusher broadcaster works against the same HTTP API when pusher/pusher-php-server
        // is installed (not packaged on this project's build machines): BROADCAST_DRIVER=pusher.
        'pusher' => $app + [
            'driver' => 'pusher',
            'options' => [
                'host' => env('PUSHER_HOST', '127.0.0.1'),
                'port' => env('PUSHER_PORT', 8000),
                'scheme' => env('PUSHER_SCHEME', 'http'),
                'useTLS' => env('PUSHER_SCHEME', 'http') === 'https',
            ],
        ],

        'log' => ['driver' => 'log'],
        'null' => ['driver' => 'null'],
    ],
];
