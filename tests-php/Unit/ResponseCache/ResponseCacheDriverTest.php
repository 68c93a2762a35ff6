<?php

namespace Askr\Octane\Tests\Unit\ResponseCache;

use Askr\Octane\ResponseCache;
use Askr\Octane\ResponseCache\CacheResponse;
use Askr\Octane\Server\ServeCommandLine;
use InvalidArgumentException;
use PHPUnit\Framework\TestCase;

/**
 * The driver's side of askr's response cache: the config mapping onto askr serve, the askr.cache
 * middleware's arguments turned into the Askr-Cache header, and ResponseCache's checks.
 */
class ResponseCacheDriverTest extends TestCase
{
    private function options(array $overrides = []): array
    {
        return $overrides + [
            'binary' => '/opt/askr/askr', 'root' => '/srv/app/public', 'workerScript' => '/srv/w.php',
            'host' => '127.0.0.1', 'port' => '8000', 'adminPort' => 9100,
        ];
    }

    public function test_the_response_cache_config_maps_to_askr_serve_options(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['responseCache' => '256m', 'responseCacheIgnoreCookies' => ['_ga*', 'consent']]));
        $this->assertSame(['--response-cache', '256M', '--response-cache-ignore-cookies', '_ga*,consent'], array_slice($arguments, -4));
    }

    public function test_no_response_cache_config_passes_nothing(): void
    {
        $this->assertNotContains('--response-cache', ServeCommandLine::arguments($this->options(['responseCache' => null])));
        $this->assertNotContains('--response-cache', ServeCommandLine::arguments($this->options(['responseCache' => ''])));
    }

    public function test_a_response_cache_size_that_is_not_one_is_refused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage("config('octane.askr.response_cache') must be a size such as 256M");
        ServeCommandLine::arguments($this->options(['responseCache' => 'lots']));
    }

    public function test_middleware_arguments_become_the_askr_cache_header_with_tags_last(): void
    {
        $this->assertSame(['ttl' => 60, 'header' => '60'], CacheResponse::directive(['60']));
        $this->assertSame(['ttl' => 60, 'header' => '60, swr=30, sie=300, tags=posts,users'], CacheResponse::directive(['60', 'tags=posts|users', 'swr=30', 'sie=300']));
    }

    /**
     * @dataProvider badArguments
     */
    public function test_bad_middleware_arguments_are_refused(array $arguments, string $message): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage($message);
        CacheResponse::directive($arguments);
    }

    public static function badArguments(): array
    {
        return [
            'no ttl' => [[], 'the first argument is the ttl'],
            'ttl zero' => [['0'], 'the first argument is the ttl'],
            'ttl text' => [['soon'], 'the first argument is the ttl'],
            'bad swr' => [['60', 'swr=x'], 'swr= takes whole seconds'],
            'unknown' => [['60', 'color=blue'], 'unknown argument [color=blue]'],
            'tag with a space' => [['60', 'tags=a b'], 'is not a usable tag'],
        ];
    }

    public function test_forget_tag_refuses_tags_the_header_could_not_carry(): void
    {
        foreach (['', str_repeat('x', 201), 'a,b', 'a b'] as $tag) {
            try {
                ResponseCache::forgetTag($tag);
                $this->fail("[{$tag}] was accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('A response cache tag must be', $e->getMessage());
            }
        }
    }

    public function test_outside_askr_the_natives_are_not_used(): void
    {
        $this->assertFalse(ResponseCache::native());
    }
}
