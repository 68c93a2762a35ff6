<?php

namespace Askr\Octane\Tests\Unit\Natives;

use Askr\Octane\Server\MaxRequests;
use Askr\Octane\Tables\Table;
use Askr\Octane\Tasks\TaskStatus;
use PHPUnit\Framework\TestCase;
use Swoole\Table as SwooleTable;

/**
 * native/shim/constants.json is the seam's one list of constants: C and C# are generated from it
 * at their builds (tests-dotnet's ShimContractTests checks the built shim against the runtime);
 * the driver keeps its own PHP definitions where it needs them, and they must agree with it.
 */
class SeamConstantsTest extends TestCase
{
    private const LIST = __DIR__.'/../../../native/shim/constants.json';

    /** @return array<string, int> "TABLE_LIMIT_KEY_BYTES" => 63 */
    public static function constants(): array
    {
        $constants = [];

        foreach (json_decode(file_get_contents(self::LIST), true, 16, JSON_THROW_ON_ERROR)['groups'] as $group) {
            foreach ($group['values'] as $name => $value) {
                $constants["{$group['prefix']}_{$name}"] = $value;
            }
        }

        return $constants;
    }

    public function test_the_key_limit_of_the_drivers_table_is_the_seams(): void
    {
        $this->assertSame(self::constants()['TABLE_LIMIT_KEY_BYTES'], Table::MAX_KEY_BYTES);
    }

    public function test_swoole_tables_column_types_are_the_seams_column_types(): void
    {
        $constants = self::constants();

        $this->assertTrue(class_exists(Table::class) && class_exists(SwooleTable::class, false), 'the driver\'s Swoole\Table stand-in loads with its table class');
        $this->assertSame($constants['COLUMN_INT'], SwooleTable::TYPE_INT);
        $this->assertSame($constants['COLUMN_FLOAT'], SwooleTable::TYPE_FLOAT);
        $this->assertSame($constants['COLUMN_STRING'], SwooleTable::TYPE_STRING);
    }

    public function test_the_drivers_task_statuses_are_the_seams_by_name_and_order(): void
    {
        $names = [];

        foreach (self::constants() as $name => $value) {
            if (preg_match('/^TASK_([A-Z]+)$/', $name, $m)) {
                $names[$value] = strtolower($m[1]);
            }
        }

        ksort($names);
        $this->assertSame(['ok', 'error', 'timeout', 'unavailable'], array_values($names));
        $this->assertSame(array_values($names), array_map(fn (TaskStatus $s) => $s->value, TaskStatus::cases()));
    }

    public function test_the_driver_spreads_max_requests_by_the_seams_rule(): void
    {
        $this->assertSame(self::constants()['RECYCLE_SPREAD_PERCENT'], MaxRequests::SPREAD_PERCENT);

        $limits = array_map(fn () => MaxRequests::forThisWorker(500), range(1, 400));
        $this->assertGreaterThanOrEqual(500, min($limits));
        $this->assertLessThanOrEqual(600, max($limits));
        $this->assertGreaterThan(1, count(array_unique($limits)), 'the limits differ between workers');
        $this->assertSame(0, MaxRequests::forThisWorker(0));
    }
}
