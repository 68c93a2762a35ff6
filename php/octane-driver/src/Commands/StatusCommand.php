<?php

namespace Askr\Octane\Commands;

use Askr\Octane\Server\ServerProcessInspector;
use Laravel\Octane\Commands\StatusCommand as OctaneStatusCommand;

/**
 * octane:status, bound in place of Octane's: askr is asked through its admin endpoint.
 */
class StatusCommand extends OctaneStatusCommand
{
    use Concerns\RecognisesAskr;

    public function handle()
    {
        if (! $this->serverIsAskr()) {
            return parent::handle();
        }

        $isRunning = app(ServerProcessInspector::class)->serverIsRunning();

        $this->info($isRunning ? 'Octane server is running.' : 'Octane server is not running.');

        return $isRunning ? 0 : 1;
    }
}
