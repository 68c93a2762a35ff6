<?php

namespace Askr\Octane\Tests\Unit;

use PHPUnit\Framework\TestCase;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

class NativesOutsideAskrTest extends TestCase
{
    private const FILE = __DIR__.'/../../php/octane-driver/src/natives-outside-askr.php';

    /**
     * @return array<string, array{0: string}>
     */
    public static function natives(): array
    {
        return [
            'take_request' => ['take_request()'],
            'send_response' => ['send_response(200, [])'],
            'send_chunk' => ['send_chunk("x")'],
            'finish_response' => ['finish_response()'],
            'send_file' => ['send_file(200, [], "/etc/hostname")'],
            'on_tick' => ['on_tick(1000, fn () => null)'],
            'table_open' => ['table_open("visits")'],
            'table_get' => ['table_get(1, "k")'],
            'table_set' => ['table_set(1, "k", [])'],
            'table_incr' => ['table_incr(1, "k", "n")'],
            'table_del' => ['table_del(1, "k")'],
            'table_exists' => ['table_exists(1, "k")'],
            'table_count' => ['table_count(1)'],
            'table_scan' => ['table_scan(1, 0, 10)'],
            'dispatch_tasks' => ['dispatch_tasks(["x"])'],
        ];
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
