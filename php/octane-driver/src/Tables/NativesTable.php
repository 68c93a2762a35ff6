<?php

namespace Askr\Octane\Tables;

use ValueError;

/**
 * A Table whose row operations are PHP methods over its TableNatives object: what Table::open()
 * gives for natives other than the runtime's (the unit tests' fake of them), and inside a
 * runtime without Ephpm\Octane\Table. RuntimeTable has the same operations as the runtime's
 * internal methods; both pass the natives' ValueErrors through clearer() and setFailure(), so
 * they answer and throw alike.
 */
class NativesTable extends Table
{
    /**
     * unserialize(): opens the table of the serialized name again, over the serialized natives
     * (the runtime's when none were kept; Table::__serialize()).
     *
     * @param  array{name: string, scanBatch?: int, natives?: \Askr\Octane\Askr\TableNatives}  $data
     *
     * @throws \UnexpectedValueException|\RuntimeException see Table::reopen().
     */
    public function __unserialize(array $data): void
    {
        [$natives, $opened, $scanBatch] = static::reopen($data);

        $this->__construct($natives, $data['name'], $opened, $scanBatch);
    }

    /**
     * Writes the given columns of the row $key, creating it if needed (its other columns start
     * at 0 or ''). Columns the table does not declare are ignored; a string longer than its
     * column throws Octane's ValueTooLargeForColumnException, as Octane's SwooleTable does
     * (see setFailure()).
     *
     * @throws \Laravel\Octane\Exceptions\ValueTooLargeForColumnException
     * @throws \RuntimeException when the row is new and the table is full.
     */
    public function set(string $key, array $value): bool
    {
        try {
            return $this->natives->tableSet($this->handle, $key, $value);
        } catch (ValueError $e) {
            throw $this->setFailure($e, $key, $value);
        }
    }

    /**
     * The row $key (every column), one column of it, or false when the key or the column does not exist.
     */
    public function get(string $key, ?string $field = null): array|false|string|float|int
    {
        try {
            return $this->natives->tableGet($this->handle, $key, $field);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    public function exists(string $key): bool
    {
        try {
            return $this->natives->tableExists($this->handle, $key);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    /** Alias of exists(), as Swoole\Table has it. */
    public function exist(string $key): bool
    {
        return $this->exists($key);
    }

    /**
     * Deletes the row $key; false when it did not exist.
     */
    public function del(string $key): bool
    {
        try {
            return $this->natives->tableDel($this->handle, $key);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    /** Alias of del(), as Swoole\Table has it. */
    public function delete(string $key): bool
    {
        return $this->del($key);
    }

    /**
     * Adds $incrby to the int or float column $column of the row $key, atomically across every
     * worker of the node, creating the row if needed. Returns the new value.
     *
     * @throws \ValueError when $column is not an int or float column of the table.
     * @throws \RuntimeException when the row is new and the table is full.
     */
    public function incr(string $key, string $column, int|float $incrby = 1): int|float
    {
        try {
            return $this->natives->tableIncr($this->handle, $key, $column, $incrby);
        } catch (ValueError $e) {
            throw $this->clearer($e, $key);
        }
    }

    /**
     * Subtracts $incrby from the int or float column $column of the row $key (see incr()).
     */
    public function decr(string $key, string $column, int|float $incrby = 1): int|float
    {
        return $this->incr($key, $column, -$incrby);
    }
}
