<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\Process;

/**
 * `askr test` (docs/lifecycle.md): the runner boots once and forks a child per test file. The
 * fixtures (tests-php/Fixtures/AskrTest) cover isolation, exit(0) in a test, a failing assertion,
 * a fatal error and a segfault; the example app's own suite runs through it too.
 */
class AskrTestCommandTest extends TestCase
{
    private const FIXTURES = __DIR__.'/../Fixtures/AskrTest';

    private static function askrTest(string ...$arguments): Process
    {
        if (! is_executable(AskrServer::binary())) {
            self::markTestSkipped('The askr binary was not found at '.AskrServer::binary().': run scripts/setup.sh.');
        }

        $process = new Process(array_merge([AskrServer::binary(), 'test'], $arguments), null, null, null, 120);
        $process->run();

        return $process;
    }

    public function test_each_file_runs_in_its_own_child_and_a_fatal_error_or_a_segfault_fails_only_its_file(): void
    {
        $run = self::askrTest('--app', self::FIXTURES, '--parallel', '2', self::FIXTURES);
        $out = $run->getOutput();

        $this->assertSame(1, $run->getExitCode(), $out.$run->getErrorOutput());
        $this->assertStringContainsString("\n7 file(s): 3 passed, 4 failed\n", "\n".$out);
        $this->assertMatchesRegularExpression('/^PASS IsolationATest\.php/m', $out, 'a global of one file is not visible in the other');
        $this->assertMatchesRegularExpression('/^PASS IsolationBTest\.php/m', $out);
        $this->assertMatchesRegularExpression('/^PASS ExitZeroTest\.php/m', $out, 'exit(0) inside a test is not a failure');
        $this->assertMatchesRegularExpression('/^FAIL FailsThenExitsZeroTest\.php .*tests failed before an exit\(0\)/m', $out);
        $this->assertMatchesRegularExpression('/^FAIL AssertionFailsTest\.php .*exit 1/m', $out);
        $this->assertStringContainsString('askr-test fixture: this assertion fails', $out, "a failed file's output is printed");
        $this->assertMatchesRegularExpression('/^FAIL FatalTest\.php .*a fatal error, exit 255/m', $out);
        $this->assertStringContainsString('Allowed memory size', $out);
        $this->assertMatchesRegularExpression('/^FAIL SegfaultTest\.php .*killed by signal 11/m', $out);
    }

    public function test_only_passing_files_exit_zero(): void
    {
        $run = self::askrTest('--app', self::FIXTURES, self::FIXTURES.'/IsolationATest.php', self::FIXTURES.'/ExitZeroTest.php');

        $this->assertSame(0, $run->getExitCode(), $run->getOutput());
        $this->assertStringEndsWith("2 file(s): 2 passed, 0 failed\n", $run->getOutput());
    }

    public function test_the_example_apps_suite_passes_booted_once(): void
    {
        AskrServer::skipUnlessRunnable();
        $run = self::askrTest('--app', AskrServer::appPath());

        $this->assertSame(0, $run->getExitCode(), $run->getOutput().$run->getErrorOutput());
        $this->assertMatchesRegularExpression('/^(\d+) file\(s\): \1 passed, 0 failed$/m', $run->getOutput());
    }

    public function test_a_bad_parallel_count_is_refused(): void
    {
        $run = self::askrTest('--app', self::FIXTURES, '--parallel', '0', self::FIXTURES);

        $this->assertSame(2, $run->getExitCode());
        $this->assertStringContainsString('--parallel must be a positive number', $run->getErrorOutput());
    }
}
