<?php

namespace Askr\Octane\Tables;

use Askr\Octane\Askr\RuntimeNatives;

/**
 * The table as askr workers get it (what Octane::table() returns): get, set, incr, decr,
 * exists, exist, del and delete are the internal methods of the runtime's Ephpm\Octane\Table,
 * inherited through Swoole\Table, so a call runs C straight away instead of a PHP method around
 * a native call (about 50 ns per operation; bench/tables). Their errors go through clearer()
 * and setFailure() of Table, as NativesTable's do: the same exceptions, the same messages.
 *
 * This class needs Ephpm\Octane\Table, which only exists inside `askr serve`: Table::open()
 * makes one only there, and a NativesTable over the runtime's natives otherwise.
 */
final class RuntimeTable extends Table
{
    /**
     * @param  array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}  $opened  What table_open() returned.
     */
    public function __construct(string $name, array $opened, int $scanBatch = 256)
    {
        parent::__construct(new RuntimeNatives, $name, $opened, $scanBatch);

        $this->bindHandle($this->handle);
    }

    /**
     * unserialize(): opens the table of the serialized name in this process (Table::__serialize()).
     *
     * @param  array{name: string, scanBatch?: int}  $data
     *
     * @throws \UnexpectedValueException|\RuntimeException see Table::reopen().
     */
    public function __unserialize(array $data): void
    {
        [, $opened, $scanBatch] = static::reopen($data);

        $this->__construct($data['name'], $opened, $scanBatch);
    }
}
