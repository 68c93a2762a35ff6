<?php

namespace Askr\Octane\Tests\Runtime;

use Askr\Octane\Tables\InvalidKeyException;
use Askr\Octane\Tables\RuntimeTable;
use Askr\Octane\Tables\Table;
use Askr\Octane\Tables\TableDeclarations;
use Laravel\Octane\Tables\SwooleTable;
use Laravel\Octane\Tables\TableFactory;
use LogicException;
use PHPUnit\Framework\TestCase;
use ReflectionMethod;

/**
 * How askr's tables stand in for Swoole\Table where only a real askr worker can tell: the
 * runtime's internal methods, the runtime's own figures (RESP INFO), a process with the
 * runtime's Swoole\Table (which extends Ephpm\Octane\Table). Runs in tests-php/Runtime/worker.php
 * with the tables OctaneTableTest and the octane cache declare, and ASKR_TEST_RESP_PORT set to
 * the server's RESP port.
 */
class SwooleTableInWorkerTest extends TestCase
{
    private function table(): Table
    {
        return RuntimeTableFixture::open(RuntimeTableFixture::TABLE_TEST, static fn () => null);
    }

    public function test_octanes_swoole_table_class_loads_and_refuses_to_create_a_table_at_run_time(): void
    {
        // Octane's SwooleTable.php reads SWOOLE_VERSION_ID; without Swoole nothing defines it (an
        // Error, Undefined constant). Code that defines Swoole's constants made loading the class a
        // fatal error before askr's Swoole\Table had Iterator's and Countable's methods.
        if (! defined('SWOOLE_VERSION_ID')) {
            define('SWOOLE_VERSION_ID', 50100);
        }

        $this->table(); // a worker with tables: askr's Swoole\Table is loaded

        $this->assertTrue(is_subclass_of(\Swoole\Table::class, \Ephpm\Octane\Table::class), 'the runtime\'s Swoole\Table');
        $this->assertTrue(class_exists(SwooleTable::class));
        $this->assertTrue(is_subclass_of(SwooleTable::class, \Swoole\Table::class));

        try {
            TableFactory::make(1000);
            $this->fail('a table was created at run time');
        } catch (LogicException $e) {
            $this->assertStringStartsWith('new Laravel\Octane\Tables\SwooleTable(1000): askr cannot create a table at run time.', $e->getMessage());
            $this->assertStringContainsString("Octane::table('name')", $e->getMessage());
        }
    }

    public function test_the_table_is_the_runtimes_and_its_row_operations_are_internal_methods(): void
    {
        $table = $this->table();

        $this->assertInstanceOf(RuntimeTable::class, $table);
        $this->assertInstanceOf(\Ephpm\Octane\Table::class, $table);

        foreach (['get', 'set', 'incr', 'decr', 'exists', 'exist', 'del', 'delete'] as $method) {
            $this->assertTrue((new ReflectionMethod($table, $method))->isInternal(), $method);
        }
    }

    public function test_count_and_iteration_are_swoole_tables_interfaces(): void
    {
        $table = $this->table();
        $table->set('a', ['string' => 'x', 'int' => 1]);
        $table->set('2', ['string' => 'y', 'int' => 2]);

        $this->assertSame(2, count($table));
        $rows = iterator_to_array($table);
        ksort($rows);
        $this->assertSame(['2' => ['string' => 'y', 'int' => 2], 'a' => ['string' => 'x', 'int' => 1]], $rows);
    }

    public function test_a_serialized_table_reopens_the_same_shared_table_by_name(): void
    {
        $table = $this->table();
        $table->set('a', ['string' => 'first', 'int' => 1]);

        $payload = serialize($table);
        $this->assertStringNotContainsString('handle', $payload, 'a handle is a number of this process');

        $copy = unserialize($payload);
        $this->assertInstanceOf(RuntimeTable::class, $copy);
        $this->assertSame(['string' => 'first', 'int' => 1], $copy->get('a'));

        $copy->set('b', ['string' => 'second', 'int' => 1]);
        $this->assertSame(2, $copy->incr('b', 'int'));
        $this->assertSame(['string' => 'second', 'int' => 2], $table->get('b'), 'a write through the copy is in the shared table');
        $this->assertSame(2, $copy->count());
        $this->assertSame(['a', 'b'], $this->sortedKeys($copy));
    }

