<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\AdminClient;
use Askr\Octane\Server\ServerProcessInspector;
use Askr\Octane\Server\ServerStateFile;
use Askr\Octane\Tests\Support\RequiresOctane;
use Laravel\Octane\PosixExtension;
use PHPUnit\Framework\TestCase;

class ServerProcessInspectorTest extends TestCase
{
    use RequiresOctane;

    private string $path;

    private ServerStateFile $stateFile;

    /** @var list<array{0: string, 1: string}> */
    private array $adminCalls = [];

    /** @var list<string|null> */
    private array $adminTokens = [];

    /** @var array<string, array{status: int, body: ?array}|null> */
    private array $adminAnswers = [];

    /** @var list<array{0: int, 1: int}> */
    private array $signals = [];

    private bool $processAlive = true;

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->path = tempnam(sys_get_temp_dir(), 'askr-state-');
        $this->stateFile = new ServerStateFile($this->path);
        $this->stateFile->writeState(['adminHost' => '127.0.0.1', 'adminPort' => 9911]);
        $this->stateFile->writeProcessId(4242);
    }

    protected function tearDown(): void
    {
        @unlink($this->path);
    }

    private function inspector(): ServerProcessInspector
    {
        $test = $this;

        $admin = new class($test) extends AdminClient
        {
            public function __construct(private $test)
            {
            }

            public function request(string $method, string $host, int $port, string $path, ?string $token = null): ?array
            {
                return $this->test->adminRequest($method, $host, $port, $path, $token);
            }
        };

        $posix = new class($test) extends PosixExtension
        {
            public function __construct(private $test)
            {
            }

            public function kill(int $processId, int $signal)
            {
                return $this->test->kill($processId, $signal);
            }
        };

        return new ServerProcessInspector($this->stateFile, $admin, $posix);
    }

    /** @internal called by the fake admin client */
    public function adminRequest(string $method, string $host, int $port, string $path, ?string $token = null): ?array
    {
        $this->assertSame(['127.0.0.1', 9911], [$host, $port]);
        $this->adminCalls[] = [$method, $path];
        $this->adminTokens[] = $token;

        return $this->adminAnswers["{$method} {$path}"] ?? null;
    }

    /** @internal called by the fake posix extension */
    public function kill(int $processId, int $signal): bool
    {
        $this->signals[] = [$processId, $signal];

        return $this->processAlive;
    }

    public function test_a_server_whose_admin_endpoint_answers_status_is_running(): void
    {
        $this->adminAnswers['GET /status'] = ['status' => 200, 'body' => ['pid' => 4242]];

        $this->assertTrue($this->inspector()->serverIsRunning());
        $this->assertSame([], $this->signals);
    }

    public function test_without_an_admin_answer_a_live_pid_means_running(): void
    {
        $this->assertTrue($this->inspector()->serverIsRunning());
        $this->assertSame([[4242, 0]], $this->signals);
    }

    public function test_without_an_admin_answer_or_a_live_pid_the_server_is_not_running(): void
    {
        $this->processAlive = false;

        $this->assertFalse($this->inspector()->serverIsRunning());
    }

    public function test_without_a_state_file_the_server_is_not_running(): void
    {
        unlink($this->path);

        $this->assertFalse($this->inspector()->serverIsRunning());
        $this->assertSame([], $this->adminCalls);
        $this->assertSame([], $this->signals);
    }

    public function test_reload_posts_to_the_admin_endpoint(): void
    {
        $this->adminAnswers['POST /reload'] = ['status' => 202, 'body' => ['reloading' => true]];

        $this->inspector()->reloadServer();

        $this->assertSame([['POST', '/reload']], $this->adminCalls);
        $this->assertSame([], $this->signals);
    }

    public function test_reload_and_stop_send_the_admin_token_of_the_state_file(): void
    {
        $this->stateFile->writeState(['adminHost' => '127.0.0.1', 'adminPort' => 9911, 'adminToken' => 'the-token-of-this-start']);
        $this->adminAnswers['POST /reload'] = ['status' => 202, 'body' => ['reloading' => true]];
        $this->adminAnswers['POST /stop'] = ['status' => 202, 'body' => ['stopping' => true]];

        $this->inspector()->reloadServer();
        $this->assertTrue($this->inspector()->stopServer());

        $this->assertSame([['POST', '/reload'], ['POST', '/stop']], $this->adminCalls);
        $this->assertSame(['the-token-of-this-start', 'the-token-of-this-start'], $this->adminTokens);
        $this->assertSame([], $this->signals);
    }

    public function test_the_state_file_is_readable_by_its_owner_only(): void
    {
        $path = sys_get_temp_dir().'/askr-state-'.bin2hex(random_bytes(6)).'.json';
        $umask = umask(022);

        try {
            (new ServerStateFile($path))->writeState(['adminToken' => 'secret-of-this-start']);
            clearstatcache();
            $this->assertSame(0600, fileperms($path) & 0777);
        } finally {
            umask($umask);
            @unlink($path);
        }
    }

    public function test_reload_falls_back_to_sighup(): void
    {
        $this->inspector()->reloadServer();

        $this->assertSame([[4242, SIGHUP]], $this->signals);
    }

    public function test_stop_posts_to_the_admin_endpoint(): void
    {
        $this->adminAnswers['POST /stop'] = ['status' => 202, 'body' => ['stopping' => true]];

        $this->assertTrue($this->inspector()->stopServer());
        $this->assertSame([], $this->signals);
    }

    public function test_stop_falls_back_to_sigterm(): void
    {
        $this->assertTrue($this->inspector()->stopServer());
        $this->assertSame([[4242, SIGTERM]], $this->signals);
    }

    public function test_the_state_file_keeps_the_pid_and_the_state_apart(): void
    {
        $this->assertSame(
            ['masterProcessId' => 4242, 'state' => ['adminHost' => '127.0.0.1', 'adminPort' => 9911]],
            $this->stateFile->read()
        );
    }
}
