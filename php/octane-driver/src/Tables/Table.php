<?php

namespace Askr\Octane\Tables;

use Askr\Octane\Askr\RuntimeNatives;
use Askr\Octane\Askr\TableNatives;
use Laravel\Octane\Tables\Concerns\EnsuresColumnSizes;
use LogicException;
use RuntimeException;
use Throwable;
use UnexpectedValueException;
use ValueError;

// Octane::table() returns Swoole\Table: without ext-swoole, askr declares that name (an abstract base).
if (! class_exists(\Swoole\Table::class, false)) {
    require __DIR__.'/../../shims/Swoole/Table.php';
}

if (! defined(\Swoole\Table::class.'::ASKR_SHIM')) {
    throw new LogicException(
        'askr tables need a PHP without ext-swoole / ext-openswoole: the extension\'s Swoole\Table is final, so no '
        .'other class can be the Swoole\Table that Octane::table() returns. Serve this application with Octane\'s '
        .'swoole server, or build the PHP that askr embeds without the extension.'
    );
}

/**
 * A table of the askr node's shared store, with Swoole\Table's API (what Octane's
 * `Octane::table()` and `OctaneStore` use, and what applications call): every worker of the
 * node sees the same rows at once, and incr/decr are atomic across them.
 *
 * The table exists before any worker starts: `askr serve --tables` creates it from
 * config/octane.php. A worker opens it by name with {@see Table::open()}.
 *
 * Differences from Swoole\Table (docs/tables-php.md): a key longer than 63 bytes is rejected
 * (Swoole truncates it), incr/decr on a missing or string column throws a ValueError (Swoole
 * warns and returns false), column()/create() only confirm the declared shape, destroy() empties
 * the table instead of freeing it, and a table can be serialized: the copy reopens the table of
 * the same name in the process that unserializes it (Swoole refuses to serialize a table).
 *
 * This class holds what every askr table shares (shape, count, iteration, errors). The row
 * operations are its subclasses': RuntimeTable, in askr workers, inherits the runtime's
 * internal methods (Ephpm\Octane\Table); NativesTable has them in PHP over a TableNatives
 * object (what the unit tests drive with a fake of the natives). Both behave alike, line for line.
 *
 * @method bool set(string $key, array $value) Writes the given columns of the row $key, creating it if needed (its other columns start at 0 or ''); undeclared columns are ignored. Throws Octane's ValueTooLargeForColumnException for a string longer than its column, a RuntimeException when the row is new and the table is full.
 * @method array|false|string|float|int get(string $key, ?string $field = null) The row $key (every column), one column of it, or false when the key or the column does not exist.
 * @method bool exists(string $key)
 * @method bool exist(string $key) Alias of exists(), as Swoole\Table has it.
 * @method bool del(string $key) Deletes the row $key; false when it did not exist.
 * @method bool delete(string $key) Alias of del(), as Swoole\Table has it.
 * @method int|float incr(string $key, string $column, int|float $incrby = 1) Adds $incrby to the int or float column $column of the row $key, atomically across every worker of the node, creating the row if needed; returns the new value. Throws a ValueError when $column is not an int or float column, a RuntimeException when the row is new and the table is full.
 * @method int|float decr(string $key, string $column, int|float $incrby = 1) Subtracts $incrby (see incr()).
 */
abstract class Table extends \Swoole\Table
{
    use EnsuresColumnSizes;

    /** Longest key in bytes (Swoole\Table's SW_TABLE_KEY_SIZE of 64, minus the terminator). */
    public const MAX_KEY_BYTES = 63;

    /**
     * The columns as EnsuresColumnSizes reads them: name => [Swoole\Table::TYPE_*, size].
     *
     * @var array<string, array{0: int, 1: int}>
     */
    protected $columns = [];

    /** The native handle of the table. */
    protected int $handle;

    /** Capacity in rows. */
    protected int $rows;

    /** Iteration: the cursor of the next scan batch (0: none left), the batch's keys and rows, the position in it. */
    private int $scanCursor = 0;

    /** @var list<string|int> */
    private array $batchKeys = [];

    /** @var array<string|int, array<string, int|float|string>> */
    private array $batchRows = [];

    private int $position = 0;

    /**
     * @param  array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}  $opened  What table_open() returned.
     * @param  int  $scanBatch  Rows fetched per table_scan() call while iterating.
     */
    public function __construct(
        protected TableNatives $natives,
        protected string $name,
        array $opened,
        protected int $scanBatch = 256,
    ) {
        $this->handle = $opened['handle'];
        $this->rows = $opened['rows'];
        $this->size = $opened['rows'];

        foreach ($opened['columns'] as $column => ['type' => $type, 'size' => $size]) {
            $swooleType = match ($type) {
                1 => static::TYPE_INT,
                2 => static::TYPE_FLOAT,
                3 => static::TYPE_STRING,
                default => throw new LogicException("Table [{$name}]: column [{$column}] has an unknown type {$type}."),
            };

            $this->columns[$column] = [$swooleType, $size];
        }

        $this->memorySize = static::memorySizeOf($this->rows, $this->columns);
    }

