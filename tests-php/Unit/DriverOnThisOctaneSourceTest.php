<?php

namespace Askr\Octane\Tests\Unit;

use Askr\Octane\Server\AskrClient;
use Askr\Octane\Server\ServerProcessInspector;
use Askr\Octane\Server\ServerStateFile;
use Askr\Octane\AskrOctane;
use Askr\Octane\AskrServiceProvider;
use Askr\Octane\Commands;
use Askr\Octane\Tables\Table;
use Askr\Octane\Tables\WorkerTables;
use Askr\Octane\Tasks\AskrTaskDispatcher;
use Askr\Octane\Tasks\TaskWorkerClient;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Config\Repository;
use Illuminate\Foundation\Application;
use Laravel\Octane\Commands as Octane;
use Laravel\Octane\Contracts;
use Laravel\Octane\Swoole\WorkerState;
use Laravel\Octane\Tables\Concerns\EnsuresColumnSizes;
use PHPUnit\Framework\TestCase;
use RecursiveDirectoryIterator;
use RecursiveIteratorIterator;
use ReflectionClass;
use ReflectionMethod;
use Symfony\Component\Console\Input\ArrayInput;
use Symfony\Component\Console\Output\BufferedOutput;

/**
 * The driver against the laravel/octane source this run loads (OCTANE_PATH: 1.5.6 or 2.x; see
 * docs/driver.md, "Octane 1.5 and 2.x"): every class loads (PHP checks each signature it
 * inherits or implements as it loads it), implements Octane's contracts, and the commands'
 * option signatures hold on both.
 */
class DriverOnThisOctaneSourceTest extends TestCase
{
    use RequiresOctane;

    protected function setUp(): void
    {
        $this->requireOctane();
    }

    /** Octane 2.2+ has FrankenPHP (and the options that came with it); 1.5 does not. */
    private static function isOctane2(): bool
    {
        return class_exists(\Laravel\Octane\FrankenPhp\ServerStateFile::class);
    }

