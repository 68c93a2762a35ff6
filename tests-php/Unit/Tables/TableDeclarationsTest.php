<?php

namespace Askr\Octane\Tests\Unit\Tables;

use Askr\Octane\Tables\TableDeclarations;
use InvalidArgumentException;
use PHPUnit\Framework\TestCase;

class TableDeclarationsTest extends TestCase
{
    public function test_octanes_config_becomes_the_json_of_askr_serve_tables(): void
    {
        $declarations = TableDeclarations::fromConfig([
            'visits:1000' => ['page' => 'string:100', 'count' => 'int', 'last_seen' => 'float'],
        ], ['rows' => 500, 'bytes' => 2000]);

        $this->assertSame([
            'tables' => ['visits:1000' => ['page' => 'string:100', 'count' => 'int', 'last_seen' => 'float']],
            'cache' => ['rows' => 500, 'bytes' => 2000],
        ], json_decode($declarations->toJson(), true));
        $this->assertSame(['visits'], $declarations->tableNames());
        $this->assertTrue($declarations->hasCacheTable());
    }

    public function test_octanes_defaults_are_filled_in(): void
    {
        // As Octane's Swoole server: 1000 rows without ":rows", 1000 bytes for a bare string column.
        $declarations = TableDeclarations::fromConfig(['bare' => ['name' => 'string', 'n' => 'int:8']], ['rows' => null]);

        $this->assertSame([
            'tables' => ['bare:1000' => ['name' => 'string:1000', 'n' => 'int']],
            'cache' => ['rows' => 1000, 'bytes' => 10000],
        ], json_decode($declarations->toJson(), true));
    }

    public function test_no_tables_and_no_cache_declare_nothing(): void
    {
        $declarations = TableDeclarations::fromConfig([], []);

        $this->assertSame([], $declarations->tableNames());
        $this->assertFalse($declarations->hasCacheTable());
        $this->assertSame('{"tables":{}}', json_encode(json_decode($declarations->toJson())));
    }

    /**
     * @return array<string, array{0: array, 1: string}>
     */
    public static function invalidDeclarations(): array
    {
        return [
            'unknown type' => [['t:10' => ['c' => 'text']], "column [c] of table [t] has the type [text]; use 'int', 'float' or 'string:size'"],
            'zero rows' => [['t:0' => ['c' => 'int']], "[t:0] must be declared as 'name:rows'"],
            'rows not a number' => [['t:many' => ['c' => 'int']], "[t:many] must be declared as 'name:rows'"],
            'string size not a number' => [['t:10' => ['c' => 'string:big']], 'column [c] of table [t] must be a positive number'],
            'no columns' => [['t:10' => []], '[t:10] needs at least one column'],
            'the cache table name' => [['octane_cache:10' => ['c' => 'int']], 'is not a usable table name'],
        ];
    }

    /**
     * @dataProvider invalidDeclarations
     */
    public function test_a_declaration_askr_would_refuse_is_refused_at_start(array $tables, string $message): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage($message);

        TableDeclarations::fromConfig($tables, null);
    }

    public function test_the_file_is_what_askr_serve_reads(): void
    {
        $path = sys_get_temp_dir().'/askr-tables-test-'.getmypid().'/tables.json';
        $declarations = TableDeclarations::fromConfig(['a:5' => ['x' => 'int'], 'b:6' => ['y' => 'string:3']], ['rows' => 10, 'bytes' => 20]);

        try {
            $declarations->write($path);

            $this->assertSame(
                ['tables' => ['a:5' => ['x' => 'int'], 'b:6' => ['y' => 'string:3']], 'cache' => ['rows' => 10, 'bytes' => 20]],
                json_decode(file_get_contents($path), true),
            );
        } finally {
            @unlink($path);
            @rmdir(dirname($path));
        }
    }
}
