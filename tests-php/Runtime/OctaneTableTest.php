<?php

namespace Askr\Octane\Tests\Runtime;

use Laravel\Octane\Tests\TableTest;
use Swoole\Table;

/**
 * Octane's own tests/TableTest.php, unchanged, inside an askr worker: every test method and data
 * set is Octane's; only the table fixture is the runtime's table RuntimeTableFixture::TABLE_TEST (1000
 * rows, a string column of 10 bytes and an int column, as Octane's fixture declares it).
 *
 * Expected to fail: the three tests that require Octane's Swoole start-up scripts
 * (bin/createSwoole*Table.php), which create Octane's SwooleTable with TableFactory at run time.
 */
class OctaneTableTest extends TableTest
{
    protected function createSwooleTable()
    {
        return RuntimeTableFixture::open(RuntimeTableFixture::TABLE_TEST, static function ($table): void {
            // Octane's fixture, line for line: on askr these confirm the declared shape.
            $table->column('string', Table::TYPE_STRING, 10);
            $table->column('int', Table::TYPE_INT);

            $table->create();
        });
    }
}