    public function test_unserializing_a_table_the_server_does_not_declare_says_why(): void
    {
        $payload = str_replace('s:10:"table_test"', 's:10:"table_nope"', serialize($this->table()), $replaced);
        $this->assertSame(1, $replaced);

        try {
            unserialize($payload);
            $this->fail('an undeclared table was reopened');
        } catch (\RuntimeException $e) {
            $this->assertStringStartsWith('Table [table_nope] was unserialized but cannot be opened again here: Table [table_nope] is not declared', $e->getMessage());
        }
    }

    public function test_memory_size_is_what_the_runtime_reports_for_each_table(): void
    {
        if (! class_exists(\Redis::class)) {
            $this->markTestSkipped('ext-redis (php8.2-redis) is needed to read RESP INFO.');
        }

        $redis = new \Redis;
        $redis->connect('127.0.0.1', (int) getenv('ASKR_TEST_RESP_PORT'), 5);
        $info = (string) $redis->rawCommand('INFO', 'tables');
        $redis->close();

        foreach ([RuntimeTableFixture::TABLE_TEST, TableDeclarations::CACHE_TABLE] as $name) {
            $this->assertMatchesRegularExpression("/^table_{$name}:rows=\\d+,capacity=(\\d+),columns=\\d+,bytes=(\\d+)\\r?$/m", $info);
            preg_match("/^table_{$name}:rows=\\d+,capacity=(\\d+),columns=\\d+,bytes=(\\d+)/m", $info, $reported);
            $table = Table::open($name);

            $this->assertSame((int) $reported[2], $table->getMemorySize(), "{$name}: getMemorySize() against RESP INFO");
            $this->assertSame((int) $reported[2], $table->memorySize, "{$name}: \$memorySize");
            $this->assertSame((int) $reported[1], $table->size, "{$name}: \$size");
            $this->assertSame((int) $reported[1], $table->getSize(), "{$name}: getSize()");
        }
    }

    public function test_destroy_empties_the_shared_table_and_it_stays_usable(): void
    {
        $table = $this->table();

        for ($i = 0; $i < 300; $i++) {
            $table->set("k{$i}", ['int' => $i]);
        }

        $other = Table::open(RuntimeTableFixture::TABLE_TEST);
        $this->assertSame(300, $other->count());

        $this->assertTrue($table->destroy());
        $this->assertSame(0, $other->count(), 'the rows are gone for every table object');
        $this->assertTrue($table->set('again', ['int' => 1]));
        $this->assertSame(1, $other->get('again', 'int'));
    }

    public function test_the_empty_key_is_refused_by_the_internal_methods_with_its_own_message(): void
    {
        $table = $this->table();

        foreach ([
            'set' => fn () => $table->set('', ['int' => 1]),
            'get' => fn () => $table->get(''),
            'exists' => fn () => $table->exists(''),
            'del' => fn () => $table->del(''),
            'incr' => fn () => $table->incr('', 'int'),
        ] as $what => $call) {
            try {
                $call();
                $this->fail("{$what} accepted the empty key");
            } catch (InvalidKeyException $e) {
                $this->assertSame('The empty string is not a key of table [table_test]: keys are 1 to 63 bytes.', $e->getMessage(), $what);
            }
        }
    }

    public function test_get_with_an_empty_field_is_false_and_with_null_the_row(): void
    {
        $table = $this->table();
        $table->set('k', ['string' => 'x', 'int' => 3]);

        $this->assertFalse($table->get('k', ''));
        $this->assertSame(['string' => 'x', 'int' => 3], $table->get('k', null));
        $this->assertSame(['string' => 'x', 'int' => 3], $table->get('k'));
    }

    /** @return list<string> */
    private function sortedKeys(Table $table): array
    {
        $keys = [];

        foreach ($table as $key => $row) {
            $keys[] = $key;
        }

        sort($keys);

        return $keys;
    }
}