    public function test_every_class_of_the_driver_loads_against_this_octane_source(): void
    {
        $src = dirname(__DIR__, 2).'/php/octane-driver/src';
        $loaded = [];

        foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator($src, RecursiveDirectoryIterator::SKIP_DOTS)) as $file) {
            $relative = substr($file->getPathname(), strlen($src) + 1);

            if ($file->getExtension() !== 'php' || ! preg_match('/^[A-Z]/', basename($relative))) {
                continue; // natives-outside-askr.php declares functions, not a class
            }

            $name = 'Askr\\Octane\\'.str_replace('/', '\\', substr($relative, 0, -4));
            $this->assertTrue(class_exists($name) || interface_exists($name) || trait_exists($name), "{$name} does not load");
            $loaded[] = $name;
        }

        $this->assertContains(Commands\StartAskrCommand::class, $loaded);
        $this->assertGreaterThan(30, count($loaded));
    }

    public function test_the_clients_inspector_and_task_dispatcher_implement_octanes_contracts(): void
    {
        $this->assertTrue(is_subclass_of(AskrClient::class, Contracts\Client::class));
        $this->assertTrue(is_subclass_of(AskrClient::class, Contracts\StoppableClient::class));
        $this->assertTrue(is_subclass_of(TaskWorkerClient::class, Contracts\Client::class));
        $this->assertTrue(is_subclass_of(ServerProcessInspector::class, Contracts\ServerProcessInspector::class));
        $this->assertTrue(is_subclass_of(AskrTaskDispatcher::class, Contracts\DispatchesTasks::class));
        $this->assertTrue(is_subclass_of(AskrOctane::class, \Laravel\Octane\Octane::class));
        $this->assertSame(\Swoole\Table::class, (string) (new ReflectionMethod(\Laravel\Octane\Octane::class, 'table'))->getReturnType());
        $this->assertTrue(is_subclass_of(Table::class, \Swoole\Table::class));
        $this->assertContains(EnsuresColumnSizes::class, (new ReflectionClass(Table::class))->getTraitNames());
    }

    public function test_the_state_file_has_the_shape_of_octanes_single_process_state_files(): void
    {
        // RoadRunner's (1.5 and 2.x) and FrankenPHP's (2.2+) state files: one master pid, the state.
        foreach (array_filter([\Laravel\Octane\RoadRunner\ServerStateFile::class, \Laravel\Octane\FrankenPhp\ServerStateFile::class], 'class_exists') as $octanes) {
            foreach ((new ReflectionClass($octanes))->getMethods(ReflectionMethod::IS_PUBLIC) as $method) {
                $this->assertTrue(method_exists(ServerStateFile::class, $method->getName()), "askr's state file lacks {$method->getName()}() of {$octanes}");
                $ours = new ReflectionMethod(ServerStateFile::class, $method->getName());
                $this->assertSame(
                    array_map(fn ($p) => [$p->getName(), (string) $p->getType()], $method->getParameters()),
                    array_map(fn ($p) => [$p->getName(), (string) $p->getType()], $ours->getParameters()),
                    "{$method->getName()}() takes what {$octanes}'s takes",
                );
                $this->assertSame((string) $method->getReturnType(), (string) $ours->getReturnType(), "{$method->getName()}() returns what {$octanes}'s returns");
            }
        }
    }

    public function test_octanes_worker_state_holds_what_the_askr_worker_passes(): void
    {
        $this->assertTrue(WorkerTables::loadWorkerState());

        foreach (['tables', 'cacheTable', 'workerPid'] as $property) {
            $this->assertTrue(property_exists(WorkerState::class, $property), "WorkerState::\${$property}");
        }
    }

    public function test_octane_start_declares_each_option_once_with_askrs_and_this_octanes(): void
    {
        $app = $this->app();
        $definition = $app->make(Octane\StartCommand::class)->getDefinition();
        $expected = ['server', 'host', 'port', 'workers', 'task-workers', 'max-requests', 'watch', 'poll', 'rr-config', 'admin-port', 'log-level', 'resp-port', 'https', 'http-redirect'];

        if (self::isOctane2()) {
            $expected[] = 'caddyfile'; // FrankenPHP's, from Octane 2.2
        }

        // Symfony refuses an option declared twice when the command is built: built, so each is there once.
        foreach ($expected as $option) {
            $this->assertTrue($definition->hasOption($option), "octane:start lacks --{$option}");
        }

        $this->assertSame("The port of the server's admin endpoint (askr, FrankenPHP)", $definition->getOption('admin-port')->getDescription());
        $this->assertNull($definition->getOption('admin-port')->getDefault());
        $this->assertSame('Serve HTTPS (HTTP/1.1 and HTTP/2) on the port (askr, FrankenPHP)', $definition->getOption('https')->getDescription());
        $this->assertSame(self::isOctane2() ? null : '127.0.0.1', $definition->getOption('host')->getDefault(), 'Octane 2.x leaves --host to config(\'octane.host\')');
    }

    public function test_http_redirect_without_https_is_refused_for_askr(): void
    {
        $app = $this->app();
        $command = $app->make(Octane\StartCommand::class);
        $command->setLaravel($app);

        $exitCode = $command->run(new ArrayInput(['--server' => 'askr', '--http-redirect' => true]), $output = new BufferedOutput);

        $this->assertSame(1, $exitCode);
        $this->assertStringContainsString('--http-redirect redirects plain HTTP to HTTPS: give --https as well.', $output->fetch());
    }

    public function test_status_reload_and_stop_keep_octanes_options(): void
    {
        $app = $this->app();

        foreach ([Octane\StatusCommand::class, Octane\ReloadCommand::class, Octane\StopCommand::class] as $class) {
            $ours = $app->make($class);
            $this->assertInstanceOf($class, $ours);
            $this->assertEquals((new ReflectionClass($class))->newInstance()->getDefinition()->getOptions(), $ours->getDefinition()->getOptions(), $class);
        }
    }

    private function app(): Application
    {
        $app = new Application(sys_get_temp_dir());
        $app->instance('config', new Repository(['octane' => ['server' => 'askr']]));
        $app->register(AskrServiceProvider::class);

        return $app;
    }
}
