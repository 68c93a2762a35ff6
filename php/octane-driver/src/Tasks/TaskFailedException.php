<?php

namespace Askr\Octane\Tasks;

use Laravel\Octane\Exceptions\TaskException;

/**
 * A task that produced no result: its task worker died or failed outside the task (a fatal
 * error, SIGKILL, out of memory), or its answer could not be read. Thrown in the caller of
 * Octane::concurrently(); it is an Octane TaskException, so code that catches those catches it.
 * File and line are those of the application code that called concurrently().
 */
class TaskFailedException extends TaskException
{
    public static function forTask(int|string $key, string $reason): static
    {
        [$file, $line] = static::callerLocation();

        return new static(static::class, "Task [{$key}] failed: {$reason}", 0, $file, $line);
    }

    /**
     * The first frame outside this driver, Octane and Laravel's facades.
     *
     * @return array{0: string, 1: int}
     */
    protected static function callerLocation(): array
    {
        $skip = [dirname(__DIR__).'/', dirname((new \ReflectionClass(\Laravel\Octane\Octane::class))->getFileName()).'/'];

        foreach (debug_backtrace(DEBUG_BACKTRACE_IGNORE_ARGS) as $frame) {
            $file = $frame['file'] ?? null;

            if ($file === null || str_starts_with($file, $skip[0]) || str_starts_with($file, $skip[1])
                || str_contains($file, '/Illuminate/Support/Facades/')) {
                continue;
            }

            return [$file, (int) ($frame['line'] ?? 0)];
        }

        return [__FILE__, __LINE__];
    }
}
