<?php

namespace Askr\Octane\Tests\Unit\Tasks;

use Askr\Octane\Tasks\InvalidTaskPayloadException;
use Askr\Octane\Tasks\TaskPayloads;
use Askr\Octane\Tasks\TaskWorkerClient;
use Askr\Octane\Tasks\TaskWorkerLoop;
use Askr\Octane\Tasks\UnserializableTaskResultException;
use Askr\Octane\Tests\Support\FakeNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use Laravel\Octane\ApplicationFactory;
use Laravel\Octane\Contracts\StoppableClient;
use Laravel\Octane\Exceptions\TaskExceptionResult;
use Laravel\Octane\Swoole\TaskResult;
use Laravel\Octane\Worker;
use LogicException;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Throwable;

/**
 * The task worker's loop (what Swoole's onTask handler is for Octane) against the fake natives
 * and a stand-in for Octane's Worker: every task and tick is answered exactly once with status
 * 'ok', bad payloads and failing ticks never end the loop.
 */
class TaskWorkerLoopTest extends TestCase
{
    use RequiresOctane;

    private FakeNatives $natives;

    /** @var list<Throwable> */
    private array $reported = [];

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->natives = new FakeNatives;
    }

    private function loop(Worker $worker, bool $ticks = true): TaskWorkerLoop
    {
        return new TaskWorkerLoop($worker, $this->natives, function (Throwable $e) {
            $this->reported[] = $e;
        }, $ticks);
    }

    private function worker(): StandInWorker
    {
        return new StandInWorker(new ApplicationFactory(sys_get_temp_dir()), new TaskWorkerClient);
    }

    private static function task(string $payload): array
    {
        return ['id' => 1, 'kind' => 'task', 'payload' => $payload];
    }

    private static function tick(): array
    {
        return ['id' => 2, 'kind' => 'tick', 'payload' => ''];
    }

    /** @return list<TaskResult|TaskExceptionResult|string> The answers, decoded (ticks: ''). */
    private function answers(): array
    {
        return array_map(function (array $call) {
            $this->assertSame('ok', $call[1]['status']);

            return $call[1]['result'] === '' ? '' : TaskPayloads::decodeResult($call[1]['result'], 0);
        }, array_values(array_filter($this->natives->calls, fn ($call) => $call[0] === 'sendTaskResult')));
    }

    public function test_a_task_runs_through_octanes_worker_and_its_serialized_result_is_the_answer(): void
    {
        $this->natives->tasks = [self::task(TaskPayloads::encodeTask(fn () => ['pid' => getmypid()]))];

        $this->loop($worker = $this->worker())->run();

        [$answer] = $this->answers();
        $this->assertInstanceOf(TaskResult::class, $answer);
        $this->assertSame(['pid' => getmypid()], $answer->result);
        $this->assertSame(1, $worker->tasks);
        $this->assertSame(['takeTask', 'sendTaskResult', 'takeTask'], $this->natives->callNames());
    }

    public function test_a_tasks_exception_is_answered_as_a_task_exception_result(): void
    {
        $this->natives->tasks = [self::task(TaskPayloads::encodeTask(fn () => throw new LogicException('nope')))];

        $this->loop($this->worker())->run();

        [$answer] = $this->answers();
        $this->assertInstanceOf(TaskExceptionResult::class, $answer);
        $this->assertSame(LogicException::class, $answer->getOriginal()->getClass());
        $this->assertSame('nope', $answer->getOriginal()->getMessage());
    }

    public function test_payloads_that_cannot_be_unserialized_are_answered_with_an_error_and_the_loop_goes_on(): void
    {
        $this->natives->tasks = [
            self::task('garbage'),
            self::task(substr(TaskPayloads::encodeTask(fn () => 1), 0, 40)),
            self::task('O:20:"App\\Jobs\\NoSuchClass":0:{}'),
            self::task(''),
            self::task(TaskPayloads::encodeTask(fn () => 'still alive')),
        ];

        $this->loop($worker = $this->worker())->run();

        $answers = $this->answers();
        $this->assertCount(5, $answers);

        foreach (array_slice($answers, 0, 4) as $answer) {
            $this->assertInstanceOf(TaskExceptionResult::class, $answer);
            $this->assertSame(InvalidTaskPayloadException::class, $answer->getOriginal()->getClass());
        }

        $this->assertStringContainsString('could not be unserialized', $answers[0]->getOriginal()->getMessage());
        $this->assertStringContainsString('[App\\Jobs\\NoSuchClass], a class askr\'s task worker cannot load', $answers[2]->getOriginal()->getMessage());
        $this->assertSame('still alive', $answers[4]->result);
        $this->assertSame(1, $worker->tasks, 'only the good payload reached the worker');
        $this->assertCount(4, $this->reported);
    }

    public function test_a_result_that_cannot_be_serialized_is_answered_with_an_explanation(): void
    {
        $this->natives->tasks = [self::task(TaskPayloads::encodeTask(fn () => fn () => 1))];

        $this->loop($this->worker())->run();

        [$answer] = $this->answers();
        $this->assertInstanceOf(TaskExceptionResult::class, $answer);
        $this->assertSame(UnserializableTaskResultException::class, $answer->getOriginal()->getClass());
        $this->assertStringContainsString('The result of the task (Closure) cannot be serialized', $answer->getOriginal()->getMessage());
    }

    public function test_a_failure_around_the_task_is_answered_and_reported(): void
    {
        $worker = $this->worker();
        $worker->failHandling = new RuntimeException('a WorkerErrorOccurred listener failed');
        $this->natives->tasks = [self::task(TaskPayloads::encodeTask(fn () => 1)), self::task(TaskPayloads::encodeTask(fn () => 2))];

        $this->loop($worker)->run();

        $answers = $this->answers();
        $this->assertSame('a WorkerErrorOccurred listener failed', $answers[0]->getOriginal()->getMessage());
        $this->assertSame('a WorkerErrorOccurred listener failed', $answers[1]->getOriginal()->getMessage());
        $this->assertCount(2, $this->reported);
    }

    public function test_kinds_other_than_task_and_tick_are_refused_with_an_error_result(): void
    {
        $this->natives->tasks = [['id' => 3, 'kind' => 'job', 'payload' => '']];

        $this->loop($this->worker())->run();

        [$answer] = $this->answers();
        $this->assertStringContainsString('received a task of kind [job]', $answer->getOriginal()->getMessage());
    }

    public function test_ticks_run_octanes_handle_tick_and_are_answered_empty(): void
    {
        $this->natives->tasks = [self::tick(), self::tick()];

        $loop = $this->loop($worker = $this->worker());
        $loop->run();

        $this->assertSame(['', ''], $this->answers());
        $this->assertSame(2, $worker->ticks);
        $this->assertSame(2, $loop->ticks);
        $this->assertSame(0, $loop->tasks);
    }

    public function test_a_failing_tick_is_reported_and_the_next_one_still_runs(): void
    {
        $worker = $this->worker();
        $worker->failTicks = 1;
        $this->natives->tasks = [self::tick(), self::tick()];

        $this->loop($worker)->run();

        $this->assertSame(['', ''], $this->answers());
        $this->assertSame(2, $worker->ticks);
        $this->assertCount(1, $this->reported);
        $this->assertSame('tick failed', $this->reported[0]->getMessage());
    }

    public function test_ticks_are_answered_without_running_when_octane_tick_is_off(): void
    {
        $this->natives->tasks = [self::tick()];

        $this->loop($worker = $this->worker(), false)->run();

        $this->assertSame([''], $this->answers());
        $this->assertSame(0, $worker->ticks);
    }

    public function test_the_loop_leaves_after_max_tasks_ticks_not_counted(): void
    {
        $this->natives->tasks = [self::tick(), self::task(TaskPayloads::encodeTask(fn () => 1)), self::tick(), self::task(TaskPayloads::encodeTask(fn () => 2))];

        $this->loop($worker = $this->worker())->run(1);

        $this->assertSame(1, $worker->tasks);
        $this->assertSame(1, $worker->ticks);
        $this->assertCount(2, $this->natives->tasks, 'two tasks were left for the next run of the script');
    }

    public function test_the_task_worker_client_is_not_stoppable_and_serves_no_requests(): void
    {
        $client = new TaskWorkerClient;

        $this->assertNotInstanceOf(StoppableClient::class, $client);
        $this->expectException(LogicException::class);
        $client->marshalRequest(new \Laravel\Octane\RequestContext);
    }
}

/**
 * Octane's Worker without an application: handleTask() runs the task as Worker::handleTask() does
 * (a TaskResult, or a TaskExceptionResult for the task's exception).
 */
final class StandInWorker extends Worker
{
    public int $tasks = 0;

    public int $ticks = 0;

    public ?Throwable $failHandling = null;

    public int $failTicks = 0;

    public function handleTask($data)
    {
        if ($this->failHandling) {
            throw $this->failHandling;
        }

        $this->tasks++;

        try {
            return new TaskResult($data());
        } catch (Throwable $e) {
            return TaskExceptionResult::from($e);
        }
    }

    public function handleTick(): void
    {
        $this->ticks++;

        if ($this->failTicks-- > 0) {
            throw new RuntimeException('tick failed');
        }
    }
}
