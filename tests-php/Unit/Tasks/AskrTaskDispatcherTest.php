<?php

namespace Askr\Octane\Tests\Unit\Tasks;

use Askr\Octane\Tasks\AskrTaskDispatcher;
use Askr\Octane\Tasks\ProbeTask;
use Askr\Octane\Tasks\TaskFailedException;
use Askr\Octane\Tasks\UnserializableTaskResultException;
use Askr\Octane\Tasks\WorkerTasks;
use Askr\Octane\Tests\Support\FakeTaskNatives;
use Askr\Octane\Tests\Support\RecordingExceptionHandler;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Container\Container;
use Illuminate\Contracts\Debug\ExceptionHandler;
use InvalidArgumentException;
use Laravel\Octane\Contracts\DispatchesTasks;
use Laravel\Octane\Exceptions\DdException;
use Laravel\Octane\Exceptions\TaskException;
use Laravel\Octane\Exceptions\TaskTimeoutException;
use Laravel\Octane\SequentialTaskDispatcher;
use Laravel\SerializableClosure\SerializableClosure;
use LogicException;
use PHPUnit\Framework\TestCase;

/**
 * AskrTaskDispatcher against a model of dispatch_tasks(): Octane's SwooleTaskDispatcher
 * semantics over askr's task workers, and Octane's sequential fallback without them.
 */
class AskrTaskDispatcherTest extends TestCase
{
    use RequiresOctane;

    private FakeTaskNatives $natives;

    private RecordingExceptionHandler $handler;

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->natives = new FakeTaskNatives;
        $this->handler = new RecordingExceptionHandler;

