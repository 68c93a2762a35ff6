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

        foreach (($isRunning ? app(ServerProcessInspector::class)->status() : null)['background_workers'] ?? [] as $worker) {
            $this->line(sprintf(
                '  background worker %s%s: %s%s, generation %d, %d restart(s)',
                $worker['name'],
                ($worker['index'] ?? 0) > 0 ? " #{$worker['index']}" : '',
                $worker['state'],
                isset($worker['pid']) ? " (pid {$worker['pid']})" : '',
                $worker['generation'] ?? 0,
                $worker['restarts'] ?? 0,
            ));
        }

        return $isRunning ? 0 : 1;
    }
}
