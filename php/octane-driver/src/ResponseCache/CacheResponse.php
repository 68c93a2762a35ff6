<?php

namespace Askr\Octane\ResponseCache;

use Closure;
use Illuminate\Http\Request;
use InvalidArgumentException;
use Symfony\Component\HttpFoundation\Response;

/**
 * Route middleware `askr.cache`: opts a route's responses into askr's response cache.
 *
 *     Route::get('/posts', ...)->middleware('askr.cache:60,tags=posts|users,swr=30,sie=300');
 *
 * Arguments: the ttl in seconds, then `tags=` (several separated by `|`: Laravel splits
 * middleware arguments on commas), `swr=` and `sie=` in seconds (RFC 5861). It adds the
 * Askr-Cache header, which askr reads and removes (docs/response-cache.md), and makes the
 * response's Cache-Control `public, max-age=0, s-maxage=<ttl>`: Laravel's default
 * `no-cache, private` would make askr refuse it. Only GET and HEAD responses are opted in, and
 * never one the app marked `private` or `no-store` itself, or one that sets a cookie other than
 * the session's and XSRF-TOKEN (those are stripped from the stored copy).
 */
class CacheResponse
{
    public function handle(Request $request, Closure $next, string ...$arguments): Response
    {
        $directive = static::directive($arguments);
        $response = $next($request);

        if (! $request->isMethod('GET') && ! $request->isMethod('HEAD')) {
            return $response;
        }

        $cacheControl = strtolower((string) $response->headers->get('Cache-Control', ''));

        // What the app said itself wins: a page it marked private stays private.
        if ($response->headers->hasCacheControlDirective('no-store') || ($response->headers->hasCacheControlDirective('private') && $cacheControl !== 'no-cache, private')) {
            return $response;
        }

        $response->headers->set('Askr-Cache', $directive['header']);
        $response->headers->set('Cache-Control', 'public, max-age=0, s-maxage='.$directive['ttl']);

        return $response;
    }

    /**
     * @param  list<string>  $arguments  The middleware's arguments: ttl, then tags=, swr=, sie=.
     * @return array{ttl: int, header: string}
     *
     * @throws InvalidArgumentException for arguments askr would refuse.
     */
    public static function directive(array $arguments): array
    {
        $ttl = $arguments[0] ?? '';

        if (! ctype_digit($ttl) || (int) $ttl < 1 || (int) $ttl > 31536000) {
            throw new InvalidArgumentException("askr.cache: the first argument is the ttl in whole seconds (1 to 31536000), [{$ttl}] given.");
        }

        $parts = [(string) (int) $ttl];

        foreach (array_slice($arguments, 1) as $argument) {
            [$name, $value] = array_pad(explode('=', $argument, 2), 2, null);

            switch ($name) {
                case 'swr':
                case 'sie':
                    if ($value === null || ! ctype_digit($value) || (int) $value > 31536000) {
                        throw new InvalidArgumentException("askr.cache: {$name}= takes whole seconds (0 to 31536000), [{$value}] given.");
                    }
                    $parts[] = "{$name}=".(int) $value;
                    break;
                case 'tags':
                    $tags = array_values(array_filter(explode('|', (string) $value), fn ($t) => $t !== ''));
                    foreach ($tags as $tag) {
                        if (strlen($tag) > \Askr\Octane\ResponseCache::MAX_TAG_BYTES || preg_match('/[\x00-\x20\x7f";,]/', $tag)) {
                            throw new InvalidArgumentException("askr.cache: [{$tag}] is not a usable tag (at most 200 bytes, no spaces, quotes, commas or semicolons).");
                        }
                    }
                    if ($tags !== []) {
                        $parts[] = 'tags='.implode(',', $tags);
                    }
                    break;
                default:
                    throw new InvalidArgumentException("askr.cache: unknown argument [{$argument}]; expected the ttl, then tags=, swr= or sie=.");
            }
        }

        // tags= last: in the header every comma-separated item after it is a tag.
        usort($parts, fn ($a, $b) => str_starts_with($a, 'tags=') <=> str_starts_with($b, 'tags='));

        return ['ttl' => (int) $ttl, 'header' => implode(', ', $parts)];
    }
}
