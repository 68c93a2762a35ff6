<?php

namespace App\Console\Commands;

use Askr\Octane\BackgroundWorkers;
use Illuminate\Console\Command;

/**
 * A background worker (docs/background-workers.md of the askr repository): watches a feature-flag
 * file and publishes its flags to every HTTP worker of the node, which read them with
 * BackgroundWorkers::vars('flags') on their next request: no polling in the requests, no TTL.
 * Declared in config/octane.php under askr.background_workers ('flags' => 'flags:watch').
 */
class WatchFeatureFlags extends Command
{
    protected $signature = 'flags:watch {--interval=0.1 : Seconds between two reads of the flag file}';

    protected $description = 'Publish the feature flags of storage/app/feature-flags.json to every worker (an askr background worker)';

    public function handle(): int
    {
        $file = storage_path('app/feature-flags.json');
        $interval = (float) $this->option('interval');

        do {
            $flags = is_file($file) ? json_decode((string) file_get_contents($file), true) : null;
            // The same snapshot again writes nothing: readers keep their array.
            BackgroundWorkers::set([
                'flags' => is_array($flags) ? $flags : config('features', []),
                'source' => is_array($flags) ? 'file' : 'config',
                'worker' => [
                    'kind' => $_SERVER['ASKR_WORKER_KIND'] ?? null,
                    'name' => $_SERVER['ASKR_BACKGROUND_WORKER'] ?? null,
                    'running_in_console' => app()->runningInConsole(),
                    'app' => config('app.name'),
                ],
            ]);
        } while (! BackgroundWorkers::sleep($interval));

        return self::SUCCESS;
    }
}
