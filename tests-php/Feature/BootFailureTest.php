<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

/**
 * An application that cannot boot stops octane:start with the reason, as under Octane's
 * other servers, instead of leaving workers that fail every request.
 */
class BootFailureTest extends TestCase
{
    public function test_an_application_that_cannot_boot_stops_the_server_with_the_reason(): void
    {
        AskrServer::skipUnlessRunnable();

        $port = AskrServer::freePort();
        $process = new Process([
            (new PhpExecutableFinder)->find(), 'artisan', 'octane:start', '--server=askr', '--host=127.0.0.1',
            "--port={$port}", '--admin-port='.AskrServer::freePort(), '--workers=1',
        ], AskrServer::appPath(), AskrServer::environment(['ASKR_EXAMPLE_FAIL_BOOT' => '1']), null, null);
        $process->start();

        try {
            $deadline = microtime(true) + 60;

            while ($process->isRunning() && microtime(true) < $deadline) {
                try {
                    // A request that reaches a failing worker gets a plain 500, never a hang.
                    $response = Http::request('GET', "http://127.0.0.1:{$port}/json", [], null, 5);
                    $this->assertSame(500, $response['status']);
                } catch (RuntimeException) {
                    // not listening (yet, or any more)
                }

                usleep(50_000);
            }

            $this->assertFalse($process->isRunning(), "octane:start kept running:\n".$process->getOutput());
            $this->assertSame(1, $process->getExitCode());
            $this->assertStringContainsString('boot failure requested by ASKR_EXAMPLE_FAIL_BOOT', $process->getOutput().$process->getErrorOutput());
        } finally {
            $process->stop(5);
        }
    }
}
