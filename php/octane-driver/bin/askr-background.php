<?php

/*
|--------------------------------------------------------------------------
| askr background worker script
|--------------------------------------------------------------------------
|
| `askr serve --background-worker NAME=this-file` runs this file in a background
| worker (docs/background-workers.md of the askr repository). It boots the Laravel
| application's console kernel and calls the Artisan command that
| config('octane.askr.background_workers.NAME') names: a background worker is an
| ordinary Artisan command, which publishes with Askr\Octane\BackgroundWorkers::set()
| and returns when BackgroundWorkers::shouldStop() says so.
|
| Environment: APP_BASE_PATH (set by `octane:start --server=askr`), and from the
| runtime ASKR_WORKER_KIND=background and ASKR_BACKGROUND_WORKER=NAME (also argv[1]).
|
*/

use Askr\Octane\Background\BackgroundWorkerDeclarations;
use Illuminate\Contracts\Console\Kernel;

$askrEnv = static fn (string $name) => $_SERVER[$name] ?? $_ENV[$name] ?? (getenv($name) !== false ? getenv($name) : null);

foreach (['STDIN' => 'r', 'STDOUT' => 'w', 'STDERR' => 'w'] as $askrStream => $askrMode) {
    if (! defined($askrStream)) {
        define($askrStream, fopen('php://'.strtolower($askrStream), $askrMode));
    }
}

ini_set('display_errors', 'stderr');

$basePath = $askrEnv('APP_BASE_PATH');
$name = $_SERVER['argv'][1] ?? $askrEnv('ASKR_BACKGROUND_WORKER');

if (! is_string($basePath) || $basePath === '' || ! is_string($name) || $name === '') {
    fwrite(STDERR, 'askr background worker: APP_BASE_PATH and the worker name are needed; start the server with `php artisan octane:start --server=askr`.'.PHP_EOL);

    exit(11);
}

// An Artisan command runs as in a console.
$_ENV['APP_RUNNING_IN_CONSOLE'] = 'true';
putenv('APP_RUNNING_IN_CONSOLE=true');

require_once $basePath.'/vendor/autoload.php';

$app = require $basePath.'/bootstrap/app.php';
$kernel = $app->make(Kernel::class);
$kernel->bootstrap();

$command = BackgroundWorkerDeclarations::command($app['config']->get('octane.askr.background_workers'), $name);

if ($command === null) {
    fwrite(STDERR, "askr background worker: config('octane.askr.background_workers.{$name}') names no Artisan command.".PHP_EOL);

    exit(12);
}

$status = $kernel->call($command, [], new Symfony\Component\Console\Output\StreamOutput(STDOUT));
$kernel->terminate(new Symfony\Component\Console\Input\StringInput($command), $status);

exit($status);
