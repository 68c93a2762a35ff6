<?php

namespace Askr\Octane\Tests\Runtime;

use Askr\Octane\Tables\TableDeclarations;
use Laravel\Octane\Tests\OctaneStoreTest as OctanesOctaneStoreTest;
use Swoole\Table;

/**
 * Octane's own tests/OctaneStoreTest.php, unchanged, inside an askr worker: every test is
 * Octane's, with Octane's OctaneStore; only the table fixture (Octane's TestCase::createSwooleTable())
 * is the runtime's octane cache table, declared from Octane's config/octane.php 'cache' as
 * octane:start --server=askr declares it.
 */
class OctaneStoreTest extends OctanesOctaneStoreTest
{
    protected function createSwooleTable()
    {
        $config = $this->config();

        return RuntimeTableFixture::open(TableDeclarations::CACHE_TABLE, static function ($table) use ($config): void {
            // Octane's TestCase::createSwooleTable(), line for line: on askr these confirm the declared shape.
            $table->column('value', Table::TYPE_STRING, $config['cache']['bytes'] ?? 10000);
            $table->column('expiration', Table::TYPE_INT);

            $table->create();
        });
    }
}
