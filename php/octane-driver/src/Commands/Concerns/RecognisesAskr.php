<?php

namespace Askr\Octane\Commands\Concerns;

trait RecognisesAskr
{
    /**
     * Whether the chosen server is askr: --server, else config('octane.server') (env OCTANE_SERVER).
     */
    protected function serverIsAskr(): bool
    {
        return ($this->option('server') ?: config('octane.server')) === 'askr';
    }
}
