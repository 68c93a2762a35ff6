<?php

namespace Askr\Octane\Tests\Runtime;

use PHPUnit\Framework\AssertionFailedError;
use PHPUnit\Framework\ExceptionWrapper;
use PHPUnit\Framework\Test;
use PHPUnit\Framework\TestCase;
use PHPUnit\Framework\TestListener;
use PHPUnit\Framework\TestListenerDefaultImplementation;
use PHPUnit\Framework\Warning;
use Throwable;

/**
 * Records the outcome of every test a TestResult runs, for tests-php/Runtime/worker.php to answer
 * as JSON: one entry per test (per data set), in the order they ran.
 */
final class ResultCollector implements TestListener
{
    use TestListenerDefaultImplementation;

    /** @var list<array{class: string, name: string, status: string, message: string}> */
    public array $tests = [];

    private ?array $current = null;

    public function startTest(Test $test): void
    {
        $this->current = [
            'class' => $test::class,
            'name' => $test instanceof TestCase ? $test->getName() : (string) $test,
            'status' => 'passed',
            'message' => '',
        ];
    }

    public function addError(Test $test, Throwable $t, float $time): void
    {
        $this->outcome('error', $t);
    }

    public function addWarning(Test $test, Warning $e, float $time): void
    {
        $this->outcome('warning', $e);
    }

    public function addFailure(Test $test, AssertionFailedError $e, float $time): void
    {
        $this->outcome('failure', $e);
    }

    public function addIncompleteTest(Test $test, Throwable $t, float $time): void
    {
        $this->outcome('incomplete', $t);
    }

    public function addRiskyTest(Test $test, Throwable $t, float $time): void
    {
        $this->outcome('risky', $t);
    }

    public function addSkippedTest(Test $test, Throwable $t, float $time): void
    {
        $this->outcome('skipped', $t);
    }

    public function endTest(Test $test, float $time): void
    {
        if ($this->current !== null) {
            $this->tests[] = $this->current;
            $this->current = null;
        }
    }

    private function outcome(string $status, Throwable $t): void
    {
        // The first outcome counts (an error in the test, then perhaps another in tearDown).
        if ($this->current !== null && $this->current['status'] === 'passed') {
            $this->current['status'] = $status;
            $class = $t instanceof ExceptionWrapper ? $t->getClassName() : $t::class;
            $this->current['message'] = $class.': '.$t->getMessage();
        }
    }
}
