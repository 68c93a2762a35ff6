<?php

namespace Askr\Octane\Tables;

use InvalidArgumentException;
use RuntimeException;

/**
 * The tables JSON of `askr serve --tables <file>`, made from config/octane.php:
 *
 *     {"tables": {"name:rows": {"col": "string:100", "n": "int", "f": "float"}},
 *      "cache": {"rows": 1000, "bytes": 10000}}
 *
 * The start command writes it and askr parses it (TableSchema.ParseConfig, the one parser);
 * workers ask the runtime which tables it holds (Ephpm\Octane\table_names(), WorkerTables). Octane's defaults are filled in as Octane's Swoole server does: 1000
 * rows when a name has no ":rows", 1000 bytes for a string column without a size.
 */
final class TableDeclarations
{
    /** The name of the octane cache store's table in askr's store. */
    public const CACHE_TABLE = 'octane_cache';

    /**
     * @param  array{tables: array<string, array<string, string>>, cache?: array{rows: int, bytes: int}}  $declarations
     */
    private function __construct(public readonly array $declarations)
    {
    }

    /**
     * @param  array<string, array<string, string>>|null  $tables  config('octane.tables')
     * @param  array{rows?: int, bytes?: int}|null  $cache  config('octane.cache'); empty: no cache table (Octane then uses its array store)
     *
     * @throws InvalidArgumentException for a declaration askr (or Octane) would refuse.
     */
    public static function fromConfig(?array $tables, ?array $cache): self
    {
        $declarations = ['tables' => []];

        foreach ($tables ?? [] as $declaration => $columns) {
            [$name, $rows] = array_pad(explode(':', (string) $declaration, 2), 2, '1000');

            if ($name === '' || $name === self::CACHE_TABLE) {
                throw new InvalidArgumentException("config/octane.php 'tables': [{$declaration}] is not a usable table name.");
            }

            if (filter_var($rows, FILTER_VALIDATE_INT, ['options' => ['min_range' => 1]]) === false) {
                throw new InvalidArgumentException("config/octane.php 'tables': [{$declaration}] must be declared as 'name:rows' with rows a positive number.");
            }

            if (! is_array($columns) || $columns === []) {
                throw new InvalidArgumentException("config/octane.php 'tables': [{$declaration}] needs at least one column.");
            }

            $normalised = [];

            foreach ($columns as $column => $type) {
                $normalised[(string) $column] = self::column($name, (string) $column, (string) $type);
            }

            $declarations['tables']["{$name}:".(int) $rows] = $normalised;
        }

        if (! empty($cache)) {
            $declarations['cache'] = [
                'rows' => self::positive('octane.cache.rows', $cache['rows'] ?? 1000),
                'bytes' => self::positive('octane.cache.bytes', $cache['bytes'] ?? 10000),
            ];
        }

        return new self($declarations);
    }

    /**
     * Writes the JSON file for `askr serve --tables`.
     */
    public function write(string $path): void
    {
        if (! is_dir($directory = dirname($path))) {
            @mkdir($directory, 0755, true);
        }

        $temporary = $path.'.'.getmypid().'.tmp';

        if (@file_put_contents($temporary, $this->toJson()) === false || ! @rename($temporary, $path)) {
            @unlink($temporary);

            throw new RuntimeException("askr: unable to write the tables file [{$path}].");
        }
    }

    public function toJson(): string
    {
        return json_encode(
            ['tables' => (object) $this->declarations['tables']] + array_diff_key($this->declarations, ['tables' => true]),
            JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR
        )."\n";
    }

    /**
     * The names of config('octane.tables'), without their ":rows".
     *
     * @return list<string>
     */
    public function tableNames(): array
    {
        return array_map(fn ($declaration) => explode(':', (string) $declaration, 2)[0], array_keys($this->declarations['tables'] ?? []));
    }

    public function hasCacheTable(): bool
    {
        return isset($this->declarations['cache']);
    }

    private static function column(string $table, string $column, string $type): string
    {
        [$kind, $size] = array_pad(explode(':', $type, 2), 2, null);

        return match ($kind) {
            'int', 'float' => $kind,
            'string' => 'string:'.self::positive("column [{$column}] of table [{$table}]", $size ?? 1000),
            default => throw new InvalidArgumentException(
                "config/octane.php 'tables': column [{$column}] of table [{$table}] has the type [{$type}]; use 'int', 'float' or 'string:size'."
            ),
        };
    }

    private static function positive(string $what, mixed $value): int
    {
        if (filter_var($value, FILTER_VALIDATE_INT, ['options' => ['min_range' => 1]]) === false) {
            throw new InvalidArgumentException("askr tables: {$what} must be a positive number, [".var_export($value, true).'] given.');
        }

        return (int) $value;
    }
}