        $container = new Container;
        $container->instance(ExceptionHandler::class, $this->handler);
        Container::setInstance($container);
    }

    protected function tearDown(): void
    {
        Container::setInstance(null);
    }

    private function dispatcher(?bool $taskWorkers = true): AskrTaskDispatcher
    {
        return new AskrTaskDispatcher($this->natives, $taskWorkers);
    }

    public function test_closures_travel_as_serializable_closures_and_results_come_back_under_the_callers_keys_in_order(): void
    {
        $results = $this->dispatcher()->resolve([
            'users' => fn () => 'u',
            7 => fn () => 7,
            'posts' => fn () => ['p' => 1],
        ], 1500);

        $this->assertSame(['users' => 'u', 7 => 7, 'posts' => ['p' => 1]], $results);
        $this->assertSame(['users', 7, 'posts'], array_keys($results));

        $this->assertCount(1, $this->natives->calls);
        $this->assertSame(1500, $this->natives->calls[0]['timeoutMs']);
        $this->assertTrue($this->natives->calls[0]['wait']);

        foreach ($this->natives->tasksOf(0) as $task) {
            $this->assertInstanceOf(SerializableClosure::class, $task);
        }
    }

    public function test_invokable_objects_travel_as_they_are(): void
    {
        $this->assertSame(['probe' => true], $this->dispatcher()->resolve(['probe' => new ProbeTask]));
        $this->assertInstanceOf(ProbeTask::class, $this->natives->tasksOf(0)[0]);
    }

    public function test_no_tasks_resolve_to_nothing_without_asking_the_runtime(): void
    {
        $this->assertSame([], $this->dispatcher()->resolve([]));
        $this->dispatcher()->dispatch([]);
        $this->assertSame([], $this->natives->calls);
    }

    public function test_a_tasks_exception_is_rethrown_with_its_original_class_and_message(): void
    {
        try {
            $this->dispatcher()->resolve([
                'fine' => fn () => 1,
                'broken' => function () {
                    throw new InvalidArgumentException('Invalid order #42', 42);
                },
            ]);
            $this->fail('No exception was thrown.');
        } catch (TaskException $e) {
            $this->assertSame(InvalidArgumentException::class, $e->getClass());
            $this->assertSame('Invalid order #42', $e->getMessage());
            $this->assertSame(42, $e->getCode());
        }
    }

    public function test_the_first_failing_task_in_the_callers_order_wins(): void
    {
        try {
            $this->dispatcher()->resolve([
                'a' => fn () => throw new LogicException('first'),
                'b' => fn () => throw new InvalidArgumentException('second'),
            ]);
            $this->fail('No exception was thrown.');
        } catch (TaskException $e) {
            $this->assertSame(LogicException::class, $e->getClass());
            $this->assertSame('first', $e->getMessage());
        }
    }

    public function test_dd_in_a_task_comes_back_as_octanes_dd_exception(): void
    {
        $this->expectException(DdException::class);

        $this->dispatcher()->resolve([fn () => throw new DdException(['dumped'])]);
    }

    public function test_no_result_in_time_throws_the_task_timeout_exception(): void
    {
        $this->natives->outcomes = ['timeout', 'timeout'];

        $this->expectException(TaskTimeoutException::class);
        $this->expectExceptionMessage('Task timed out after 250 milliseconds.');

        $this->dispatcher()->resolve([fn () => 1, fn () => 2], 250);
    }

    public function test_tasks_late_among_finished_ones_are_false_as_with_swooles_task_wait_multi(): void
    {
        $this->natives->outcomes = [1 => 'timeout'];

        $this->assertSame(['quick' => 'q', 'late' => false, 'also' => 'a'], $this->dispatcher()->resolve([
            'quick' => fn () => 'q',
            'late' => fn () => 'l',
            'also' => fn () => 'a',
        ]));
    }

    public function test_a_task_whose_worker_died_fails_with_a_task_exception(): void
    {
        $this->natives->outcomes = [1 => 'error'];

        try {
            $this->dispatcher()->resolve(['fine' => fn () => 1, 'victim' => fn () => 2]);
            $this->fail('No exception was thrown.');
        } catch (TaskFailedException $e) {
            $this->assertInstanceOf(TaskException::class, $e);
            $this->assertSame(TaskFailedException::class, $e->getClass());
            $this->assertStringContainsString('Task [victim] failed', $e->getMessage());
            $this->assertStringContainsString('the task worker running this task exited (status 137)', $e->getMessage());
            $this->assertSame(__FILE__, $e->getFile(), 'the exception points at the caller of concurrently()');
        }
    }

    public function test_an_unreadable_answer_fails_with_a_clear_message(): void
    {
        $this->natives->outcomes = [['status' => 'ok', 'data' => 'not serialized']];

        $this->expectException(TaskFailedException::class);
        $this->expectExceptionMessageMatches('/Task \[0\] failed: its result could not be unserialized/');

        $this->dispatcher()->resolve([fn () => 1]);
    }

    public function test_an_answer_that_is_not_a_task_result_fails_with_a_clear_message(): void
    {
        $this->natives->outcomes = [['status' => 'ok', 'data' => serialize(['raw'])]];

        $this->expectException(TaskFailedException::class);
        $this->expectExceptionMessage('Task [0] failed: the task worker answered with array instead of a task result');

        $this->dispatcher()->resolve([fn () => 1]);
    }

    public function test_a_result_that_cannot_be_serialized_is_explained(): void
    {
        try {
            $this->dispatcher()->resolve([fn () => fn () => 'a closure']);
            $this->fail('No exception was thrown.');
        } catch (TaskException $e) {
            $this->assertSame(UnserializableTaskResultException::class, $e->getClass());
            $this->assertStringContainsString("The result of the task (Closure) cannot be serialized", $e->getMessage());
            $this->assertStringContainsString("Serialization of 'Closure' is not allowed", $e->getMessage());
        }
    }

    public function test_without_task_workers_tasks_run_sequentially_here_and_the_runtime_is_asked_once(): void
    {
        $this->natives->noTaskWorkers = true;
        $dispatcher = $this->dispatcher(null);

        $this->assertSame(['a' => getmypid(), 'b' => 2], $dispatcher->resolve(['a' => fn () => getmypid(), 'b' => fn () => 2]));
        $this->assertFalse($dispatcher->hasTaskWorkers());
        $this->assertSame(['c' => 3], $dispatcher->resolve(['c' => fn () => 3]));
        $this->assertCount(1, $this->natives->calls);

        try {
            $dispatcher->resolve(['x' => fn () => throw new LogicException('sequential failure')]);
            $this->fail('No exception was thrown.');
        } catch (TaskException $e) {
            $this->assertSame(LogicException::class, $e->getClass());
            $this->assertSame('sequential failure', $e->getMessage());
        }

        // As Octane's SequentialTaskDispatcher: the exception is reported, then rethrown.
        $this->assertCount(1, $this->handler->reported);
    }

    public function test_dispatch_sends_the_tasks_without_waiting(): void
    {
        $this->dispatcher()->dispatch(['a' => fn () => 1, 'b' => fn () => 2]);

        $this->assertCount(1, $this->natives->calls);
        $this->assertFalse($this->natives->calls[0]['wait']);
        $this->assertSame([0, 1], array_keys($this->natives->calls[0]['payloads']));
        $this->assertContainsOnlyInstancesOf(SerializableClosure::class, $this->natives->tasksOf(0));
    }

    public function test_dispatch_without_task_workers_runs_the_tasks_here_and_swallows_their_exceptions(): void
    {
        $ran = [];
        $this->dispatcher(false)->dispatch([
            function () use (&$ran) { $ran[] = 'a'; },
            fn () => throw new LogicException('ignored'),
        ]);

        $this->assertSame(['a'], $ran);
        $this->assertSame([], $this->natives->calls);
        $this->assertCount(1, $this->handler->reported);
    }

    public function test_dispatch_asks_once_whether_there_are_task_workers_when_nobody_said(): void
    {
        $dispatcher = $this->dispatcher(null);

        $dispatcher->dispatch([fn () => 1]);
        $dispatcher->dispatch([fn () => 2]);

        $this->assertCount(3, $this->natives->calls);
        $this->assertTrue($this->natives->calls[0]['wait']);
        $this->assertInstanceOf(ProbeTask::class, $this->natives->tasksOf(0)[0]);
        $this->assertFalse($this->natives->calls[1]['wait']);
        $this->assertFalse($this->natives->calls[2]['wait']);
        $this->assertTrue($dispatcher->hasTaskWorkers());
    }

    public function test_dispatch_asks_and_falls_back_when_there_are_none(): void
    {
        $this->natives->noTaskWorkers = true;
        $ran = false;

        $this->dispatcher(null)->dispatch([function () use (&$ran) { $ran = true; }]);

        $this->assertTrue($ran);
        $this->assertCount(1, $this->natives->calls, 'only the probe reached the runtime');
    }

    public function test_the_worker_environment_says_whether_there_are_task_workers(): void
    {
        $this->assertTrue(AskrTaskDispatcher::fromEnvironment($this->natives, '3')->hasTaskWorkers());
        $this->assertFalse(AskrTaskDispatcher::fromEnvironment($this->natives, '0')->hasTaskWorkers());
        $this->assertNull(AskrTaskDispatcher::fromEnvironment($this->natives, false)->hasTaskWorkers());
    }

    public function test_http_workers_get_this_dispatcher_and_task_workers_the_sequential_one(): void
    {
        $http = WorkerTasks::initialInstances(false, $this->natives, '2');
        $task = WorkerTasks::initialInstances(true, $this->natives, '2');

        $this->assertInstanceOf(AskrTaskDispatcher::class, $http[DispatchesTasks::class]);
        $this->assertInstanceOf(SequentialTaskDispatcher::class, $task[DispatchesTasks::class]);
        $this->assertTrue(WorkerTasks::isTaskWorker('task'));
        $this->assertFalse(WorkerTasks::isTaskWorker('http'));
        $this->assertFalse(WorkerTasks::isTaskWorker(false));
    }
}
