<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Runtime\RuntimeTableFixture;
use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\Process;

/**
 * PHPUnit test classes run inside a real askr worker, on the runtime's shared tables
 * (`askr serve --worker-script tests-php/Runtime/worker.php --tables ...`): Octane's own
 * TableTest and OctaneStoreTest from $OCTANE_PATH/tests, and askr's Swoole\Table behaviours
 * that need the runtime (tests-php/Runtime/SwooleTableInWorkerTest.php).
 */
class TablesInsideAnAskrWorkerTest extends TestCase
{
    /** Octane's tests that need its Swoole start-up scripts to create its SwooleTable at run time, which askr cannot. */
    private const NEED_SWOOLE = [
        'test_it_gets_used_while_creating_an_octane_store',
        'test_it_gets_used_while_creating_an_table',
        'test_it_gets_used_while_creating_an_timer_table',
    ];

    private static ?Process $server = null;

    private static int $port = 0;

    private static ?string $directory = null;

    protected function setUp(): void
    {
        if (self::$server !== null) {
            return;
        }

        AskrServer::skipUnlessRunnable();

        self::$directory = sys_get_temp_dir().'/askr-worker-tests-'.getmypid().'-'.bin2hex(random_bytes(4));
        mkdir(self::$directory.'/public', 0700, true);
        $config = require ASKR_TESTS_OCTANE_PATH.'/config/octane.php';
        file_put_contents(self::$directory.'/tables.json', json_encode(RuntimeTableFixture::declarations($config['cache'] ?? [])));

        self::$port = AskrServer::freePort();
        $respPort = AskrServer::freePort();
        self::$server = new Process([
            AskrServer::binary(), 'serve',
            '--root', self::$directory.'/public',
            '--worker-script', AskrServer::repository().'/tests-php/Runtime/worker.php',
            '--host', '127.0.0.1',
            '--port', (string) self::$port,
            '--workers', '1',
            '--tables', self::$directory.'/tables.json',
            '--resp-port', (string) $respPort,
            '--request-timeout', '300',
        ], self::$directory, ['OCTANE_PATH' => ASKR_TESTS_OCTANE_PATH, 'ASKR_TEST_RESP_PORT' => (string) $respPort], null, null);
        self::$server->start();

        $deadline = microtime(true) + 60;

        while (true) {
            try {
                if (Http::get($this->url('/run?suite='), [])['status'] === 404) {
                    break;
                }
            } catch (RuntimeException) {
            }

            if (! self::$server->isRunning() || microtime(true) > $deadline) {
                $output = self::$server->getOutput().self::$server->getErrorOutput();
                self::tearDownAfterClass();

                throw new RuntimeException("askr serve did not answer within 60 s:\n{$output}");
            }

            usleep(50_000);
        }
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$server?->isRunning()) {
            self::$server->stop(20, SIGTERM);
        }

        self::$server = null;

        if (self::$directory !== null) {
            @unlink(self::$directory.'/tables.json');
            @rmdir(self::$directory.'/public');
            @rmdir(self::$directory);
            self::$directory = null;
        }
    }

    private function url(string $path): string
    {
        return 'http://127.0.0.1:'.self::$port.$path;
    }

    /**
     * @return list<array{class: string, name: string, status: string, message: string}>
     */
    private function runSuite(string $suite): array
    {
        $response = Http::request('GET', $this->url("/run?suite={$suite}"), [], null, 300);
        $body = json_decode($response['body'], true);

        $this->assertSame(200, $response['status'], "the worker could not run suite {$suite}: ".substr($response['body'], 0, 2000)
            ."\nServer output:\n".self::$server->getOutput().self::$server->getErrorOutput());
        $this->assertSame(ASKR_TESTS_OCTANE_PATH, $body['octane'], 'the worker loaded the Octane source under test');
        $this->assertNotEmpty($body['tests']);

        return $body['tests'];
    }

    /**
     * The test methods a test file of Octane declares (test_* methods).
     *
     * @return list<string>
     */
    private static function testMethodsOf(string $file): array
    {
        preg_match_all('/public function (test_\w+)\s*\(/', (string) file_get_contents($file), $matches);

        return $matches[1];
    }

    public function test_octanes_own_table_and_cache_tests_pass_in_an_askr_worker_except_the_three_that_need_swooles_start_up_scripts(): void
    {
        $tests = ASKR_TESTS_OCTANE_PATH.'/tests';

        foreach (['TestCase.php', 'TableTest.php', 'OctaneStoreTest.php'] as $file) {
            if (! is_file("{$tests}/{$file}")) {
                $this->markTestSkipped(
                    "Octane's own tests are not in {$tests}: a git archive of a tag leaves tests/ out (Octane's .gitattributes "
                    .'export-ignores it). Export them beside the source, e.g. mkdir -p '.$tests.' && git --git-dir=<clone of '
                    .'github.com/laravel/octane>/.git archive v1.5.6:tests | tar -x -C '.$tests.' (the tag of that source).'
                );
            }
        }

        $results = $this->runSuite('octane');
        $ran = [];

        foreach ($results as ['class' => $class, 'name' => $name, 'status' => $status, 'message' => $message]) {
            $method = preg_replace('/ with data set .*$/', '', $name);
            $ran[$class][$method] = true;

            if (in_array($method, self::NEED_SWOOLE, true)) {
                $this->assertNotSame('passed', $status, "{$class}::{$name} needs Swoole's start-up scripts, yet passed");
                $this->assertSame('Askr\Octane\Tests\Runtime\OctaneTableTest', $class);
            } else {
                $this->assertSame('passed', $status, "Octane's {$class}::{$name} on askr: {$message}");
            }
        }

        foreach ([
            'Askr\Octane\Tests\Runtime\OctaneTableTest' => "{$tests}/TableTest.php",
            'Askr\Octane\Tests\Runtime\OctaneStoreTest' => "{$tests}/OctaneStoreTest.php",
        ] as $class => $file) {
            $declared = self::testMethodsOf($file);
            $this->assertNotEmpty($declared);
            $this->assertSame([], array_values(array_diff($declared, array_keys($ran[$class] ?? []))), "every test of {$file} ran");
        }

        $failed = array_values(array_filter($results, fn ($test) => $test['status'] !== 'passed'));
        $this->assertSame(self::NEED_SWOOLE, array_column($failed, 'name'), 'exactly the three that need Swoole failed');
    }

    public function test_askrs_swoole_table_behaviours_hold_in_an_askr_worker(): void
    {
        $results = $this->runSuite('askr');

        foreach ($results as ['name' => $name, 'status' => $status, 'message' => $message]) {
            $this->assertSame('passed', $status, "{$name}: {$message}");
        }

        $this->assertCount(count(self::testMethodsOf(AskrServer::repository().'/tests-php/Runtime/SwooleTableInWorkerTest.php')), $results);
    }
}
