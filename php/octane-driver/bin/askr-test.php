<?php

/*
|--------------------------------------------------------------------------
| askr test: a test runner that boots once (docs/lifecycle.md)
|--------------------------------------------------------------------------
|
| Usage: php askr-test.php [--app PATH] [--parallel N] [--configuration FILE] [--bootstrap FILE] [PATH ...]
| (`askr test` runs this file with the same arguments.)
|
| The parent process loads the autoloader and, for a Laravel app (PATH/bootstrap/app.php),
| boots the application once (the console kernel's bootstrap: configuration, providers, the
| framework's classes loaded), then forgets that instance. Each test file then runs in a child
| forked from it (pcntl_fork: the children start with everything the parent loaded), N at a time,
| with PHPUnit on that one file. A child's exit status is its verdict: 0 passed, anything else
| (a failure, a fatal error's 255, a signal such as SIGSEGV) failed; an exit(0) inside a test
| ends its child with 0 and counts as passed. A child's output is kept in a file and printed
| for the files that failed. The last line is "N file(s): P passed, F failed"; the exit status
| is 1 if any file failed, 2 for bad arguments.
|
| PATH arguments are test files or directories searched for *Test.php (default: the app's tests/).
*/

$usage = 'usage: askr test [--app PATH] [--parallel N] [--configuration FILE] [--bootstrap FILE] [PATH ...]';
$app = getcwd();
$parallel = 0;
$configuration = null;
$bootstrap = null;
$paths = [];
$args = array_slice($argv, 1);

for ($i = 0; $i < count($args); $i++) {
    $arg = $args[$i];
    $value = static function () use (&$i, $args, $arg, $usage) {
        if (! isset($args[$i + 1])) {
            fwrite(STDERR, "askr test: {$arg} needs a value\n{$usage}\n");
            exit(2);
        }

        return $args[++$i];
    };
    match (true) {
        $arg === '--app' => $app = $value(),
        $arg === '--parallel' => $parallel = $value(),
        $arg === '--configuration', $arg === '-c' => $configuration = $value(),
        $arg === '--bootstrap' => $bootstrap = $value(),
        $arg === '--help', $arg === '-h' => exit(fwrite(STDOUT, $usage."\n") ? 0 : 0),
        str_starts_with($arg, '-') => exit(fwrite(STDERR, "askr test: unknown option {$arg}\n{$usage}\n") ? 2 : 2),
        default => $paths[] = $arg,
    };
}

if (! function_exists('pcntl_fork')) {
    fwrite(STDERR, "askr test: PHP's pcntl extension is not loaded in this CLI (Debian: it is built into php8.2-cli)\n");
    exit(2);
}

$cores = static function (): int {
    $cpuinfo = @file_get_contents('/proc/cpuinfo');

    return $cpuinfo ? max(1, preg_match_all('/^processor\s*:/m', $cpuinfo)) : 1;
};

if ($parallel === 0) {
    $parallel = $cores();
} elseif (filter_var($parallel, FILTER_VALIDATE_INT, ['options' => ['min_range' => 1]]) === false) {
    fwrite(STDERR, "askr test: --parallel must be a positive number, [{$parallel}] given\n");
    exit(2);
}

$parallel = (int) $parallel;
$app = rtrim($app, '/');

if (! is_dir($app)) {
    fwrite(STDERR, "askr test: --app {$app}: no such directory\n");
    exit(2);
}

$app = realpath($app);
$configuration ??= is_file("{$app}/phpunit.xml") ? "{$app}/phpunit.xml" : (is_file("{$app}/phpunit.xml.dist") ? "{$app}/phpunit.xml.dist" : null);
$paths = $paths === [] ? ["{$app}/tests"] : $paths;
$files = [];

foreach ($paths as $path) {
    if (is_file($path)) {
        $files[] = realpath($path);
    } elseif (is_dir($path)) {
        foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator($path, FilesystemIterator::SKIP_DOTS)) as $file) {
            if (str_ends_with($file->getFilename(), 'Test.php')) {
                $files[] = $file->getRealPath();
            }
        }
    } else {
        fwrite(STDERR, "askr test: {$path}: no such file or directory\n");
        exit(2);
    }
}

$files = array_values(array_unique($files));
sort($files);

if ($files === []) {
    fwrite(STDERR, 'askr test: no test files (*Test.php) in '.implode(', ', $paths)."\n");
    exit(2);
}

// ---- boot once, in the parent ----
$started = microtime(true);

if (is_file("{$app}/vendor/autoload.php")) {
    require_once "{$app}/vendor/autoload.php";
}

// PHPUnit from the app's vendor/, else Debian's (phpunit package: PHPUnit/Autoload.php on the include path).
if (! class_exists(PHPUnit\TextUI\Command::class) && ($phpunit = stream_resolve_include_path('PHPUnit/Autoload.php')) !== false) {
    require_once $phpunit;
}

if ($bootstrap !== null) {
    require_once $bootstrap;
}

if (! class_exists(PHPUnit\TextUI\Command::class)) {
    fwrite(STDERR, "askr test: PHPUnit was not found (the app's vendor/, or PHPUnit/autoload.php on the include path)\n");
    exit(2);
}

