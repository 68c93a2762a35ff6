<?php

namespace Askr\Octane\Tests\Support;

use Illuminate\Contracts\Debug\ExceptionHandler;
use Throwable;

/** An exception handler that remembers what it was asked to report. */
final class RecordingExceptionHandler implements ExceptionHandler
{
    /** @var list<Throwable> */
    public array $reported = [];

    public function report(Throwable $e)
    {
        $this->reported[] = $e;
    }

    public function shouldReport(Throwable $e)
    {
        return true;
    }

    public function render($request, Throwable $e)
    {
        throw $e;
    }

    public function renderForConsole($output, Throwable $e)
    {
    }
}