    /**
     * Opens the table $name of the node's store (declared in config/octane.php 'tables',
     * or "octane_cache" for the octane cache store). With the runtime's natives (the default)
     * this is a RuntimeTable, whose row operations are the runtime's internal methods; with
     * other natives (or a runtime without Ephpm\Octane\Table), a NativesTable over them.
     *
     * @throws \InvalidArgumentException when askr has no such table.
     * @throws \RuntimeException when askr was started without tables.
     */
    public static function open(string $name, ?TableNatives $natives = null): self
    {
        if ($natives === null || $natives instanceof RuntimeNatives) {
            $natives = new RuntimeNatives;
            $opened = $natives->tableOpen($name);

            // Swoole\Table extends Ephpm\Octane\Table when the runtime has it (shims/Swoole/Table.php).
            return is_subclass_of(\Swoole\Table::class, \Ephpm\Octane\Table::class)
                ? new RuntimeTable($name, $opened)
                : new NativesTable($natives, $name, $opened);
        }

        return new NativesTable($natives, $name, $natives->tableOpen($name));
    }

    /**
     * The number of rows in use.
     */
    public function count(): int
    {
        return $this->natives->tableCount($this->handle);
    }

    /**
     * Swoole's column(): askr's tables are created by the runtime from config/octane.php before
     * any worker starts, so this only confirms that the column is declared with this type (and,
     * for a string column, this size).
     *
     * @throws LogicException when the table was declared otherwise.
     */
    public function column(string $name, int $type, int $size = 0): bool
    {
        [$declaredType, $declaredSize] = $this->columns[$name] ?? [null, null];

        if ($declaredType !== $type || ($type === static::TYPE_STRING && $declaredSize !== $size)) {
            throw new LogicException(sprintf(
                'Table [%s] was created by askr from config/octane.php and its columns cannot change at run time: '
                .'column [%s] %s. Declare it in config/octane.php (\'%s:%d\' => [...]) and restart the server.',
                $this->name,
                $name,
                $declaredType === null ? 'is not declared' : 'is declared with another type or size',
                $this->name,
                $this->rows,
            ));
        }

        return true;
    }

    /**
     * Swoole's create(): the table already exists in the node's store.
     */
    public function create(): bool
    {
        return true;
    }

    /**
     * The capacity in rows, as declared ('name:rows').
     */
    public function getSize(): int
    {
        return $this->rows;
    }

    /**
     * Swoole's getMemorySize(): the bytes of the node's shared memory this table takes, by
     * askr's layout (docs/tables.md, Askr.Tables.SharedTable.BytesFor): its header, the buckets
     * and every row, used or not. Also the $memorySize property. The store's change ring and
     * header are the node's, counted by no table.
     */
    public function getMemorySize(): int
    {
        return $this->memorySize;
    }

    /**
     * The bytes a table of this shape takes in the node's store (docs/tables.md): 64 (table
     * header) + 8 x buckets (rows rounded up to a power of two, at least 16) + rows x (96 (row
     * header and key) + the column widths + 24 per column (merge metadata)); a column is 8 bytes
     * wide, a string column 4 + its size rounded up to a multiple of 8.
     *
     * @param  array<string, array{0: int, 1: int}>  $columns  name => [Swoole\Table::TYPE_*, size]
     */
    public static function memorySizeOf(int $rows, array $columns): int
    {
        $buckets = 16;

        while ($buckets < $rows) {
            $buckets *= 2;
        }

        $rowBytes = 96;

        foreach ($columns as [$type, $size]) {
            $rowBytes += ($type === static::TYPE_STRING ? (4 + $size + 7) & ~7 : 8) + 24;
        }

        return 64 + 8 * $buckets + $rows * $rowBytes;
    }

    /**
     * Swoole's destroy() frees the table's memory for every process. askr's tables belong to the
     * node and live as long as the server, so this deletes every row instead (for every worker
     * of the node, and for the cluster's other nodes when the table is replicated); the table
     * stays usable. Returns true, as Swoole.
     */
    public function destroy(): bool
    {
        $cursor = 0;

        do {
            [$cursor, $rows] = $this->natives->tableScan($this->handle, $cursor, $this->scanBatch);

            foreach (array_keys($rows) as $key) {
                $this->del((string) $key);
            }
        } while ($cursor !== 0);

        return true;
    }

    /**
     * What serialize() keeps of a table: its name (and the natives it was opened with, unless
     * they are the runtime's), never its handle, which is a number of this process.
     * unserialize() opens the table of that name again (see __unserialize()), so a closure that
     * captures a table and runs in a task worker (Octane::concurrently()) uses the same table of
     * the node. (Swoole\Table refuses to be serialized.)
     *
     * @return array{name: string, scanBatch: int, natives?: TableNatives}
     */
    public function __serialize(): array
    {
        $data = ['name' => $this->name, 'scanBatch' => $this->scanBatch];

        if (! $this->natives instanceof RuntimeNatives) {
            $data['natives'] = $this->natives;
        }

        return $data;
    }

