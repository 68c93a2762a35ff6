<?php

/*
 * askr worker script that runs PHPUnit test classes inside a real askr worker, on the runtime's
 * real shared tables (tests-php/Feature/TestsInsideAnAskrWorkerTest.php starts it with
 * `askr serve --worker-script tests-php/Runtime/worker.php --tables ...`).
 *
 * One request per run of this script: GET /run?suite=<name> runs that suite (see SUITES) with
 * PHPUnit's framework API and answers JSON:
 *   {"octane": "<Octane's source path>", "tests": [{"class", "name", "status", "message"}, ...]}
 * status is passed, failure, error, warning, risky, skipped or incomplete. The script then ends,
 * and askr runs it again in the same process: each suite starts in a fresh PHP request (its
 * classes, constants and static state gone).
 *
 * Octane's own tests are loaded from $OCTANE_PATH/tests (namespace Laravel\Octane\Tests), which the
 * git archive of a tag leaves out (its .gitattributes export-ignores /tests); the Feature test
 * skips them with the command to export them when they are absent.
 */

use Askr\Octane\Tests\Runtime\ResultCollector;
use PHPUnit\Framework\TestResult;
use PHPUnit\Framework\TestSuite;

use function Ephpm\Octane\send_response;
use function Ephpm\Octane\take_request;

require __DIR__.'/../bootstrap.php';
require_once 'PHPUnit/Autoload.php';

const SUITES = [
    // Octane's own TableTest and OctaneStoreTest, whose table fixture is the runtime's table.
    'octane' => [
        Askr\Octane\Tests\Runtime\OctaneTableTest::class,
        Askr\Octane\Tests\Runtime\OctaneStoreTest::class,
    ],
    // askr's Swoole\Table behaviours that need the runtime (internal methods, RESP's figures).
    'askr' => [
        Askr\Octane\Tests\Runtime\SwooleTableInWorkerTest::class,
    ],
];

// Octane's tests, before the bootstrap's Laravel\Octane\ => src/ mapping.
spl_autoload_register(static function (string $class): void {
    if (ASKR_TESTS_OCTANE_PATH !== null && str_starts_with($class, 'Laravel\\Octane\\Tests\\')) {
        $file = ASKR_TESTS_OCTANE_PATH.'/tests/'.str_replace('\\', '/', substr($class, strlen('Laravel\\Octane\\Tests\\'))).'.php';

        if (is_file($file)) {
            require $file;
        }
    }
}, true, true);

$request = take_request();

if ($request === null) {
    return;
}

parse_str((string) parse_url($request['uri'], PHP_URL_QUERY), $query);
$classes = SUITES[$query['suite'] ?? ''] ?? null;

if ($classes === null) {
    send_response(404, ['Content-Type' => 'text/plain'], 'GET /run?suite='.implode('|', array_keys(SUITES))."\n");

    return;
}

try {
    $suite = new TestSuite('askr worker');

    foreach ($classes as $class) {
        $suite->addTestSuite($class);
    }

    $collector = new ResultCollector;
    $result = new TestResult;
    $result->addListener($collector);
    $suite->run($result);

    send_response(200, ['Content-Type' => 'application/json'], json_encode([
        'octane' => ASKR_TESTS_OCTANE_PATH,
        'tests' => $collector->tests,
    ], JSON_THROW_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE));
} catch (Throwable $e) {
    send_response(500, ['Content-Type' => 'text/plain'], "The suite could not run: {$e}\n");
}
