<?php

namespace Askr\Octane\Tests\Unit\Commands;

use Askr\Octane\AskrServiceProvider;
use Askr\Octane\Commands;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Config\Repository;
use Illuminate\Console\OutputStyle;
use Illuminate\Foundation\Application;
use Laravel\Octane\Commands as Octane;
use PHPUnit\Framework\TestCase;
use ReflectionMethod;
use Symfony\Component\Console\Input\ArrayInput;
use Symfony\Component\Console\Output\BufferedOutput;

class AskrCommandsTest extends TestCase
{
    use RequiresOctane;

    private Application $app;

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->app = new Application(sys_get_temp_dir());
        $this->app->instance('config', new Repository(['octane' => ['server' => 'askr']]));
        $this->app->register(AskrServiceProvider::class);
    }

    public function test_octanes_commands_resolve_to_the_askr_aware_subclasses(): void
    {
        $this->assertInstanceOf(Commands\StartCommand::class, $this->app->make(Octane\StartCommand::class));
        $this->assertInstanceOf(Commands\StatusCommand::class, $this->app->make(Octane\StatusCommand::class));
        $this->assertInstanceOf(Commands\ReloadCommand::class, $this->app->make(Octane\ReloadCommand::class));
        $this->assertInstanceOf(Commands\StopCommand::class, $this->app->make(Octane\StopCommand::class));
    }

    public function test_octane_start_keeps_octanes_options_and_adds_askrs(): void
    {
        $definition = $this->app->make(Octane\StartCommand::class)->getDefinition();

        foreach (['server', 'host', 'port', 'workers', 'task-workers', 'max-requests', 'watch', 'poll', 'rr-config', 'admin-port', 'log-level', 'resp-port'] as $option) {
            $this->assertTrue($definition->hasOption($option), "octane:start lacks --{$option}");
        }

        $this->assertSame('octane:start', $this->app->make(Octane\StartCommand::class)->getName());
    }

    public function test_a_request_line_from_askr_is_rendered_as_octanes_request_log(): void
    {
        $output = $this->render('{"type":"request","method":"GET","url":"http://127.0.0.1:8000/users/1?x=1","statusCode":200,"duration":3.2,"memory":2097152,"worker":1234,"time":"2026-11-20T12:00:01.123Z"}');

        $this->assertMatchesRegularExpression('/200\s+GET \/users\/1 \.+ 2\.00 mb 3\.20 ms/', $output);
    }

    public function test_an_error_log_line_from_askr_is_rendered_as_an_error(): void
    {
        $output = $this->render('{"type":"log","level":"error","message":"PHP Fatal error: Allowed memory size exhausted","worker":1234,"time":"x"}');

        $this->assertStringContainsString('ERROR', $output);
        $this->assertStringContainsString('PHP Fatal error: Allowed memory size exhausted', $output);
    }

    public function test_a_worker_throwable_wrapped_in_a_log_line_is_rendered_as_octane_renders_it(): void
    {
        $throwable = json_encode(['type' => 'throwable', 'class' => 'RuntimeException', 'code' => 0, 'file' => '/srv/app/routes/web.php', 'line' => 12, 'message' => 'boom', 'trace' => []]);

        $output = $this->render(json_encode(['type' => 'log', 'level' => 'error', 'message' => $throwable, 'worker' => 1]));

        $this->assertStringContainsString('RuntimeException', $output);
        $this->assertStringContainsString('boom', $output);
        $this->assertStringContainsString('/srv/app/routes/web.php:12', $output);
    }

    public function test_a_plain_line_is_shown_as_it_is(): void
    {
        $this->assertStringContainsString('askr 0.1 listening', $this->render('askr 0.1 listening'));
    }

    public function test_the_start_command_writes_the_tables_file_from_octanes_config(): void
    {
        $path = sys_get_temp_dir().'/askr-commands-test-'.getmypid().'.json';
        $this->app['config']->set('octane.askr.tables_file', $path);
        $this->app['config']->set('octane.tables', ['visits:100' => ['page' => 'string:50', 'count' => 'int']]);
        $this->app['config']->set('octane.cache', ['rows' => 10, 'bytes' => 500]);

        $this->assertSame($path, $this->writeTablesFile());
        $this->assertSame([
            'tables' => ['visits:100' => ['page' => 'string:50', 'count' => 'int']],
            'cache' => ['rows' => 10, 'bytes' => 500],
        ], json_decode(file_get_contents($path), true));

        unlink($path);
    }

    public function test_without_tables_or_cache_no_tables_file_is_written(): void
    {
        $this->app['config']->set('octane.tables', []);
        $this->app['config']->set('octane.cache', null);

        $this->assertNull($this->writeTablesFile());
    }

    private function writeTablesFile(): ?string
    {
        $command = new Commands\StartAskrCommand;
        $command->setLaravel($this->app);
        Application::setInstance($this->app);

        $method = new ReflectionMethod($command, 'writeTablesFile');
        $method->setAccessible(true);

        try {
            return $method->invoke($command);
        } finally {
            Application::setInstance(null);
        }
    }

    private function render(string $line): string
    {
        $command = new Commands\StartAskrCommand;
        $command->setLaravel($this->app);
        $command->setOutput(new OutputStyle(new ArrayInput([]), $buffer = new BufferedOutput));

        $method = new ReflectionMethod($command, 'writeServerLine');
        $method->setAccessible(true);
        $method->invoke($command, $line, false);

        return $buffer->fetch();
    }
}