    /**
     * Opens the serialized table again, by name, in this process (see __serialize()).
     *
     * @param  array{name: string, scanBatch?: int, natives?: TableNatives}  $data
     * @return array{0: TableNatives, 1: array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}, 2: int}
     *         The natives, what table_open() answered, and the scan batch.
     *
     * @throws UnexpectedValueException when $data is not what __serialize() writes.
     * @throws RuntimeException when this process cannot open the table: outside an askr worker, or
     *         in a server that does not declare it.
     */
    protected static function reopen(array $data): array
    {
        $name = $data['name'] ?? null;
        $natives = $data['natives'] ?? new RuntimeNatives;
        $scanBatch = $data['scanBatch'] ?? 256;

        if (! is_string($name) || ! $natives instanceof TableNatives || ! is_int($scanBatch) || $scanBatch < 1) {
            throw new UnexpectedValueException('A serialized askr table holds its name (string), its scan batch (int >= 1) and maybe its natives (TableNatives); this one does not.');
        }

        try {
            return [$natives, $natives->tableOpen($name), $scanBatch];
        } catch (Throwable $e) {
            throw new RuntimeException(
                "Table [{$name}] was unserialized but cannot be opened again here: {$e->getMessage()} "
                .'(a serialized table reopens the table of the same name, inside an askr worker of a server that declares it).',
                0,
                $e,
            );
        }
    }

    /** The table's name in the node's store. */
    public function name(): string
    {
        return $this->name;
    }

    /**
     * The declared columns: name => [Swoole\Table::TYPE_*, size].
     *
     * @return array<string, array{0: int, 1: int}>
     */
    public function columns(): array
    {
        return $this->columns;
    }

    // Iteration (foreach ($table as $key => $row)), in table_scan() batches. Rows present for
    // the whole walk are seen exactly once; rows may be deleted while iterating.

    public function rewind(): void
    {
        $this->scanCursor = 0;
        $this->fetchBatch();
    }

    public function valid(): bool
    {
        return $this->position < count($this->batchKeys);
    }

    public function current(): mixed
    {
        return $this->valid() ? $this->batchRows[$this->batchKeys[$this->position]] : null;
    }

    public function key(): mixed
    {
        // PHP turns numeric string keys into ints in arrays; Swoole's keys are strings.
        return $this->valid() ? (string) $this->batchKeys[$this->position] : null;
    }

    public function next(): void
    {
        $this->position++;

        if ($this->position >= count($this->batchKeys) && $this->scanCursor !== 0) {
            $this->fetchBatch();
        }
    }

    /**
     * Loads the next non-empty batch from the scan cursor (or nothing when the walk is over).
     */
    private function fetchBatch(): void
    {
        $this->batchKeys = [];
        $this->batchRows = [];
        $this->position = 0;

        do {
            [$this->scanCursor, $rows] = $this->natives->tableScan($this->handle, $this->scanCursor, $this->scanBatch);
        } while ($rows === [] && $this->scanCursor !== 0);

        $this->batchRows = $rows;
        $this->batchKeys = array_keys($rows);
    }

    /**
     * What set() throws when the native refused the row: Octane's ValueTooLargeForColumnException
     * (from Octane's own EnsuresColumnSizes check, as its SwooleTable runs it) when a string is
     * longer than its column, else the native's error made clearer.
     *
     * The native checks every value before it writes anything (nothing is written when one is
     * too long), so Octane's check runs only once the native has refused the row: the same
     * outcome, without a check of every value on every successful set().
     *
     * Also called by the runtime's internal set() (Ephpm\Octane\Table, which declares it with
     * this signature): keep the two in step.
     *
     * @throws \Laravel\Octane\Exceptions\ValueTooLargeForColumnException
     */
    protected function setFailure(ValueError $e, string $key, array $value): ValueError
    {
        collect($value)->each($this->ensureColumnsSize());

        return $this->clearer($e, $key);
    }

    /**
     * A key of the wrong length gets an error that names the table and the rule; other
     * ValueErrors of the natives are already clear and are passed on as they are.
     *
     * Also called by the runtime's internal get/exists/del/incr/decr (Ephpm\Octane\Table, which
     * declares it with this signature) with the ValueError they threw.
     */
    protected function clearer(ValueError $e, string $key): ValueError
    {
        $length = strlen($key);

        if ($length >= 1 && $length <= static::MAX_KEY_BYTES) {
            return $e;
        }

        if ($length === 0) {
            return new InvalidKeyException(sprintf(
                'The empty string is not a key of table [%s]: keys are 1 to %d bytes.',
                $this->name,
                static::MAX_KEY_BYTES,
            ), 0, $e);
        }

        return new InvalidKeyException(sprintf(
            'Key [%s] is %d bytes: keys of table [%s] must be 1 to %d bytes (Swoole\Table\'s limit; askr rejects '
            .'longer keys instead of truncating them). Hash long keys, e.g. md5($key).',
            $length > 40 ? substr($key, 0, 40).'...' : $key,
            $length,
            $this->name,
            static::MAX_KEY_BYTES,
        ), 0, $e);
    }
}
