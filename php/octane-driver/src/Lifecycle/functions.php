<?php

namespace Askr\Octane;

use Askr\Octane\Lifecycle\DeferredCallbacks;

if (! \function_exists('Askr\Octane\defer')) {
    /**
     * Runs $callback after the response is complete on the wire (inside askr), before the worker
     * takes its next request; an exception is reported through the app's exception handler.
     * See Askr\Octane\Lifecycle\DeferredCallbacks and docs/lifecycle.md.
     *
     * @param  callable(): void  $callback
     */
    function defer(callable $callback): void
    {
        DeferredCallbacks::defer($callback);
    }
}
