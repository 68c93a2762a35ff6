<?php

namespace Askr\Octane\Tasks;

/**
 * The task AskrTaskDispatcher sends once to learn whether the server runs task workers.
 */
final class ProbeTask
{
    public function __invoke(): bool
    {
        return true;
    }
}
