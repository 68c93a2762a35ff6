<?php
// The background worker of tests-dotnet/Askr.Tests/Background/BackgroundWorkerTests.cs. What it does
// depends on its name (argv[1]); several names run this one script.

use function Ephpm\Octane\{set_vars, should_stop, get_worker_handle};

require __DIR__.'/values.php';

$name = $_SERVER['argv'][1] ?? '';
$base = $name === '' ? '' : explode('-', $name)[0];

function identity(string $name): array
{
    return [
        'name' => $name,
        'pid' => getmypid(),
        'kind' => $_SERVER['ASKR_WORKER_KIND'] ?? null,
        'env_name' => $_SERVER['ASKR_BACKGROUND_WORKER'] ?? null,
        'argv1' => $_SERVER['argv'][1] ?? null,
    ];
}

/** Waits on the stop handle until the worker must stop (the stream_select way). */
function wait_for_stop(float $seconds = 3600): void
{
    $handle = get_worker_handle();
    $deadline = microtime(true) + $seconds;
    while (! should_stop() && microtime(true) < $deadline) {
        $read = [$handle];
        $write = $except = null;
        stream_select($read, $write, $except, 1);
    }
}

function attempt(callable $fn): ?string
{
    try {
        $fn();

        return null;
    } catch (Throwable $e) {
        return get_class($e).': '.$e->getMessage();
    }
}

switch ($base) {
    case 'leader':
        // A scope=cluster worker (BackgroundClusterTests): publishes who it is and a sequence
        // number with its time every 20 ms, so readers on other nodes can tell how old their copy is.
        $seq = 0;
        while (! should_stop()) {
            set_vars(identity($name) + ['seq' => ++$seq, 'at' => microtime(true)]);
            usleep(20_000);
        }
        break;
    case 'types':
        set_vars(every_value_type());
        wait_for_stop();
        break;
    case 'crasher':
        // Publishes who it is, then dies: the supervisor restarts it with backoff.
        set_vars(identity($name) + ['at' => microtime(true)]);
        usleep(200_000);
        exit(3);
    case 'stuck':
        // Ignores the stop handle: the supervisor must kill it after --background-grace.
        // A signal ends a sleep() early (EINTR): sleep again, forever.
        set_vars(identity($name));
        for (;;) {
            sleep(60);
        }
    case 'slow':
        usleep(700_000);
        set_vars(identity($name) + ['slow' => true]);
        wait_for_stop();
        break;
    case 'boom':
        throw new RuntimeException("cannot reach the sentinel for $name");
    case 'bad':
        $errors = [
            'closure' => attempt(fn () => set_vars(['a' => ['b' => fn () => 1]])),
            'resource' => attempt(fn () => set_vars(['fh' => STDERR])),
            'object' => attempt(fn () => set_vars([new stdClass()])),
            'pure_enum' => attempt(fn () => set_vars(['p' => Pure::One])),
            'too_large' => attempt(fn () => set_vars(['big' => str_repeat('x', 2 * 1024 * 1024)])),
        ];
        set_vars(identity($name) + ['errors' => $errors]);
        wait_for_stop();
        break;
    case 'same':
        // Publishes the same snapshot again and again: the generation must stay at 1.
        for ($i = 0; $i < 50 && ! should_stop(); $i++) {
            set_vars(['constant' => 'value', 'list' => [1, 2, 3]]);
            usleep(10_000);
        }
        set_vars(['constant' => 'value', 'list' => [1, 2, 3], 'done' => true]);
        wait_for_stop();
        break;
    default:
        set_vars(identity($name));
        wait_for_stop();
        break;
}
