<?php

namespace Askr\Octane\Commands;

use Askr\Octane\ResponseCache\AdminPurge;
use Illuminate\Console\Command;
use RuntimeException;

/**
 * octane:askr-cache:purge: invalidates entries of the running askr server's response cache
 * (docs/response-cache.md of the askr repository) through its admin endpoint.
 */
class PurgeResponseCacheCommand extends Command
{
    public $signature = 'octane:askr-cache:purge
                    {--tag=* : Invalidate the entries carrying this tag (repeatable)}
                    {--url=* : Invalidate the entries of this URL or path (repeatable)}
                    {--flush : Invalidate every entry}';

    public $description = "Purge askr's response cache by tag, by URL or entirely";

    public function handle(): int
    {
        $tags = array_values(array_filter((array) $this->option('tag'), fn ($t) => $t !== null));
        $urls = array_values(array_filter((array) $this->option('url'), fn ($u) => $u !== null));
        $flush = (bool) $this->option('flush');

        if ($tags === [] && $urls === [] && ! $flush) {
            $this->error('Give --tag=, --url= or --flush.');

            return 1;
        }

        try {
            AdminPurge::send(array_filter(['tag' => $tags, 'url' => $urls, 'flush' => $flush ? ['1'] : []]));
        } catch (RuntimeException $e) {
            $this->error($e->getMessage());

            return 1;
        }

        $this->info('Purged: '.implode('; ', array_filter([
            $tags ? 'tags '.implode(', ', $tags) : null,
            $urls ? 'urls '.implode(', ', $urls) : null,
            $flush ? 'everything' : null,
        ])).'.');

        return 0;
    }
}
