<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Broadcasting\AskrBroadcaster;
use Askr\Octane\Tests\Support\AskrServer;
use Illuminate\Broadcasting\BroadcastException;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\Process;

/**
 * Laravel broadcasting on askr's Pusher-protocol WebSockets, end to end: the example app under
 * octane:start --server=askr --workers=2 (its Pusher app comes from config/broadcasting.php),
 * Laravel Echo with pusher-js from Node (tests-dotnet/pusher-clients) as the browser would use them.
 */
class BroadcastingTest extends TestCase
{
    private static ?AskrServer $server = null;

    private const KEY = 'askr-example-key';

    private static function clients(): string
    {
        return AskrServer::repository().'/tests-dotnet/pusher-clients';
    }

    protected function setUp(): void
    {
        if ((new \Symfony\Component\Process\ExecutableFinder)->find('node') === null || ! is_dir(self::clients().'/node_modules/laravel-echo')) {
            $this->markTestSkipped('node and tests-dotnet/pusher-clients/node_modules (scripts/setup.sh runs npm ci) are needed for the Echo tests');
        }

        self::$server ??= AskrServer::start(workers: 2);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function test_echo_subscribes_public_private_and_presence_channels_and_receives_should_broadcast_now_events(): void
    {
        $process = new Process(['node', 'clients.js', 'echo', json_encode(['key' => self::KEY, 'port' => self::$server->port, 'timeoutMs' => 25000])], self::clients());
        $process->setTimeout(40);
        $process->run();
        $this->assertSame(0, $process->getExitCode(), $process->getErrorOutput()."\n".$process->getOutput()."\n".self::$server->output());
        $result = json_decode($process->getOutput(), true, 16, JSON_THROW_ON_ERROR);

        // Presence through /broadcasting/auth: the user_info the channel callback returned.
        $this->assertSame(['ada'], $result['here']);
        $this->assertSame([
            ['kind' => 'public', 'name' => 'news', 'message' => 'hello public'],
            ['kind' => 'private', 'name' => 'orders.1', 'message' => 'hello private'],
            ['kind' => 'presence', 'name' => 'room.1', 'message' => 'hello presence'],
        ], $result['events']);
        $this->assertSame('refused', $result['foreignPrivate'], "another user's private channel is refused by Laravel's channel callback");
        $this->assertSame(['grace'], $result['joining']);
        $this->assertSame(['grace'], $result['leaving']);
    }

    public function test_outside_a_worker_the_broadcaster_posts_to_the_signed_http_api(): void
    {
        $config = ['key' => self::KEY, 'secret' => 'askr-example-secret', 'app_id' => 'askr-example', 'options' => ['host' => '127.0.0.1', 'port' => self::$server->port]];
        $this->assertFalse(AskrBroadcaster::insideAskr());

        (new AskrBroadcaster($config))->broadcast(['news'], 'from-cli', ['n' => 1]);

        try {
            (new AskrBroadcaster(['secret' => 'wrong'] + $config))->broadcast(['news'], 'from-cli', ['n' => 2]);
            $this->fail('a wrong secret was accepted');
        } catch (BroadcastException $e) {
            $this->assertStringContainsString('401', $e->getMessage());
            $this->assertStringContainsString('Invalid signature', $e->getMessage());
        }
    }
}
