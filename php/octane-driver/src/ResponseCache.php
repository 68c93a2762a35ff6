<?php

namespace Askr\Octane;

use Askr\Octane\ResponseCache\AdminPurge;
use InvalidArgumentException;
use ReflectionFunction;

/**
 * The Laravel-facing API of askr's response cache (docs/response-cache.md of the askr
 * repository). Inside an askr worker each call is a native (Ephpm\Octane\cache_forget_tag(),
 * cache_forget(), cache_flush()): O(1), seen by every worker of the node at once and replicated
 * to the other nodes of a cluster. Anywhere else (an Artisan command, a queue worker under the
 * CLI) it asks the running server through its admin endpoint (POST /cache/purge), found through
 * Octane's server state file.
 *
 * Entries are tagged by the response header Askr-Cache (`Askr-Cache: 60, tags=posts,users`),
 * which the `askr.cache` route middleware adds (ResponseCache\CacheResponse).
 */
class ResponseCache
{
    /** Most bytes of one tag, as the Askr-Cache header allows. */
    public const MAX_TAG_BYTES = 200;

    protected static ?bool $native = null;

    /**
     * Invalidates every entry stored with any of the tags.
     *
     * @param  string|array<array-key, string>  $tags
     *
     * @throws InvalidArgumentException for an empty tag or one longer than 200 bytes.
     * @throws \RuntimeException when outside askr no running server can be reached.
     */
    public static function forgetTag(string|array $tags): void
    {
        $tags = array_values((array) $tags);

        foreach ($tags as $tag) {
            if (! is_string($tag) || $tag === '' || strlen($tag) > self::MAX_TAG_BYTES || preg_match('/[\x00-\x20\x7f";,]/', $tag)) {
                throw new InvalidArgumentException('A response cache tag must be a non-empty string of at most '.self::MAX_TAG_BYTES.' bytes without spaces, control characters, quotes, commas or semicolons, ['.(is_string($tag) ? $tag : get_debug_type($tag)).'] given.');
            }
        }

        if ($tags === []) {
            return;
        }

        static::native() ? \Ephpm\Octane\cache_forget_tag($tags) : AdminPurge::send(['tag' => $tags]);
    }

    /**
     * Invalidates the entries of one URL (every Vary variant of its path and query).
     *
     * @param  string  $url  An absolute URL or a path with an optional query.
     */
    public static function forget(string $url): void
    {
        if ($url === '') {
            throw new InvalidArgumentException('ResponseCache::forget() needs a URL or a path, an empty string given.');
        }

        static::native() ? \Ephpm\Octane\cache_forget($url) : AdminPurge::send(['url' => [$url]]);
    }

    /** Invalidates every entry. */
    public static function flush(): void
    {
        static::native() ? \Ephpm\Octane\cache_flush() : AdminPurge::send(['flush' => ['1']]);
    }

    /** Whether this process runs inside askr, where the natives are the runtime's own (internal) functions. */
    public static function native(): bool
    {
        return static::$native ??= function_exists('Ephpm\Octane\cache_forget_tag')
            && (new ReflectionFunction('Ephpm\Octane\cache_forget_tag'))->isInternal();
    }
}
