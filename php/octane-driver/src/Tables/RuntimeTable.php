<?php

namespace Askr\Octane\Tables;

use Askr\Octane\Askr\RuntimeNatives;
use ValueError;

use function Ephpm\Octane\table_del;
use function Ephpm\Octane\table_exists;
use function Ephpm\Octane\table_get;
use function Ephpm\Octane\table_incr;
use function Ephpm\Octane\table_set;

/**
 * The table as askr workers get it: Table with the natives called directly on the hot paths
 * (get, set, incr, decr, exists, del) instead of through the TableNatives object, which
 * saves one PHP call per operation (about a third of a get; bench/tables). Behaviour is
 * Table's, line for line; Table itself is what the unit tests drive with a fake of the natives.
 */
final class RuntimeTable extends Table
{
    /**
     * @param  array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}  $opened
     */
    public function __construct(string $name, array $opened, int $scanBatch = 256)
    {
        parent::__construct(new RuntimeNatives, $name, $opened, $scanBatch);
    }

    public function set(string $key, array $value): bool
    {
        try {
            return table_set($this->handle, $key, $value);
        } catch (ValueError $e) {
            throw $this->setFailure($e, $key, $value);
        }
    }

    public function get(string $key, ?string $field = null): array|false|string|float|int
    {
        try {
            return table_get($this->handle, $key, $field);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    public function exists(string $key): bool
    {
        try {
            return table_exists($this->handle, $key);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    public function del(string $key): bool
    {
        try {
            return table_del($this->handle, $key);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    public function incr(string $key, string $column, int|float $incrby = 1): int|float
    {
        try {
            return table_incr($this->handle, $key, $column, $incrby);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    public function decr(string $key, string $column, int|float $incrby = 1): int|float
    {
        try {
            return table_incr($this->handle, $key, $column, -$incrby);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }
}
