<?php

namespace Askr\Octane\Tests\Runtime;

use Askr\Octane\Tables\RuntimeTable;
use Askr\Octane\Tables\Table;
use LogicException;

/**
 * The table fixture of Octane's own tests when they run inside an askr worker: where Octane's
 * createSwooleTable() makes a new Swoole\Table with TableFactory (which askr cannot do at run
 * time), this opens the runtime's table of the same shape, declared by the test that started
 * the server, empties it, and lets Octane's own column()/create() calls confirm the shape.
 */
final class RuntimeTableFixture
{
    /** The table of Octane's TableTest fixture: declare it as TABLE_TEST.':1000' => TABLE_TEST_COLUMNS. */
    public const TABLE_TEST = 'table_test';

    /** @var array<string, string> */
    public const TABLE_TEST_COLUMNS = ['string' => 'string:10', 'int' => 'int'];

    /**
     * The tables JSON of `askr serve --tables` (docs/tables.md) for these tests: TableTest's
     * table, and the octane cache table as Octane's config/octane.php declares it.
     *
     * @param  array{rows?: int, bytes?: int}  $cache  config('octane.cache') of Octane's config/octane.php.
     */
    public static function declarations(array $cache): array
    {
        return [
            'tables' => [self::TABLE_TEST.':1000' => self::TABLE_TEST_COLUMNS],
            'cache' => ['rows' => $cache['rows'] ?? 1000, 'bytes' => $cache['bytes'] ?? 10000],
        ];
    }

    /**
     * @param  callable(Table): void  $declare  The column() and create() calls of Octane's fixture.
     *
     * @throws LogicException when the table is not a runtime table, cannot be emptied, or was declared with another shape.
     */
    public static function open(string $name, callable $declare): Table
    {
        $table = Table::open($name);

        if (! $table instanceof RuntimeTable) {
            throw new LogicException("Table [{$name}] is a ".$table::class.', not the runtime\'s table: this fixture runs inside askr serve only.');
        }

        $table->destroy();

        if ($table->count() !== 0) {
            throw new LogicException("Table [{$name}] still has {$table->count()} rows after destroy().");
        }

        $declare($table);

        return $table;
    }
}
