<?php

namespace Askr\Octane\Tests\Unit\Natives;

use Askr\Octane\Tests\Support\NativeSignatures;
use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

/**
 * php/octane-driver/stubs/natives.php is the one declaration of the natives (docs/natives.md,
 * "One source"): the shim's arginfo is generated from it at the build (tests-dotnet's NativesTests
 * checks what the runtime registers), and the other places that name the natives are checked
 * against it here: the outside-askr fallbacks and the function list of docs/natives.md.
 */
class NativesStubTest extends TestCase
{
    private const REPOSITORY = __DIR__.'/../../..';

    private const STUB = self::REPOSITORY.'/php/octane-driver/stubs/natives.php';

    private const FALLBACKS = self::REPOSITORY.'/php/octane-driver/src/natives-outside-askr.php';

    private const DOCS = self::REPOSITORY.'/docs/natives.md';

    /**
     * The signatures a file declares, read in a process of its own (the stub and the fallbacks
     * declare the same functions).
     *
     * @return array{functions: array<string, string>, classes: array<string, array<string, string>>}
     */
    public static function declaredBy(string $file): array
    {
        $process = new Process([(new PhpExecutableFinder)->find(), realpath(__DIR__.'/../../Support/NativeSignatures.php'), realpath($file)]);
        $process->mustRun();

        return json_decode($process->getOutput(), true, 16, JSON_THROW_ON_ERROR);
    }

    public function test_the_fallbacks_declare_every_native_of_the_stub_with_its_signature(): void
    {
        $stub = self::declaredBy(self::STUB)['functions'];
        $fallbacks = self::declaredBy(self::FALLBACKS)['functions'];

        $this->assertGreaterThanOrEqual(15, count($stub));
        $this->assertSame($stub, $fallbacks, 'src/natives-outside-askr.php must declare what stubs/natives.php declares');
    }

    public function test_docs_natives_md_lists_every_function_and_table_method_of_the_stub(): void
    {
        $stub = self::declaredBy(self::STUB);
        [$functions, $methods] = self::documented(file_get_contents(self::DOCS));

        $this->assertSame(array_keys($stub['functions']), $functions, 'the table under "## Functions" of docs/natives.md');
        $expected = array_values(array_diff(array_keys($stub['classes']['Table']), ['']));
        sort($methods);
        $this->assertSame($expected, $methods, 'the table under "### `Ephpm\Octane\Table`" of docs/natives.md');
    }

    public function test_a_function_missing_from_the_docs_is_noticed(): void
    {
        $docs = preg_replace('/^\| `table_count\(.*\n/m', '', file_get_contents(self::DOCS));

        [$functions] = self::documented($docs);

        $this->assertNotContains('table_count', $functions);
        $this->assertContains('table_scan', $functions);
    }

    /**
     * The names in the first column of the function table and of the Table class's table.
     *
     * @return array{0: list<string>, 1: list<string>} functions (sorted), methods
     */
    private static function documented(string $markdown): array
    {
        $section = fn (string $heading) => preg_match('/^'.preg_quote($heading, '/').'\n(.*?)(?=^#{2,3} )/ms', $markdown, $m) ? $m[1] : '';
        $names = function (string $text): array {
            preg_match_all('/^\|([^|]*(?:\\\\\|[^|]*)*)\|/m', $text, $cells);
            $names = [];
            foreach ($cells[1] as $cell) {
                preg_match_all('/`(?:(?:public|protected|final|static) )*(\w+)\(/', $cell, $m);
                array_push($names, ...$m[1]);
            }

            return $names;
        };

        $functions = $names($section('## Functions'));
        sort($functions);

        return [$functions, $names($section('### `Ephpm\Octane\Table`'))];
    }
}
