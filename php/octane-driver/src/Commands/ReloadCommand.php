<?php

namespace Askr\Octane\Commands;

use Askr\Octane\Server\ServerProcessInspector;
use Laravel\Octane\Commands\ReloadCommand as OctaneReloadCommand;

/**
 * octane:reload, bound in place of Octane's: askr replaces its workers one at a time.
 */
class ReloadCommand extends OctaneReloadCommand
{
    use Concerns\RecognisesAskr;

    public function handle()
    {
        if (! $this->serverIsAskr()) {
            return parent::handle();
        }

        $inspector = app(ServerProcessInspector::class);

        if (! $inspector->serverIsRunning()) {
            $this->error('Octane server is not running.');

            return 1;
        }

        $this->info('Reloading workers...');

        $inspector->reloadServer();

        return 0;
    }
}
