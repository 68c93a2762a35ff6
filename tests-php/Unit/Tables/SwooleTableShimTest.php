<?php

namespace Askr\Octane\Tests\Unit\Tables;

use Askr\Octane\Tables\Table;
use Askr\Octane\Tests\Support\BareSwooleTable;
use Askr\Octane\Tests\Support\RequiresOctane;
use LogicException;
use PHPUnit\Framework\TestCase;
use ReflectionClass;

/**
 * askr's Swoole\Table (php/octane-driver/shims/Swoole/Table.php) for PHP without ext-swoole:
 * a class any subclass of Swoole\Table can extend, as with the extension. The same in a real
 * askr worker: tests-php/Runtime/SwooleTableInWorkerTest.php.
 */
class SwooleTableShimTest extends TestCase
{
    use RequiresOctane;

    protected function setUp(): void
    {
        $this->requireOctane();

        class_exists(Table::class); // loads the shim, as the askr worker does when it opens its tables
    }

    public function test_a_subclass_that_implements_none_of_swoole_tables_methods_can_be_declared(): void
    {
        $this->assertTrue(class_exists(BareSwooleTable::class));
        $this->assertTrue(defined(\Swoole\Table::class.'::ASKR_SHIM'), 'askr\'s Swoole\Table, not the extension\'s');

        $table = (new ReflectionClass(BareSwooleTable::class))->newInstanceWithoutConstructor();

        // Swoole's answers for a table that was never created.
        $this->assertSame(0, count($table));
        $this->assertSame(0, $table->getSize());
        $this->assertSame(0, $table->getMemorySize());
        $this->assertNull($table->size);
        $this->assertNull($table->memorySize);
        $this->assertFalse($table->valid());

        $this->expectException(LogicException::class);
        $this->expectExceptionMessage(BareSwooleTable::class.' is not a table of askr\'s store');

        foreach ($table as $row) {
            $this->fail('a table that was never created yielded a row');
        }
    }

    public function test_creating_a_table_at_run_time_is_refused_with_where_tables_are_declared(): void
    {
        try {
            new BareSwooleTable(1000);
            $this->fail('a table was created at run time');
        } catch (LogicException $e) {
            $this->assertSame(
                'new '.BareSwooleTable::class.'(1000): askr cannot create a table at run time. The askr runtime creates the '
                .'node\'s tables before any worker starts, from config/octane.php (\'tables\' => [\'name:rows\' => [\'column\' => '
                .'\'string:size|int|float\']], and \'cache\' for the octane cache store); use Octane::table(\'name\') to get one.',
                $e->getMessage(),
            );
        }
    }

    /**
     * @runInSeparateProcess
     * @preserveGlobalState disabled
     */
    public function test_octanes_swoole_table_class_loads_where_swooles_version_constant_is_defined(): void
    {
        // Without Swoole nothing defines SWOOLE_VERSION_ID and Octane's SwooleTable.php throws an
        // Error; with it defined, the class is declared against askr's Swoole\Table.
        define('SWOOLE_VERSION_ID', 50100);
        class_exists(Table::class);

        $this->assertTrue(class_exists(\Laravel\Octane\Tables\SwooleTable::class));

        $this->expectException(LogicException::class);
        $this->expectExceptionMessage('new Laravel\Octane\Tables\SwooleTable(1000): askr cannot create a table at run time.');

        \Laravel\Octane\Tables\TableFactory::make(1000);
    }
}
