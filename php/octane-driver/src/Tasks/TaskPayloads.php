<?php

namespace Askr\Octane\Tasks;

use Closure;
use Laravel\Octane\Exceptions\TaskExceptionResult;
use Laravel\Octane\Swoole\TaskResult;
use Laravel\SerializableClosure\SerializableClosure;
use Throwable;

/**
 * How tasks and their results travel between an HTTP worker and a task worker: PHP's serialize(),
 * closures wrapped in Laravel's SerializableClosure (signed with the app key, as Octane's Swoole
 * dispatcher sends them), results as Octane's TaskResult or TaskExceptionResult (what
 * Worker::handleTask() returns). Neither side ever lets a bad payload escape as anything but an
 * exception with a clear message.
 */
final class TaskPayloads
{
    /**
     * A task as the task worker receives it: closures wrapped in SerializableClosure, anything
     * else (an invokable object) as it is.
     *
     * @throws Throwable when the task cannot be serialized (e.g. it holds a closure in a property).
     */
    public static function encodeTask(mixed $task): string
    {
        return serialize($task instanceof Closure ? new SerializableClosure($task) : $task);
    }

    /**
     * The task of a payload, for Worker::handleTask().
     *
     * @throws InvalidTaskPayloadException when the payload cannot be unserialized (truncated, not
     *         PHP's format, a closure signed with another key, a class this worker cannot load).
     */
    public static function decodeTask(string $payload): mixed
    {
        [$task, $error] = self::unserialize($payload);

        if ($error !== null) {
            throw new InvalidTaskPayloadException("The task could not be unserialized in askr's task worker: {$error}");
        }

        if ($task instanceof \__PHP_Incomplete_Class) {
            $class = (array) $task;

            throw new InvalidTaskPayloadException(sprintf(
                "The task is an instance of [%s], a class askr's task worker cannot load.",
                $class['__PHP_Incomplete_Class_Name'] ?? 'unknown'
            ));
        }

        return $task;
    }

    /**
     * The answer of a task worker: the serialized TaskResult / TaskExceptionResult, or, when the
     * result cannot be serialized (a closure, a PDO connection, ...), a serialized
     * TaskExceptionResult saying so, so that the caller gets an exception instead of a mystery.
     */
    public static function encodeResult(mixed $result): string
    {
        try {
            return serialize($result);
        } catch (Throwable $e) {
            $type = get_debug_type($result instanceof TaskResult ? $result->result : $result);

            return serialize(TaskExceptionResult::from(new UnserializableTaskResultException(
                "The result of the task ({$type}) cannot be serialized to be sent back from askr's task worker: {$e->getMessage()}",
                0,
                $e
            )));
        }
    }

    /**
     * A task worker's answer, back in the caller.
     *
     * @throws TaskFailedException when it is not a TaskResult or TaskExceptionResult.
     */
    public static function decodeResult(string $data, int|string $key): TaskResult|TaskExceptionResult
    {
        [$result, $error] = self::unserialize($data);

        if ($error === null && ($result instanceof TaskResult || $result instanceof TaskExceptionResult)) {
            return $result;
        }

        throw TaskFailedException::forTask($key, $error !== null
            ? "its result could not be unserialized: {$error}"
            : 'the task worker answered with '.get_debug_type($result).' instead of a task result');
    }

    /**
     * unserialize() that reports failures (notices, warnings, exceptions from __unserialize or a
     * signature check) as a message instead of raising them.
     *
     * @return array{0: mixed, 1: string|null}
     */
    private static function unserialize(string $payload): array
    {
        $warning = null;

        set_error_handler(static function (int $level, string $message) use (&$warning): bool {
            $warning ??= $message;

            return true;
        });

        try {
            $value = unserialize($payload);
        } catch (Throwable $e) {
            return [null, get_class($e).': '.$e->getMessage()];
        } finally {
            restore_error_handler();
        }

        if ($value === false && $payload !== serialize(false)) {
            return [null, $warning ?? 'not a serialized PHP value'];
        }

        return [$value, null];
    }
}
