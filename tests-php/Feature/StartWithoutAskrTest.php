<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\RequiresOctane;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

class StartWithoutAskrTest extends TestCase
{
    use RequiresOctane;

    public function test_starting_without_the_askr_binary_says_how_to_get_it(): void
    {
        $this->requireOctane();
        AskrServer::ensureAppIsSetUp();

        $process = new Process(
            [(new PhpExecutableFinder)->find(), 'artisan', 'octane:start', '--server=askr', '--port='.AskrServer::freePort()],
            AskrServer::appPath(),
            AskrServer::environment(['ASKR_BINARY' => '/nonexistent/askr']),
            null,
            60
        );
        $process->run();

        $this->assertSame(1, $process->getExitCode());
        $this->assertStringContainsString('The askr runtime binary is missing: ASKR_BINARY points at [/nonexistent/askr]', $process->getOutput());
        $this->assertStringContainsString('scripts/setup.sh', $process->getOutput());
    }

    public function test_other_servers_still_reach_octanes_own_commands(): void
    {
        $this->requireOctane();
        AskrServer::ensureAppIsSetUp();

        $process = new Process([(new PhpExecutableFinder)->find(), 'artisan', 'octane:status', '--server=roadrunner'], AskrServer::appPath(), AskrServer::environment(), null, 60);
        $process->run();

        $this->assertStringContainsString('Octane server is not running.', $process->getOutput());
    }
}
