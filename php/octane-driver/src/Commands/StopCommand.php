<?php

namespace Askr\Octane\Commands;

use Askr\Octane\Server\ServerProcessInspector;
use Askr\Octane\Server\ServerStateFile;
use Laravel\Octane\Commands\StopCommand as OctaneStopCommand;

/**
 * octane:stop, bound in place of Octane's: askr finishes in-flight requests, then exits.
 */
class StopCommand extends OctaneStopCommand
{
    use Concerns\RecognisesAskr;

    public function handle()
    {
        if (! $this->serverIsAskr()) {
            return parent::handle();
        }

        $inspector = app(ServerProcessInspector::class);
        $stateFile = app(ServerStateFile::class);

        if (! $inspector->serverIsRunning()) {
            $stateFile->delete();

            $this->error('askr server is not running.');

            return 1;
        }

        $this->info('Stopping server...');

        if (! $inspector->stopServer()) {
            $this->error('Failed to stop askr server.');

            return 1;
        }

        $stateFile->delete();

        return 0;
    }
}
