<?php

namespace Askr\Octane\Commands;

use Illuminate\Console\Command;
use RuntimeException;
use Symfony\Component\Process\Process;

/**
 * `php artisan octane:replay FILE` (docs/lifecycle.md): runs a request recorded by
 * `octane:start --server=askr` with `octane.askr.record_errors` against a fresh interpreter that
 * boots this application as askr's workers do, and prints the response (status line, headers,
 * body). It is `askr replay FILE --root public/ --worker-script <the driver's worker script>`
 * with the workers' environment; askr's exit status is the command's (65: a malformed record).
 */
class ReplayCommand extends Command
{
    public $signature = 'octane:replay
                    {file : A record file, as askr serve writes them into its record-errors directory}
                    {--request-timeout=60 : Seconds the replayed request may run (0: no limit)}';

    public $description = 'Replay a request recorded by the askr server (octane.askr.record_errors) and print the response';

    public function handle(): int
    {
        try {
            $binary = StartAskrCommand::binary()->findOrFail();
        } catch (RuntimeException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        $process = new Process([
            $binary, 'replay', (string) $this->argument('file'),
            '--root', public_path(),
            '--worker-script', StartAskrCommand::workerScript(),
            '--request-timeout', (string) (int) $this->option('request-timeout'),
        ], base_path(), [
            'APP_ENV' => app()->environment(),
            'APP_BASE_PATH' => base_path(),
            'LARAVEL_OCTANE' => 1,
        ], null, null);

        $process->run(function (string $type, string $data): void {
            $type === Process::ERR ? fwrite(STDERR, $data) : $this->output->write($data, false, \Symfony\Component\Console\Output\OutputInterface::OUTPUT_RAW);
        });

        return (int) $process->getExitCode();
    }
}
