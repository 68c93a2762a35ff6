<?php

namespace Askr\Octane\Tests\Unit\Background;

use Askr\Octane\Background\BackgroundWorkerDeclarations;
use Askr\Octane\Server\ServeCommandLine;
use InvalidArgumentException;
use PHPUnit\Framework\TestCase;

class BackgroundWorkerDeclarationsTest extends TestCase
{
    private const SCRIPT = '/srv/app/vendor/askr/octane-driver/bin/askr-background.php';

    public function test_commands_run_the_drivers_script_and_scripts_and_options_map_onto_askr_serve(): void
    {
        $this->assertSame([
            'flags=/srv/app/vendor/askr/octane-driver/bin/askr-background.php',
            'raw=/srv/app/workers/raw.php',
            'sentinel=/srv/app/vendor/askr/octane-driver/bin/askr-background.php:num=2:lazy',
            'leader=/srv/app/vendor/askr/octane-driver/bin/askr-background.php:scope=cluster',
        ], BackgroundWorkerDeclarations::arguments([
            'flags' => 'flags:watch',
            'raw' => '/srv/app/workers/raw.php',
            'sentinel' => ['command' => 'sentinel:watch --master=mymaster', 'num' => 2, 'lazy' => true],
            'leader' => ['command' => 'leader:watch', 'scope' => 'cluster'],
        ], self::SCRIPT));
        $this->assertSame([], BackgroundWorkerDeclarations::arguments(null, self::SCRIPT));
    }

    public function test_the_command_of_a_name_is_what_the_background_script_calls(): void
    {
        $config = ['flags' => 'flags:watch', 'raw' => '/srv/raw.php', 'sentinel' => ['command' => 'sentinel:watch']];
        $this->assertSame('flags:watch', BackgroundWorkerDeclarations::command($config, 'flags'));
        $this->assertSame('sentinel:watch', BackgroundWorkerDeclarations::command($config, 'sentinel'));
        $this->assertNull(BackgroundWorkerDeclarations::command($config, 'raw'));
        $this->assertNull(BackgroundWorkerDeclarations::command($config, 'unknown'));
    }

    /** @return array<string, array{0: array, 1: string}> */
    public static function badEntries(): array
    {
        return [
            'no command or script' => [['x' => ['num' => 2]], "octane.askr.background_workers.x must be an Artisan command, a .php script, or an array with 'command' or 'script'."],
            'pool too large' => [['x' => ['command' => 'x:run', 'num' => 65]], 'octane.askr.background_workers.x.num must be 1..64, [65] given.'],
            'name with =' => [['a=b' => 'x:run'], "octane.askr.background_workers: [a=b] is not a background worker name (a non-empty string without '=')."],
            'unknown scope' => [['x' => ['command' => 'x:run', 'scope' => 'galaxy']], "octane.askr.background_workers.x.scope must be 'node' or 'cluster', [galaxy] given."],
            'lazy cluster worker' => [['x' => ['command' => 'x:run', 'scope' => 'cluster', 'lazy' => true]], "octane.askr.background_workers.x: a 'cluster' scope worker cannot be lazy (the node the cluster places it on starts it)."],
            'script with :' => [['x' => ['script' => '/srv/a:b.php']], "octane.askr.background_workers.x: the script path [/srv/a:b.php] may not contain ':'."],
        ];
    }

    /**
     * @dataProvider badEntries
     */
    public function test_an_entry_askr_would_refuse_is_refused_with_its_name(array $config, string $message): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage($message);
        BackgroundWorkerDeclarations::arguments($config, self::SCRIPT);
    }

    public function test_each_declaration_becomes_a_background_worker_option(): void
    {
        $arguments = ServeCommandLine::arguments([
            'binary' => '/opt/askr/askr', 'root' => '/srv/app/public', 'workerScript' => '/srv/w.php',
            'host' => '127.0.0.1', 'port' => 8000, 'adminPort' => 9000,
            'backgroundWorkers' => ['flags=/srv/b.php', 'raw=/srv/raw.php:lazy'],
        ]);
        $this->assertSame(['--background-worker', 'flags=/srv/b.php', '--background-worker', 'raw=/srv/raw.php:lazy'], array_slice($arguments, -4));
    }
}
