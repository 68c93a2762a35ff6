<?php

namespace Askr\Octane\Tests\Support;

use Askr\Octane\Server\TableNatives;
use InvalidArgumentException;
use RuntimeException;
use ValueError;

/**
 * An in-process model of askr's table natives with their contract (stubs/natives.php and
 * docs/tables.md): key rules, typed columns, fixed capacity, and a slot-ordered scan whose
 * batches may be empty before the walk ends, as a hash table's can.
 */
final class FakeTableNatives implements TableNatives
{
    /** @var array<int, array{name: string, rows: int, columns: array<string, array{type: int, size: int}>}> handle => shape */
    private array $shapes = [];

    /** @var array<int, array<int, string|null>> handle => slot => key (null: free slot) */
    private array $slots = [];

    /** @var array<int, array<string, array<string, int|float|string>>> handle => key => row */
    private array $rows = [];

    /** @var list<array{0: string, 1: array}> */
    public array $calls = [];

    /**
     * @param  array<string, array{rows: int, columns: array<string, string>}>  $tables  name => rows and Octane-style columns ('string:10', 'int', 'float').
     */
    public function __construct(array $tables)
    {
        $handle = 0;

        foreach ($tables as $name => ['rows' => $rows, 'columns' => $columns]) {
            $handle++;
            $shape = ['name' => $name, 'rows' => $rows, 'columns' => []];

            foreach ($columns as $column => $type) {
                [$kind, $size] = array_pad(explode(':', $type), 2, null);
                $shape['columns'][$column] = match ($kind) {
                    'int' => ['type' => 1, 'size' => 8],
                    'float' => ['type' => 2, 'size' => 8],
                    'string' => ['type' => 3, 'size' => (int) $size],
                };
            }

            $this->shapes[$handle] = $shape;
            $this->slots[$handle] = array_fill(0, $rows, null);
            $this->rows[$handle] = [];
        }
    }

    /** The octane cache table as askr declares it from config('octane.cache'). */
    public static function withCacheTable(int $rows = 1000, int $bytes = 10000): self
    {
        return new self(['octane_cache' => ['rows' => $rows, 'columns' => ['value' => "string:{$bytes}", 'expiration' => 'int']]]);
    }

    public function tableNames(): array
    {
        $this->calls[] = ['tableNames', []];

        return array_values(array_map(fn (array $shape) => $shape['name'], $this->shapes));
    }

    public function tableOpen(string $name): array
    {
        $this->calls[] = ['tableOpen', [$name]];

        foreach ($this->shapes as $handle => $shape) {
            if ($shape['name'] === $name) {
                return ['handle' => $handle, 'rows' => $shape['rows'], 'columns' => $shape['columns']];
            }
        }

        throw new InvalidArgumentException("Table [{$name}] is not declared (config/octane.php 'tables')");
    }

    public function tableGet(int $handle, string $key, ?string $column = null): array|int|float|string|false
    {
        $this->calls[] = ['tableGet', [$key, $column]];
        $this->checkKey('table_get', $key);
        $row = $this->rows[$handle][$key] ?? null;

        if ($row === null) {
            return false;
        }

        return $column === null ? $row : ($row[$column] ?? false);
    }

    public function tableSet(int $handle, string $key, array $row): bool
    {
        $this->calls[] = ['tableSet', [$key, $row]];
        $this->checkKey('table_set', $key);
        $shape = $this->shapes[$handle];
        $converted = [];

        foreach ($row as $column => $value) {
            if (! isset($shape['columns'][$column])) {
                continue;
            }

            ['type' => $type, 'size' => $size] = $shape['columns'][$column];
            $converted[$column] = match ($type) {
                1 => (int) $value,
                2 => (float) $value,
                3 => (string) $value,
            };

            if ($type === 3 && strlen($converted[$column]) > $size) {
                throw new ValueError(sprintf('Value for column [%s] of table [%s] is %d bytes, more than its size of %d', $column, $shape['name'], strlen($converted[$column]), $size));
            }
        }

        $this->rows[$handle][$key] = array_replace($this->existingOrNewRow($handle, $key), $converted);

        return true;
    }

    public function tableIncr(int $handle, string $key, string $column, int|float $by = 1): int|float
    {
        $this->calls[] = ['tableIncr', [$key, $column, $by]];
        $this->checkKey('table_incr', $key);
        $shape = $this->shapes[$handle];

        if (! isset($shape['columns'][$column])) {
            throw new ValueError("Ephpm\\Octane\\table_incr(): Argument #3 (\$column) must be a column of table [{$shape['name']}], [{$column}] is not");
        }

        $type = $shape['columns'][$column]['type'];

        if ($type === 3) {
            throw new ValueError("Ephpm\\Octane\\table_incr(): Argument #3 (\$column) must be an int or float column, [{$column}] of table [{$shape['name']}] is a string column");
        }

        $row = $this->existingOrNewRow($handle, $key);
        $row[$column] = $type === 1 ? $row[$column] + (int) $by : $row[$column] + (float) $by;
        $this->rows[$handle][$key] = $row;

        return $row[$column];
    }

    public function tableDel(int $handle, string $key): bool
    {
        $this->calls[] = ['tableDel', [$key]];
        $this->checkKey('table_del', $key);

        if (! isset($this->rows[$handle][$key])) {
            return false;
        }

        unset($this->rows[$handle][$key]);
        $this->slots[$handle][array_search($key, $this->slots[$handle], true)] = null;

        return true;
    }

    public function tableExists(int $handle, string $key): bool
    {
        $this->calls[] = ['tableExists', [$key]];
        $this->checkKey('table_exists', $key);

        return isset($this->rows[$handle][$key]);
    }

    public function tableCount(int $handle): int
    {
        $this->calls[] = ['tableCount', []];

        return count($this->rows[$handle]);
    }

    public function tableScan(int $handle, int $cursor, int $count): array
    {
        $this->calls[] = ['tableScan', [$cursor, $count]];
        $slots = $this->slots[$handle];
        $found = [];
        $slot = $cursor;

        for (; $slot < count($slots) && $slot < $cursor + $count; $slot++) {
            if ($slots[$slot] !== null) {
                $found[$slots[$slot]] = $this->rows[$handle][$slots[$slot]];
            }
        }

        return [$slot >= count($slots) ? 0 : $slot, $found];
    }

    /** How many calls of the native $name were made. */
    public function callsOf(string $name): int
    {
        return count(array_filter($this->calls, fn ($call) => $call[0] === $name));
    }

    private function existingOrNewRow(int $handle, string $key): array
    {
        if (isset($this->rows[$handle][$key])) {
            return $this->rows[$handle][$key];
        }

        $shape = $this->shapes[$handle];
        $free = array_search(null, $this->slots[$handle], true);

        if ($free === false) {
            throw new RuntimeException("Table [{$shape['name']}] is full: all {$shape['rows']} rows are in use. Declare more rows in config/octane.php ('{$shape['name']}:rows').");
        }

        $this->slots[$handle][$free] = $key;

        return array_map(fn ($column) => match ($column['type']) {
            1 => 0,
            2 => 0.0,
            3 => '',
        }, $shape['columns']);
    }

    private function checkKey(string $function, string $key): void
    {
        if ($key === '' || strlen($key) > 63) {
            throw new ValueError(sprintf('Ephpm\\Octane\\%s(): Argument #2 ($key) must be a key of 1 to 63 bytes, %d bytes given', $function, strlen($key)));
        }
    }
}
