<?php

namespace Askr\Octane\Tests\Unit\Natives;

use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

class NativesOutsideAskrTest extends TestCase
{
    private const FILE = __DIR__.'/../../../php/octane-driver/src/natives-outside-askr.php';

    /**
     * A call of every native the stub declares, with a value of its type for each required
     * parameter: a native added to the stub is covered without a line here.
     *
     * @return array<string, array{0: string}>
     */
    public static function natives(): array
    {
        $samples = ['int' => '1', 'float' => '1.5', 'string' => '"k"', 'array' => '[]', 'bool' => 'false', 'callable' => 'fn () => null'];
        $calls = [];

        foreach (NativesStubTest::declaredBy(__DIR__.'/../../../php/octane-driver/stubs/natives.php')['functions'] as $name => $signature) {
            preg_match('/\\((.*)\\)/', $signature, $m);
            $arguments = [];

            foreach (array_filter(explode(', ', $m[1])) as $parameter) {
                if (! str_contains($parameter, ' = ')) {
                    // A union type (string|array) takes a sample of its first member.
                    $arguments[] = $samples[explode('|', ltrim(strtok($parameter, ' '), '?'))[0]] ?? 'null';
                }
            }

            $calls[$name] = [$name.'('.implode(', ', $arguments).')'];
        }

        return $calls;
    }

    /**
     * @dataProvider natives
     */
    public function test_calling_a_native_outside_askr_explains_where_it_is_available(string $call): void
    {
        $process = $this->php(sprintf('require %s; Ephpm\Octane\%s;', var_export(realpath(self::FILE), true), $call));

        $function = strstr($call, '(', true);

        $this->assertNotSame(0, $process->getExitCode());
        $this->assertStringContainsString(
            "Ephpm\\Octane\\{$function}() is only available inside the askr runtime (askr serve); this process runs under SAPI cli",
            $process->getOutput().$process->getErrorOutput()
        );
        $this->assertStringContainsString('RuntimeException', $process->getOutput().$process->getErrorOutput());
    }

    public function test_the_fallbacks_stay_out_of_the_way_of_natives_the_runtime_registered(): void
    {
        $process = $this->php(sprintf(
            'namespace Ephpm\Octane { function take_request(): ?array { return ["id" => 1]; } } '
            .'namespace { require %s; echo json_encode(Ephpm\Octane\take_request()); }',
            var_export(realpath(self::FILE), true)
        ));

        $this->assertSame(0, $process->getExitCode(), $process->getErrorOutput());
        $this->assertSame('{"id":1}', $process->getOutput());
    }

    private function php(string $code): Process
    {
        $process = new Process([(new PhpExecutableFinder)->find(), '-d', 'display_errors=stderr', '-r', $code]);
        $process->run();

        return $process;
    }
}
