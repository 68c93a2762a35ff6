<?php

namespace Askr\Octane\Tables\Concerns;

use LogicException;

/**
 * The body of askr's Swoole\Table (shims/Swoole/Table.php), for PHP without ext-swoole: what
 * ext-swoole's Swoole\Table declares and a subclass may rely on, so that any class extending
 * Swoole\Table can be declared (Octane's own Laravel\Octane\Tables\SwooleTable among them).
 *
 * Without these methods the class is abstract with the methods of Iterator and Countable
 * missing, and declaring a subclass that does not implement them all (as Octane's SwooleTable
 * does not) is a fatal error that no try/catch can stop.
 *
 * The tables an application uses are Askr\Octane\Tables\Table, which overrides every method
 * here. What is left here answers for an object that is not a table of askr's store: its
 * constructor refuses to create one (askr's tables exist before any worker starts), and an
 * object made without the constructor is an empty table that cannot be walked.
 */
trait StandsInForSwooleTable
{
    /**
     * Swoole\Table's $size: the capacity in rows. Swoole sets it at create(); askr's tables exist
     * before any worker starts, so Askr\Octane\Tables\Table sets it when it opens the table.
     *
     * @var int|null null when this object is not a table of askr's store.
     */
    public $size = null;

    /**
     * Swoole\Table's $memorySize: the bytes of shared memory the table takes (see getMemorySize()).
     *
     * @var int|null null when this object is not a table of askr's store.
     */
    public $memorySize = null;

    /**
     * Swoole\Table's constructor, which creates a table at run time: askr cannot, its tables are
     * created by the runtime from config/octane.php before any worker starts.
     *
     * @throws LogicException always, saying where askr's tables are declared.
     */
    public function __construct(int $table_size, float $conflict_proportion = 0.2)
    {
        throw new LogicException(sprintf(
            'new %s(%d): askr cannot create a table at run time. The askr runtime creates the node\'s tables before any '
            .'worker starts, from config/octane.php (\'tables\' => [\'name:rows\' => [\'column\' => \'string:size|int|float\']], '
            .'and \'cache\' for the octane cache store); use Octane::table(\'name\') to get one.',
            static::class,
            $table_size,
        ));
    }

    /** Swoole: 0 for a table that was never created. */
    public function count(): int
    {
        return 0;
    }

    /**
     * @throws LogicException: this object is not a table of askr's store (it was made without its constructor).
     */
    public function rewind(): void
    {
        throw new LogicException(static::class.' is not a table of askr\'s store (the object was made without its constructor): it cannot be iterated.');
    }

    public function valid(): bool
    {
        return false;
    }

    public function current(): mixed
    {
        return null;
    }

    public function key(): mixed
    {
        return null;
    }

    public function next(): void
    {
    }

    /** Swoole: 0 for a table that was never created. */
    public function getSize(): int
    {
        return 0;
    }

    /** Swoole: 0 for a table that was never created. */
    public function getMemorySize(): int
    {
        return 0;
    }
}
