<?php

namespace Askr\Octane\Server;

/**
 * The askr runtime's table natives (Ephpm\Octane\table_*, see stubs/natives.php) as an
 * object, so the table class can be driven by a fake in unit tests. Each method has the
 * semantics of the native of the same name.
 */
interface TableNatives
{
    /**
     * The names of the node store's tables, as the runtime parsed them from `askr serve --tables`
     * ("octane_cache" included when declared).
     *
     * @return list<string> Empty when the server has no tables.
     */
    public function tableNames(): array;

    /**
     * Opens a table of the node's shared store by name.
     *
     * @return array{handle: int, rows: int, columns: array<string, array{type: int, size: int}>}
     *         type: 1 int, 2 float, 3 string (size in bytes).
     *
     * @throws \InvalidArgumentException when no such table is declared.
     * @throws \RuntimeException when the server was started without tables.
     */
    public function tableOpen(string $name): array;

    /**
     * @return array<string, int|float|string>|int|float|string|false false for a missing key or column.
     *
     * @throws \ValueError when the key is empty or longer than 63 bytes.
     */
    public function tableGet(int $handle, string $key, ?string $column = null): array|int|float|string|false;

    /**
     * @throws \ValueError for an invalid key or a string longer than its column.
     * @throws \RuntimeException when the row is new and the table is full.
     */
    public function tableSet(int $handle, string $key, array $row): bool;

    /**
     * @throws \ValueError for an invalid key, or a column that is missing or a string column.
     * @throws \RuntimeException when the row is new and the table is full.
     */
    public function tableIncr(int $handle, string $key, string $column, int|float $by = 1): int|float;

    public function tableDel(int $handle, string $key): bool;

    public function tableExists(int $handle, string $key): bool;

    public function tableCount(int $handle): int;

    /**
     * @return array{0: int, 1: array<string, array<string, int|float|string>>} [next cursor (0: done), key => row].
     */
    public function tableScan(int $handle, int $cursor, int $count): array;
}
