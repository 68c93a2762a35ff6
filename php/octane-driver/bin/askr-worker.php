<?php

/*
|--------------------------------------------------------------------------
| askr worker script
|--------------------------------------------------------------------------
|
| `askr serve --worker-script` runs this file in every PHP worker. It boots the
| Laravel application once through Octane's Worker, then answers requests in a
| loop on Ephpm\Octane\take_request() until the runtime shuts the worker down
| (take_request() returns null) or MAX_REQUESTS requests have been handled; the
| runtime then runs the script again. Modelled on Octane's FrankenPHP worker.
|
| Environment: APP_BASE_PATH (required: the application's base path, set by
| `octane:start --server=askr`), MAX_REQUESTS (optional, 0 or unset: no limit),
| ASKR_WORKER_KIND (set by the runtime: "task" in the task workers of
| `askr serve --task-workers`, which run Octane's tasks and ticks instead of HTTP
| requests, see docs/tasks.md),
| ASKR_TASK_WORKERS (set by octane:start: how many task workers askr runs).
| The tables are the runtime's: Ephpm\Octane\table_names() says which it holds, and
| they reach the application as Octane's WorkerState->tables and 'octane.cacheTable'
| (docs/tables-php.md).
|
*/

use Askr\Octane\Lifecycle\DeferredCallbacks;
use Askr\Octane\Server\AskrClient;
use Askr\Octane\Server\MaxRequests;
use Askr\Octane\Server\RuntimeNatives;
use Askr\Octane\Tables\WorkerTables;
use Askr\Octane\Tasks\TaskStatus;
use Askr\Octane\Tasks\TaskWorkerClient;
use Askr\Octane\Tasks\TaskWorkerLoop;
use Askr\Octane\Tasks\WorkerTasks;
use Laravel\Octane\ApplicationFactory;
use Laravel\Octane\Events\RequestTerminated;
use Laravel\Octane\Exceptions\DdException;
use Laravel\Octane\Stream;
use Laravel\Octane\Worker;

$askrEnv = static fn (string $name) => $_SERVER[$name] ?? $_ENV[$name] ?? (getenv($name) !== false ? getenv($name) : null);

// Only the CLI SAPI defines these; Octane's Stream (worker error reporting) writes to them.
foreach (['STDIN' => 'r', 'STDOUT' => 'w', 'STDERR' => 'w'] as $askrStream => $askrMode) {
    if (! defined($askrStream)) {
        define($askrStream, fopen('php://'.strtolower($askrStream), $askrMode));
    }
}

ini_set('display_errors', 'stderr');
ignore_user_abort(true);

// As Octane's bin/bootstrap.php: the app must not believe it runs in a console.
$_ENV['APP_RUNNING_IN_CONSOLE'] = false;

$basePath = $askrEnv('APP_BASE_PATH');

if (! is_string($basePath) || $basePath === '') {
    fwrite(STDERR, 'askr worker: APP_BASE_PATH is not set; start the server with `php artisan octane:start --server=askr`.'.PHP_EOL);

    exit(11);
}

// Defined before the autoloader, so Symfony's dd() does not win: Octane turns dd() into an exception.
if (! function_exists('dd')) {
    function dd(...$vars)
    {
        throw new DdException($vars);
    }
}

if (! is_file($autoloadFile = $basePath.'/vendor/autoload.php')) {
    fwrite(STDERR, "askr worker: {$autoloadFile} was not found. Did you install the project's dependencies?".PHP_EOL);

    exit(10);
}

require_once $autoloadFile;

$isTaskWorker = WorkerTasks::isTaskWorker($askrEnv('ASKR_WORKER_KIND'));
$client = $isTaskWorker ? new TaskWorkerClient() : new AskrClient();
// After MAX_REQUESTS requests (plus up to 20 % at random, so the workers do not all do it at once:
// MaxRequests) the loop ends; askr then runs this script again in the same process: PHP frees
// everything the app allocated and the app boots afresh, while requests wait in askr's queue, none fails.
$maxRequests = MaxRequests::forThisWorker((int) ($askrEnv('MAX_REQUESTS') ?? 0));
$requestCount = 0;

try {
    $tables = WorkerTables::fromRuntime();

    $worker = new Worker(new ApplicationFactory($basePath), $client);
    $worker->boot(array_merge(
        $tables->initialInstances(),
        WorkerTasks::initialInstances($isTaskWorker, null, $askrEnv('ASKR_TASK_WORKERS')),
    ));

    unset($tables);

    // Defer after send (docs/lifecycle.md): what the request deferred runs once its response is on
    // the wire, before Octane resets the sandbox, so the callbacks still see the request's container.
    $worker->application()->make('events')->listen(RequestTerminated::class, static function (): void {
        DeferredCallbacks::runNow();
    });
} catch (Throwable $e) {
    // The application cannot boot: answer the request that is waiting for this worker,
    // tell the console why, and fail so the supervisor reports it and runs us again.
    // The half-booted application's handlers must not render anything from here on.
    set_exception_handler(null);
    restore_error_handler();

    Stream::shutdown($e);

    try {
        if ($isTaskWorker) {
            // The task (or tick) waiting for this worker fails at once instead of at its deadline.
            if ((new RuntimeNatives())->takeTask() !== null) {
                (new RuntimeNatives())->sendTaskResult('the application could not boot in the task worker: '.$e->getMessage(), TaskStatus::Error->value);
            }
        } elseif ($client->nextRequest() !== null) {
            $client->sendError();
        }
    } catch (Throwable $answerFailure) {
        Stream::throwable($answerFailure);
    }

    exit(1);
}

if ($isTaskWorker) {
    try {
        $reportFailure = static function (Throwable $e) use ($worker): void {
            Stream::throwable($e);
            $worker->application()->make(Illuminate\Contracts\Debug\ExceptionHandler::class)->report($e);
        };

        (new TaskWorkerLoop(
            $worker,
            new RuntimeNatives(),
            $reportFailure,
            (bool) $worker->application()->make('config')->get('octane.tick', true),
        ))->run($maxRequests);
    } finally {
        $worker->terminate();
    }

    return;
}

try {
    while (($maxRequests <= 0 || $requestCount < $maxRequests) && ($context = $client->nextRequest()) !== null) {
        try {
            [$request, $context] = $client->marshalRequest($context);

            $worker->handle($request, $context);
        } catch (Throwable $e) {
            // Worker::handle() reports the application's errors itself; this is a failure around it
            // (e.g. an unparseable envelope). Log it and answer 500.
            Stream::throwable($e);
        } finally {
            $client->finishRequest();
            unset($request, $context);
        }

        $requestCount++;
    }
} finally {
    $worker->terminate();
}
