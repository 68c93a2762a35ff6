<?php

namespace Askr\Octane\Tasks;

use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use Laravel\Octane\Contracts\Client;
use Laravel\Octane\OctaneResponse;
use Laravel\Octane\RequestContext;
use LogicException;
use Throwable;

/**
 * Octane's Worker needs a Client; a task worker serves no HTTP request, so this one only refuses.
 * It is deliberately not a StoppableClient: Octane's StopWorkerIfNecessary listener stops a
 * worker with a stoppable client after every WorkerErrorOccurred, and a task that throws must
 * not cost the pool a process (Swoole's client is not stoppable either).
 */
final class TaskWorkerClient implements Client
{
    public function marshalRequest(RequestContext $context): array
    {
        throw new LogicException('askr task workers serve no HTTP requests.');
    }

    public function respond(RequestContext $context, OctaneResponse $response): void
    {
        throw new LogicException('askr task workers serve no HTTP requests.');
    }

    public function error(Throwable $e, Application $app, Request $request, RequestContext $context): void
    {
        throw new LogicException('askr task workers serve no HTTP requests.');
    }
}
