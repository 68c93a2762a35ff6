<?php

namespace Askr\Octane\Lifecycle;

use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use ReflectionFunction;
use Throwable;

/**
 * Defer after send for Laravel apps (docs/lifecycle.md): `Askr\Octane\defer(fn () => ...)`.
 *
 * Inside askr the callback goes to the runtime's Ephpm\Octane\defer(): it runs once the response
 * is complete on the wire, before the worker takes its next request. The worker script runs the
 * queue on Octane's RequestTerminated event (after the kernel's terminate, before Octane resets
 * the sandbox), so a callback still sees the request's container. An exception is reported
 * through the application's exception handler, and the callbacks after it still run.
 *
 * Outside askr (artisan, php-fpm, another Octane server) the callback runs when the application
 * terminates (Application::terminating()), or at once when there is no Laravel application.
 */
final class DeferredCallbacks
{
    /** Whether the runtime's natives are registered (internal functions), not the stand-ins. */
    public static function insideAskr(): bool
    {
        static $inside = null;

        return $inside ??= function_exists('Ephpm\Octane\defer')
            && (new ReflectionFunction('Ephpm\Octane\defer'))->isInternal();
    }

    public static function defer(callable $callback): void
    {
        if (self::insideAskr()) {
            \Ephpm\Octane\defer(self::reporting($callback));

            return;
        }

        $app = Container::getInstance();

        if (method_exists($app, 'terminating')) {
            $app->terminating(self::reporting($callback));

            return;
        }

        $callback();
    }

    /**
     * Runs the queue now, once the response is on the wire (the worker script calls it on
     * Octane's RequestTerminated). Returns how many callbacks ran.
     */
    public static function runNow(): int
    {
        return self::insideAskr() ? \Ephpm\Octane\run_deferred() : 0;
    }

    /** The callback, with its exception reported through the current application's handler. */
    private static function reporting(callable $callback): \Closure
    {
        return static function () use ($callback): void {
            try {
                $callback();
            } catch (Throwable $e) {
                $app = Container::getInstance();

                if (! $app->bound(ExceptionHandler::class)) {
                    throw $e;
                }

                $app->make(ExceptionHandler::class)->report($e);
            }
        };
    }
}
