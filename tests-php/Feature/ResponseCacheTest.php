<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * askr's response cache through the example app under octane:start --server=askr
 * (config('octane.askr.response_cache') from ASKR_RESPONSE_CACHE): the askr.cache middleware
 * opts a route in, the next anonymous request is served without PHP, and a tag purge from the
 * app (Askr\Octane\ResponseCache) or from Artisan (octane:askr-cache:purge) makes it a miss.
 */
class ResponseCacheTest extends TestCase
{
    private static ?AskrServer $server = null;
    private static string $stateFile = '';

    protected function setUp(): void
    {
        if (self::$server === null) {
            self::$stateFile = sys_get_temp_dir().'/askr-cache-state-'.bin2hex(random_bytes(6)).'.json';
            self::$server = AskrServer::start(workers: 2, env: ['ASKR_RESPONSE_CACHE' => '16M', 'OCTANE_STATE_FILE' => self::$stateFile]);
        }
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        @unlink(self::$stateFile);
    }

    /** @return array{status: int, headers: array<string, list<string>>, body: string} */
    private function get(string $path, array $headers = []): array
    {
        return Http::get(self::$server->url($path), $headers);
    }

    private static function cacheState(array $response): string
    {
        return $response['headers']['x-askr-cache'][0] ?? '(none)';
    }

    private function purgeAll(): void
    {
        $this->assertSame(0, AskrServer::artisanWith(['OCTANE_STATE_FILE' => self::$stateFile], 'octane:askr-cache:purge', '--flush')->getExitCode());
    }

    public function test_the_middleware_opts_a_route_in_and_the_next_request_is_served_without_php(): void
    {
        $this->purgeAll();
        $miss = $this->get('/cached/posts');
        $this->assertSame(200, $miss['status']);
        $this->assertSame('MISS', self::cacheState($miss));
        $this->assertArrayNotHasKey('askr-cache', $miss['headers']);
        $this->assertNotEmpty($miss['headers']['set-cookie'] ?? [], 'the web group starts a session for the first visitor');

        $hit = $this->get('/cached/posts');
        $this->assertSame('HIT', self::cacheState($hit));
        $this->assertSame($miss['body'], $hit['body'], 'the same id: PHP did not run again');
        $this->assertArrayNotHasKey('set-cookie', $hit['headers'], 'a cookie is never replayed to another visitor');
        $this->assertStringContainsString('public', $hit['headers']['cache-control'][0]);
        $this->assertArrayHasKey('age', $hit['headers']);
    }

    public function test_a_visitor_with_a_session_cookie_bypasses_the_cache_but_an_analytics_cookie_does_not(): void
    {
        $this->purgeAll();
        $this->get('/cached/posts');
        $withSession = $this->get('/cached/posts', ['Cookie' => 'laravel_session=abc']);
        $this->assertSame('BYPASS', self::cacheState($withSession));
        $withAnalytics = $this->get('/cached/posts', ['Cookie' => '_ga=GA1.1.1']);
        $this->assertSame('HIT', self::cacheState($withAnalytics));
    }

    public function test_forget_tag_from_the_app_purges_the_tagged_route_only(): void
    {
        $this->purgeAll();
        $posts = $this->get('/cached/posts');
        $users = $this->get('/cached/users');
        $this->assertSame('HIT', self::cacheState($this->get('/cached/posts')));

        $forget = Http::request('POST', self::$server->url('/api/response-cache/forget-tag'), ['Content-Type' => 'application/json', 'Accept' => 'application/json'], json_encode(['tag' => 'posts']));
        $this->assertSame(200, $forget['status'], $forget['body']);

        $again = $this->get('/cached/posts');
        $this->assertSame('MISS', self::cacheState($again));
        $this->assertNotSame($posts['body'], $again['body']);
        $this->assertSame($users['body'], $this->get('/cached/users')['body']);
        $this->assertSame('HIT', self::cacheState($this->get('/cached/users')));
    }

    public function test_the_artisan_command_purges_by_tag_through_the_admin_endpoint(): void
    {
        $this->purgeAll();
        $this->get('/cached/users');
        $this->assertSame('HIT', self::cacheState($this->get('/cached/users')));

        $purge = AskrServer::artisanWith(['OCTANE_STATE_FILE' => self::$stateFile], 'octane:askr-cache:purge', '--tag=people');
        $this->assertSame(0, $purge->getExitCode(), $purge->getOutput().$purge->getErrorOutput());
        $this->assertStringContainsString('Purged: tags people', $purge->getOutput());
        $this->assertSame('MISS', self::cacheState($this->get('/cached/users')));
    }

    public function test_forget_by_url_from_the_app(): void
    {
        $this->purgeAll();
        $this->get('/cached/posts');
        $forget = Http::request('POST', self::$server->url('/api/response-cache/forget'), ['Content-Type' => 'application/json', 'Accept' => 'application/json'], json_encode(['url' => self::$server->url('/cached/posts')]));
        $this->assertSame(200, $forget['status'], $forget['body']);
        $this->assertSame('MISS', self::cacheState($this->get('/cached/posts')));
    }

    public function test_the_artisan_command_without_arguments_or_server_fails_clearly(): void
    {
        $none = AskrServer::artisanWith(['OCTANE_STATE_FILE' => self::$stateFile], 'octane:askr-cache:purge');
        $this->assertSame(1, $none->getExitCode());
        $this->assertStringContainsString('Give --tag=, --url= or --flush.', $none->getOutput().$none->getErrorOutput());

        $noServer = AskrServer::artisanWith(['OCTANE_STATE_FILE' => sys_get_temp_dir().'/askr-no-such-state.json'], 'octane:askr-cache:purge', '--tag=x');
        $this->assertSame(1, $noServer->getExitCode());
        $this->assertStringContainsString('No askr server is recorded', $noServer->getOutput().$noServer->getErrorOutput());
    }
}