if (is_file("{$app}/bootstrap/app.php")) {
    // Laravel: boot the application once, so its classes, configuration files and providers are
    // loaded when the children fork; then stop it being the current instance (each test creates its own).
    $_ENV['APP_ENV'] ??= 'testing';
    putenv('APP_ENV='.$_ENV['APP_ENV']);
    // In a scope of its own: bootstrap/app.php assigns $app.
    $laravel = (static fn (string $file) => require $file)("{$app}/bootstrap/app.php");
    $laravel->make(Illuminate\Contracts\Console\Kernel::class)->bootstrap();
    // The boot's error and exception handlers belong to that instance; the tests' own apps set theirs.
    restore_error_handler();
    restore_exception_handler();
    Illuminate\Support\Facades\Facade::clearResolvedInstances();
    Illuminate\Support\Facades\Facade::setFacadeApplication(null);
    Illuminate\Container\Container::setInstance(null);
}

// PHPUnit's own classes, loaded before the fork too.
class_exists(PHPUnit\TextUI\TestRunner::class);
class_exists(PHPUnit\Framework\TestCase::class);
$bootSeconds = microtime(true) - $started;

// ---- one child per file, $parallel at a time ----
$outputDir = sys_get_temp_dir().'/askr-test-'.getmypid().'-'.bin2hex(random_bytes(3));
mkdir($outputDir, 0700);
$running = [];
$results = [];
$queue = $files;

/**
 * PHPUnit's default printer, writing through PHP's output layer (php://output), which the child
 * buffers into its output file; it also marks the file's failures in "<output>.failed", so a test
 * file whose child ends with exit(0) after a failing test still fails.
 */
final class AskrTestFilePrinter extends PHPUnit\TextUI\DefaultResultPrinter
{
    public function __construct($out = null, ...$options)
    {
        parent::__construct('php://output', ...$options);
    }

    public function addError(PHPUnit\Framework\Test $test, Throwable $t, float $time): void
    {
        self::mark($test);
        parent::addError($test, $t, $time);
    }

    public function addFailure(PHPUnit\Framework\Test $test, PHPUnit\Framework\AssertionFailedError $e, float $time): void
    {
        self::mark($test);
        parent::addFailure($test, $e, $time);
    }

    private static function mark(PHPUnit\Framework\Test $test): void
    {
        file_put_contents(getenv('ASKR_TEST_OUTPUT').'.failed', PHPUnit\Util\Test::describeAsString($test)."\n", FILE_APPEND);
    }
}

$runChild = static function (string $file, string $output) use ($configuration): never {
    // What the tests and PHPUnit print is buffered and appended to the child's output file when
    // it ends (shutdown functions run after a fatal error and an exit() too).
    putenv("ASKR_TEST_OUTPUT={$output}");
    // PHP's errors (a fatal error too, whose output buffers PHP discards) are logged to the same file.
    ini_set('display_errors', '0');
    ini_set('log_errors', '1');
    ini_set('error_log', $output);
    ob_start();
    register_shutdown_function(static function () use ($output): void {
        $echoed = '';
        while (ob_get_level() > 0) {
            $echoed = ob_get_clean().$echoed;
        }
        if ($echoed !== '') {
            file_put_contents($output, $echoed, FILE_APPEND);
        }
    });
    $arguments = ['phpunit', '--colors=never', '--printer', AskrTestFilePrinter::class];
    if ($configuration !== null) {
        array_push($arguments, '--configuration', $configuration);
    }
    $arguments[] = $file;
    $_SERVER['argv'] = $arguments;
    exit((new PHPUnit\TextUI\Command)->run($arguments, false));
};

while ($queue !== [] || $running !== []) {
    while ($queue !== [] && count($running) < $parallel) {
        $file = array_shift($queue);
        $output = $outputDir.'/'.count($results).'-'.count($running).'-'.basename($file).'.out';
        $pid = pcntl_fork();
        if ($pid === -1) {
            fwrite(STDERR, "askr test: fork failed for {$file}\n");
            $results[$file] = ['ok' => false, 'why' => 'fork failed', 'output' => null];
            continue;
        }
        if ($pid === 0) {
            $runChild($file, $output);
        }
        $running[$pid] = [$file, $output, microtime(true)];
    }

    $pid = pcntl_wait($status);
    if ($pid <= 0 || ! isset($running[$pid])) {
        continue;
    }
    [$file, $output, $at] = $running[$pid];
    unset($running[$pid]);

    if (pcntl_wifexited($status)) {
        $code = pcntl_wexitstatus($status);
        $ok = $code === 0;
        $why = $ok ? 'passed' : ($code === 255 ? 'failed (a fatal error, exit 255)' : "failed (exit {$code})");
        if ($ok && is_file($output.'.failed')) {
            // exit(0) in a test ended the child: what failed before it still fails the file.
            $ok = false;
            $why = 'failed (tests failed before an exit(0))';
        }
    } else {
        $ok = false;
        $signal = pcntl_wifsignaled($status) ? pcntl_wtermsig($status) : 0;
        $why = "failed (killed by signal {$signal})";
    }

    $relative = str_starts_with($file, $app.'/') ? substr($file, strlen($app) + 1) : $file;
    $results[$file] = ['ok' => $ok, 'why' => $why, 'output' => $output];
    printf("%s %s (%.2f s)%s\n", $ok ? 'PASS' : 'FAIL', $relative, microtime(true) - $at, $ok ? '' : ': '.$why);

    if (! $ok && is_file($output)) {
        echo preg_replace('/^/m', '    ', rtrim((string) file_get_contents($output)))."\n";
    }
}

foreach (glob($outputDir.'/*') ?: [] as $file) {
    unlink($file);
}
rmdir($outputDir);

$passed = count(array_filter($results, fn ($r) => $r['ok']));
$failed = count($results) - $passed;
printf("booted once in %.2f s, %d in parallel, %.2f s in all\n", $bootSeconds, $parallel, microtime(true) - $started);
printf("%d file(s): %d passed, %d failed\n", count($results), $passed, $failed);
exit($failed > 0 ? 1 : 0);
