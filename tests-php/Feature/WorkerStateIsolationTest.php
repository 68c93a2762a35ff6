<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * One worker serves every request, so anything a request leaves behind would be seen
 * by the next: sessions, logins, locale, config and container singletons must not leak.
 */
class WorkerStateIsolationTest extends TestCase
{
    private static ?AskrServer $server = null;

    private static ?int $pid = null;

    protected function setUp(): void
    {
        self::$server ??= AskrServer::start(workers: 1);
        self::$pid ??= Http::json(self::$server->url('/pid'))['pid'];
    }

    protected function assertPostConditions(): void
    {
        $this->assertSame(self::$pid, Http::json(self::$server->url('/pid'))['pid'], 'the same worker served the whole test');
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        self::$pid = null;
    }

    private function url(string $path): string
    {
        return self::$server->url($path);
    }

    public function test_a_session_counts_for_its_own_client_only(): void
    {
        $first = Http::get($this->url('/session/counter'));
        $jar = Http::cookies($first);
        $this->assertSame(1, json_decode($first['body'], true)['counter']);

        $second = Http::get($this->url('/session/counter'), Http::cookieHeader($jar));
        $this->assertSame(2, json_decode($second['body'], true)['counter']);

        $stranger = Http::get($this->url('/session/counter'));
        $this->assertSame(1, json_decode($stranger['body'], true)['counter'], 'a new client starts its own session');

        $again = Http::get($this->url('/session/counter'), Http::cookieHeader(Http::cookies($second, $jar)));
        $this->assertSame(3, json_decode($again['body'], true)['counter']);
    }

    public function test_a_login_is_seen_by_its_session_and_by_no_other_request(): void
    {
        $login = Http::request('POST', $this->url('/login'), ['Accept' => 'application/json', 'Content-Type' => 'application/x-www-form-urlencoded'], 'email=ada%40example.test&password=secret');
        $this->assertSame(200, $login['status'], $login['body']);
        $jar = Http::cookies($login);

        $this->assertSame(['user' => 'ada@example.test'], Http::json($this->url('/whoami'), Http::cookieHeader($jar)));
        $this->assertSame(['user' => null], Http::json($this->url('/whoami')), 'a request without the session is a guest');

        $other = Http::request('POST', $this->url('/login'), ['Accept' => 'application/json', 'Content-Type' => 'application/x-www-form-urlencoded'], 'email=grace%40example.test&password=secret');
        $otherJar = Http::cookies($other);
        $this->assertSame(['user' => 'grace@example.test'], Http::json($this->url('/whoami'), Http::cookieHeader($otherJar)));
        $this->assertSame(['user' => 'ada@example.test'], Http::json($this->url('/whoami'), Http::cookieHeader($jar)));

        $logout = Http::request('POST', $this->url('/logout'), Http::cookieHeader($jar) + ['Accept' => 'application/json'], '');
        $this->assertSame(200, $logout['status']);
        $this->assertSame(['user' => null], Http::json($this->url('/whoami'), Http::cookieHeader(Http::cookies($logout, $jar))));
        $this->assertSame(['user' => 'grace@example.test'], Http::json($this->url('/whoami'), Http::cookieHeader($otherJar)));
    }

    public function test_wrong_credentials_are_refused(): void
    {
        $response = Http::request('POST', $this->url('/login'), ['Accept' => 'application/json', 'Content-Type' => 'application/x-www-form-urlencoded'], 'email=ada%40example.test&password=wrong');

        $this->assertSame(401, $response['status']);
    }

    public function test_a_locale_set_by_one_request_does_not_leak_into_the_next(): void
    {
        $this->assertSame(['locale' => 'fr'], Http::json($this->url('/locale?set=fr')));
        $this->assertSame(['locale' => 'en'], Http::json($this->url('/locale')));
    }

    public function test_a_config_change_by_one_request_does_not_leak_into_the_next(): void
    {
        $this->assertSame(['value' => 'changed'], Http::json($this->url('/config?set=changed')));
        $this->assertSame(['value' => 'default'], Http::json($this->url('/config')));
    }

    public function test_a_container_singleton_mutated_by_one_request_is_fresh_for_the_next(): void
    {
        $this->assertSame(['items' => ['apple']], Http::json($this->url('/singleton?add=apple')));
        $this->assertSame(['items' => []], Http::json($this->url('/singleton')));
    }
}
