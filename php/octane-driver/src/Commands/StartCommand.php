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

    /**
     * Options askr needs that an Octane version may lack: 1.5 has none of them; 2.x has
     * --admin-port (described as FrankenPHP's) and --log-level, and never --resp-port.
     */
    protected const ASKR_OPTIONS = [
        '--admin-port' => '{--admin-port= : The port of the server\'s admin endpoint (askr, FrankenPHP)}',
        '--log-level' => '{--log-level= : Log messages at or above the specified log level}',
        '--resp-port' => '{--resp-port= : The port of the RESP (Redis protocol) endpoint over the tables (askr) [default: config(\'octane.askr.resp_port\'), else none]}',
    ];

    /**
     * Flags askr maps that an Octane version may lack: 1.5 has neither, 2.2 has --https
     * (described as FrankenPHP's); --http-redirect came with later 2.x releases.
     */
    protected const ASKR_FLAGS = [
        '--https' => '{--https : Serve HTTPS (HTTP/1.1 and HTTP/2) on the port (askr, FrankenPHP)}',
        '--http-redirect' => '{--http-redirect : Redirect plain HTTP to HTTPS; only with --https (askr, FrankenPHP)}',
    ];

    /** Octane 2.x's description of --https, which askr serves too. */
    protected const FRANKENPHP_HTTPS = '{--https : Enable HTTPS, HTTP/2, and HTTP/3, and automatically generate and renew certificates [FrankenPHP only]}';

    /** Octane 2.x's description of --admin-port, which askr uses too. */
    protected const FRANKENPHP_ADMIN_PORT = '{--admin-port= : The port the admin server should be available on [FrankenPHP only]}';

    public function __construct()
    {
        $this->signature = str_replace(static::FRANKENPHP_ADMIN_PORT, static::ASKR_OPTIONS['--admin-port'], $this->signature);

        foreach (static::ASKR_OPTIONS as $name => $definition) {
            if (! str_contains($this->signature, '{'.$name.'=')) {
                $this->signature .= "\n                    ".$definition;
            }
        }

        $this->signature = str_replace(static::FRANKENPHP_HTTPS, static::ASKR_FLAGS['--https'], $this->signature);

        foreach (static::ASKR_FLAGS as $name => $definition) {
            if (! str_contains($this->signature, '{'.$name.' ') && ! str_contains($this->signature, '{'.$name.'}')) {
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
     * What octane:start's signal handler (SIGINT, SIGTERM) calls: for askr, the running
     * octane:askr command stops askr and waits for its graceful stop (StartAskrCommand::stopServer());
     * Octane 2.x exits right after this returns.
     */
    protected function stopServer()
    {
        $askr = $this->serverIsAskr() && $this->getApplication()?->has('octane:askr') ? $this->getApplication()->find('octane:askr') : null;

        return $askr instanceof StartAskrCommand ? $askr->stopServer() : parent::stopServer();
    }

    /**
     * Start the askr server for Octane.
     *
     * @return int
     */
    protected function startAskrServer()
    {
        // FrankenPHP ignores --http-redirect without --https; askr says so instead.
        if ($this->option('http-redirect') && ! $this->option('https')) {
            $this->error('--http-redirect redirects plain HTTP to HTTPS: give --https as well.');

            return 1;
        }

        return $this->call('octane:askr', [
            '--host' => $this->getHost(),
            '--port' => $this->getPort(),
            '--workers' => $this->option('workers'),
            '--task-workers' => $this->option('task-workers'),
            '--max-requests' => $this->option('max-requests'),
            '--admin-port' => $this->option('admin-port'),
            '--log-level' => $this->option('log-level'),
            '--resp-port' => $this->option('resp-port'),
            '--https' => $this->option('https'),
            '--http-redirect' => $this->option('http-redirect'),
            '--watch' => $this->option('watch'),
            '--poll' => $this->option('poll'),
        ]);
    }
}
