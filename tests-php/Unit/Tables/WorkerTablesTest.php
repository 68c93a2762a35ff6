<?php

namespace Askr\Octane\Tests\Unit\Tables;

use Askr\Octane\AskrOctane;
use Askr\Octane\Tables\Table;
use Askr\Octane\Tables\WorkerTables;
use Askr\Octane\Tests\Support\FakeTableNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use Exception;
use Illuminate\Container\Container;
use Laravel\Octane\Octane;
use Laravel\Octane\Swoole\WorkerState;
use PHPUnit\Framework\TestCase;

/**
 * What the askr worker gives Worker::boot(), and Octane::table() inside an askr worker.
 */
class WorkerTablesTest extends TestCase
{
    use RequiresOctane;

    private FakeTableNatives $natives;

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->natives = new FakeTableNatives([
            'visits' => ['rows' => 10, 'columns' => ['count' => 'int']],
            'octane_cache' => ['rows' => 10, 'columns' => ['value' => 'string:100', 'expiration' => 'int']],
        ]);
    }

    protected function tearDown(): void
    {
        Container::setInstance(null);
    }

    /** The runtime's store as the fake models it: 'visits', and the cache table unless $cache is false. */
    private function runtime(bool $cache = true): FakeTableNatives
    {
        return $cache ? $this->natives : new FakeTableNatives(['visits' => ['rows' => 10, 'columns' => ['count' => 'int']]]);
    }

    public function test_every_declared_table_and_the_cache_table_are_opened(): void
    {
        $tables = WorkerTables::fromRuntime($this->runtime());

        $this->assertSame(['visits'], array_keys($tables->tables));
        $this->assertInstanceOf(Table::class, $tables->tables['visits']);
        $this->assertSame('octane_cache', $tables->cacheTable->name());
    }

    public function test_the_initial_instances_are_where_octane_looks_for_tables(): void
    {
        $tables = WorkerTables::fromRuntime($this->runtime());
        $instances = $tables->initialInstances();

        $this->assertInstanceOf(AskrOctane::class, $instances[Octane::class]);
        $this->assertInstanceOf(WorkerState::class, $instances[WorkerState::class]);
        $this->assertSame($tables->tables, $instances[WorkerState::class]->tables);
        $this->assertSame($tables->cacheTable, $instances[WorkerState::class]->cacheTable);
        $this->assertSame($tables->cacheTable, $instances['octane.cacheTable']);
        $this->assertArrayNotHasKey('Swoole\Http\Server', $instances, 'askr does not pretend to be a Swoole server');
    }

    public function test_without_a_cache_table_octane_keeps_its_array_store(): void
    {
        $instances = WorkerTables::fromRuntime($this->runtime(cache: false))->initialInstances();

        $this->assertArrayNotHasKey('octane.cacheTable', $instances);
    }

    public function test_a_server_without_tables_opens_nothing(): void
    {
        $natives = new FakeTableNatives([]);
        $tables = WorkerTables::fromRuntime($natives);

        $this->assertSame([], $tables->tables);
        $this->assertNull($tables->cacheTable);
        $this->assertSame([['tableNames', []]], $natives->calls);
    }

    public function test_the_tables_are_the_ones_the_runtime_holds_not_a_file(): void
    {
        $natives = new FakeTableNatives([
            'a' => ['rows' => 5, 'columns' => ['x' => 'int']],
            'b' => ['rows' => 6, 'columns' => ['y' => 'string:3']],
        ]);

        $tables = WorkerTables::fromRuntime($natives);

        $this->assertSame(['a', 'b'], array_keys($tables->tables));
        $this->assertNull($tables->cacheTable, 'no octane_cache in the store: Octane keeps its array store');
        $this->assertSame([['tableNames', []], ['tableOpen', ['a']], ['tableOpen', ['b']]], $natives->calls);
    }

    public function test_the_octane_singleton_built_from_the_initial_instances_serves_askrs_tables(): void
    {
        $tables = WorkerTables::fromRuntime($this->runtime());
        $container = $this->containerWith($tables->initialInstances());

        // As OctaneServiceProvider registers it.
        $container->singleton('octane', Octane::class);

        $octane = $container->make('octane');

        $this->assertInstanceOf(AskrOctane::class, $octane);
        $this->assertSame($tables->tables['visits'], $octane->table('visits'));
        $this->assertSame(1, $octane->table('visits')->incr('home', 'count'));
    }

    public function test_an_undeclared_table_names_the_declared_ones(): void
    {
        $this->containerWith(WorkerTables::fromRuntime($this->runtime())->initialInstances());

        $this->expectException(Exception::class);
        $this->expectExceptionMessage("Table [nope] has not been configured in config/octane.php 'tables' (declared: visits).");

        (new AskrOctane)->table('nope');
    }

    public function test_without_tables_the_error_says_how_to_declare_one(): void
    {
        $this->containerWith((new WorkerTables)->initialInstances());

        $this->expectException(Exception::class);
        $this->expectExceptionMessage("askr opens the tables of config/octane.php 'tables' when the server starts");

        (new AskrOctane)->table('visits');
    }

    private function containerWith(array $instances): Container
    {
        $container = new Container;

        foreach ($instances as $abstract => $instance) {
            $container->instance($abstract, $instance);
        }

        Container::setInstance($container);

        return $container;
    }
}
