<?php

namespace Askr\Octane\Commands;

use Laravel\Octane\Commands\StartCommand as OctaneStartCommand;

/**
 * octane:start, bound in place of Octane's: `--server=askr` starts askr through the
 * hidden octane:askr command (as Octane does with octane:roadrunner / octane:swoole),
 * every other server goes to Octane's own command unchanged.
 */
class StartCommand extends OctaneStartCommand
{
    use Concerns\RecognisesAskr;

    /** Options askr needs that an Octane version may lack (1.5 has neither; 2.x has both). */
    protected const ASKR_OPTIONS = [
        '--admin-port' => '{--admin-port= : The port of the server\'s admin endpoint (askr, FrankenPHP)}',
        '--log-level' => '{--log-level= : Log messages at or above the specified log level}',
        '--resp-port' => '{--resp-port= : The port of the RESP (Redis protocol) endpoint over the tables (askr) [default: config(\'octane.askr.resp_port\'), else none]}',
    ];

    public function __construct()
    {
        foreach (static::ASKR_OPTIONS as $name => $definition) {
            if (! str_contains($this->signature, '{'.$name.'=')) {
                $this->signature .= "\n                    ".$definition;
            }
        }

        parent::__construct();
    }

    public function handle()
    {
        return $this->serverIsAskr() ? $this->startAskrServer() : parent::handle();
    }

    /**
     * Start the askr server for Octane.
     *
     * @return int
     */
    protected function startAskrServer()
    {
        return $this->call('octane:askr', [
            '--host' => $this->getHost(),
            '--port' => $this->getPort(),
            '--workers' => $this->option('workers'),
            '--task-workers' => $this->option('task-workers'),
            '--max-requests' => $this->option('max-requests'),
            '--admin-port' => $this->option('admin-port'),
            '--log-level' => $this->option('log-level'),
            '--resp-port' => $this->option('resp-port'),
            '--watch' => $this->option('watch'),
            '--poll' => $this->option('poll'),
        ]);
    }
}
