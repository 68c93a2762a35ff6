<?php

namespace Askr\Octane\Tests\Unit\Tables;

use Askr\Octane\Tables\InvalidKeyException;
use Askr\Octane\Tables\NativesTable;
use Askr\Octane\Tables\Table;
use Askr\Octane\Tests\Support\FakeTableNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use InvalidArgumentException;
use Laravel\Octane\Exceptions\ValueTooLargeForColumnException;
use LogicException;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use ValueError;

/**
 * The table class against a model of the natives: Swoole\Table's behaviour as Octane relies on
 * it (Octane's tests/TableTest.php is the reference for set() and the column size check).
 */
class TableTest extends TestCase
{
    use RequiresOctane;

    private FakeTableNatives $natives;

    protected function setUp(): void
    {
        $this->requireOctane();

        // As Octane's TableTest declares its table: a string column of 10 bytes and an int column.
        $this->natives = new FakeTableNatives([
            'example' => ['rows' => 1000, 'columns' => ['string' => 'string:10', 'int' => 'int', 'float' => 'float']],
            'small' => ['rows' => 2, 'columns' => ['n' => 'int']],
        ]);
    }

    private function table(string $name = 'example', int $scanBatch = 256): Table
    {
        return new NativesTable($this->natives, $name, $this->natives->tableOpen($name), $scanBatch);
    }

    public function test_it_is_the_swoole_table_that_octane_table_declares(): void
    {
        $table = $this->table();

        $this->assertInstanceOf(\Swoole\Table::class, $table);
        $this->assertInstanceOf(\Iterator::class, $table);
        $this->assertInstanceOf(\Countable::class, $table);
        $this->assertSame(1, \Swoole\Table::TYPE_INT);
        $this->assertSame(2, \Swoole\Table::TYPE_FLOAT);
        $this->assertSame(3, \Swoole\Table::TYPE_STRING);
        $this->assertFalse(class_exists('Swoole\Http\Server', false), 'askr must not declare Swoole\Http\Server');
    }

    public function test_open_reads_the_shape_askr_declared(): void
    {
        $table = Table::open('example', $this->natives);

        $this->assertInstanceOf(NativesTable::class, $table, 'natives other than the runtime\'s: the operations in PHP');
        $this->assertSame('example', $table->name());
        $this->assertSame(1000, $table->getSize());
        $this->assertSame([
            'string' => [Table::TYPE_STRING, 10],
            'int' => [Table::TYPE_INT, 8],
            'float' => [Table::TYPE_FLOAT, 8],
        ], $table->columns());
    }

    public function test_opening_an_undeclared_table_says_so(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('Table [nope] is not declared');

        Table::open('nope', $this->natives);
    }

    public function test_by_default_it_opens_the_runtimes_table_which_exists_only_inside_askr(): void
    {
        $this->expectException(RuntimeException::class);
        $this->expectExceptionMessage('Ephpm\Octane\table_open() is only available inside the askr runtime');

        Table::open('visits');
    }

    /**
     * @return array<string, array{0: string}>
     */
    public static function valuesThatFit(): array
    {
        return [
            'ten ascii bytes' => ['abcdefghij'],
            'multibyte, ten bytes' => ['äöüßab'],
            'punctuation' => ['#!{}[]@;:~'],
            'serialized prefix' => ['s:5:"hell'],
            'spaces' => [str_repeat(' ', 10)],
            'empty' => [''],
        ];
    }

    /**
     * @dataProvider valuesThatFit
     */
    public function test_a_string_up_to_its_column_size_is_stored_as_it_is(string $value): void
    {
        $table = $this->table();

        $this->assertTrue($table->set('key', ['string' => $value]));

        $this->assertSame($value, $table->get('key')['string']);
        $this->assertSame($value, $table->get('key', 'string'));
    }

    /**
     * @return array<string, array{0: string}>
     */
    public static function valuesTooLarge(): array
    {
        return [
            'eleven ascii bytes' => ['abcdefghijk'],
            'multibyte, eleven bytes' => ['äöüßabc'],
            'multibyte, four characters but twelve bytes' => ['日本語日'],
            'spaces' => [str_repeat(' ', 11)],
            'long' => [str_repeat('x', 5000)],
        ];
    }

    /**
     * @dataProvider valuesTooLarge
     */
    public function test_a_string_longer_than_its_column_throws_octanes_exception(string $value): void
    {
        $table = $this->table();

        try {
            $table->set('key', ['string' => $value]);
            $this->fail('set() accepted a value longer than its column');
        } catch (ValueTooLargeForColumnException $e) {
            $this->assertSame(sprintf('Value [%s...] is too large for [string] column.', substr($value, 0, 20)), $e->getMessage());
        }

        $this->assertFalse($table->exists('key'), 'nothing was written');

        $table->set('key', ['string' => 'short', 'int' => 1]);

        try {
            $table->set('key', ['int' => 2, 'string' => $value]);
            $this->fail('set() accepted a value longer than its column');
        } catch (ValueTooLargeForColumnException) {
        }

        $this->assertSame(['string' => 'short', 'int' => 1, 'float' => 0.0], $table->get('key'), 'no column of the refused row was written');
    }

    public function test_columns_the_table_does_not_declare_are_ignored(): void
    {
        $table = $this->table();

        $table->set('key', ['non-existing-column' => str_repeat('x', 100), 'int' => 3]);

        $this->assertArrayNotHasKey('non-existing-column', $table->get('key'));
        $this->assertSame(3, $table->get('key', 'int'));
    }

    public function test_only_string_columns_are_size_checked(): void
    {
        $table = $this->table();

        $table->set('key', ['int' => 1000000000000000000, 'float' => 1.0E+300]);

        $this->assertSame(1000000000000000000, $table->get('key')['int']);
        $this->assertSame(1.0E+300, $table->get('key')['float']);
    }

    public function test_a_new_row_starts_with_zero_and_empty_columns_and_set_keeps_the_others(): void
    {
        $table = $this->table();

        $table->set('key', ['int' => 7]);
        $this->assertSame(['string' => '', 'int' => 7, 'float' => 0.0], $table->get('key'));

        $table->set('key', ['string' => 'abc']);
        $this->assertSame(['string' => 'abc', 'int' => 7, 'float' => 0.0], $table->get('key'));
    }

    public function test_values_are_converted_to_their_columns_type(): void
    {
        $table = $this->table();

        $table->set('key', ['string' => 12, 'int' => '42', 'float' => '1.5']);

        $this->assertSame(['string' => '12', 'int' => 42, 'float' => 1.5], $table->get('key'));
    }

    public function test_get_answers_false_for_a_missing_key_or_field(): void
    {
        $table = $this->table();
        $table->set('present', ['int' => 1]);

        $this->assertFalse($table->get('missing'));
        $this->assertFalse($table->get('missing', 'int'));
        $this->assertFalse($table->get('present', 'no-such-column'));
    }

    public function test_exists_exist_del_and_delete(): void
    {
        $table = $this->table();
        $table->set('a', ['int' => 1]);
        $table->set('b', ['int' => 2]);

        $this->assertTrue($table->exists('a'));
        $this->assertTrue($table->exist('b'));
        $this->assertFalse($table->exists('c'));

        $this->assertTrue($table->del('a'));
        $this->assertFalse($table->del('a'), 'a second delete finds nothing');
        $this->assertTrue($table->delete('b'));
        $this->assertFalse($table->exist('b'));
        $this->assertSame(0, $table->count());
    }

    public function test_incr_and_decr_create_the_row_and_return_the_new_value(): void
    {
        $table = $this->table();

        $this->assertSame(1, $table->incr('counter', 'int'));
        $this->assertSame(6, $table->incr('counter', 'int', 5));
        $this->assertSame(4, $table->decr('counter', 'int', 2));
        $this->assertSame(3, $table->decr('counter', 'int'));
        $this->assertSame(3, $table->get('counter', 'int'));

        $this->assertSame(0.5, $table->incr('counter', 'float', 0.5));
        $this->assertSame(-1.0, $table->decr('counter', 'float', 1.5));

        $this->assertSame(1, $table->incr('fresh', 'int'));
        $this->assertSame(['string' => '', 'int' => 1, 'float' => 0.0], $table->get('fresh'));
    }

    public function test_incr_on_a_string_or_missing_column_throws(): void
    {
        $table = $this->table();

        foreach (['string' => 'is a string column', 'nope' => 'must be a column of table [example]'] as $column => $message) {
            try {
                $table->incr('key', $column);
                $this->fail("incr() on [{$column}] did not throw");
            } catch (ValueError $e) {
                $this->assertStringContainsString($message, $e->getMessage());
            }
        }
    }

    public function test_count_is_the_rows_in_use(): void
    {
        $table = $this->table();

        $this->assertCount(0, $table);

        foreach (range(1, 5) as $i) {
            $table->set("k{$i}", ['int' => $i]);
        }

        $table->set('k1', ['int' => 10]);

        $this->assertSame(5, $table->count());
        $this->assertCount(5, $table);
    }

    public function test_iteration_walks_every_row_once_across_batches(): void
    {
        // Batches of 7 slots over 1000 slots: most batches are empty and must be skipped.
        $table = $this->table(scanBatch: 7);
        $expected = [];

        foreach (range(1, 40) as $i) {
            $table->set("key-{$i}", ['int' => $i]);
            $expected["key-{$i}"] = ['string' => '', 'int' => $i, 'float' => 0.0];
        }

        $seen = [];

        foreach ($table as $key => $row) {
            $this->assertArrayNotHasKey($key, $seen, "{$key} seen twice");
            $seen[$key] = $row;
        }

        ksort($seen);
        ksort($expected);
        $this->assertSame($expected, $seen);
        $this->assertGreaterThan(100, $this->natives->callsOf('tableScan'), 'it scanned in batches');

        // A second foreach starts over.
        $this->assertCount(40, iterator_to_array($table));
    }

    public function test_iteration_of_an_empty_table_yields_nothing(): void
    {
        $this->assertSame([], iterator_to_array($this->table(scanBatch: 10)));
    }

    public function test_keys_are_strings_even_when_numeric(): void
    {
        $table = $this->table();
        $table->set('5', ['int' => 5]);
        $table->set('07', ['int' => 7]);

        $keys = [];

        foreach ($table as $key => $row) {
            $keys[] = $key;
        }

        sort($keys, SORT_STRING);
        $this->assertSame(['07', '5'], $keys);
    }

    public function test_rows_may_be_deleted_while_iterating(): void
    {
        // What OctaneStore::flush() does.
        $table = $this->table(scanBatch: 3);

        foreach (range(1, 20) as $i) {
            $table->set("k{$i}", ['int' => $i]);
        }

        $visited = 0;

        foreach ($table as $key => $row) {
            $visited++;
            $table->del($key);
        }

        $this->assertSame(20, $visited);
        $this->assertSame(0, $table->count());
    }

    public function test_a_key_longer_than_63_bytes_is_rejected_clearly(): void
    {
        $table = $this->table();
        $long = str_repeat('k', 64);

        $this->assertTrue($table->set(str_repeat('k', 63), ['int' => 1]), '63 bytes is the limit');

        foreach ([
            'set' => fn () => $table->set($long, ['int' => 1]),
            'get' => fn () => $table->get($long),
            'exists' => fn () => $table->exists($long),
            'del' => fn () => $table->del($long),
            'incr' => fn () => $table->incr($long, 'int'),
        ] as $what => $call) {
            try {
                $call();
                $this->fail("{$what} accepted an invalid key");
            } catch (InvalidKeyException $e) {
                $this->assertInstanceOf(ValueError::class, $e);
                $this->assertStringContainsString('keys of table [example] must be 1 to 63 bytes', $e->getMessage(), $what);
                $this->assertInstanceOf(ValueError::class, $e->getPrevious());
            }
        }
    }

    public function test_the_empty_key_is_refused_with_a_message_about_the_empty_key(): void
    {
        $table = $this->table();

        foreach ([
            'set' => fn () => $table->set('', ['int' => 1]),
            'get' => fn () => $table->get(''),
            'exists' => fn () => $table->exists(''),
            'del' => fn () => $table->del(''),
            'incr' => fn () => $table->incr('', 'int'),
        ] as $what => $call) {
            try {
                $call();
                $this->fail("{$what} accepted the empty key");
            } catch (InvalidKeyException $e) {
                $this->assertSame('The empty string is not a key of table [example]: keys are 1 to 63 bytes.', $e->getMessage(), $what);
                $this->assertInstanceOf(ValueError::class, $e->getPrevious());
            }
        }

        $this->assertSame(0, $table->count());
    }

    public function test_get_with_an_empty_field_is_false_as_for_any_column_the_table_lacks(): void
    {
        // Swoole 6.1+ (GH-5789) answers so; Swoole up to 6.0 answered the whole row (docs/tables-php.md).
        $table = $this->table();
        $table->set('k', ['string' => 'x', 'int' => 3]);

        $this->assertFalse($table->get('k', ''));
        $this->assertSame(['string' => 'x', 'int' => 3, 'float' => 0.0], $table->get('k', null));
    }

    public function test_size_and_memory_size_are_the_capacity_and_the_bytes_of_askrs_layout(): void
    {
        $table = $this->table();

        $this->assertSame(1000, $table->size);
        $this->assertSame(1000, $table->getSize());
        // 64 + 8 x 1024 buckets + 1000 x (96 + (8 + 16) + 8 + 8 bytes of columns + 3 x 24 of metadata)
        $this->assertSame(64 + 8 * 1024 + 1000 * (96 + 16 + 8 + 8 + 3 * 24), $table->getMemorySize());
        $this->assertSame($table->getMemorySize(), $table->memorySize);

        // docs/tables.md's example: 'example:1000' => ['name' => 'string:1000', 'votes' => 'int'].
        $this->assertSame(64 + 8 * 1024 + 1000 * (96 + 1008 + 8 + 48), Table::memorySizeOf(1000, [
            'name' => [Table::TYPE_STRING, 1000], 'votes' => [Table::TYPE_INT, 8],
        ]));
        $this->assertSame(64 + 8 * 16 + 3 * (96 + 8 + 24), Table::memorySizeOf(3, ['n' => [Table::TYPE_INT, 8]]), 'at least 16 buckets');
        $this->assertSame(64 + 8 * 16 + 16 * (96 + 8 + 24), Table::memorySizeOf(16, ['n' => [Table::TYPE_INT, 8]]), 'a power of two is its own bucket count');
        $this->assertSame(64 + 8 * 32 + 17 * (96 + 8 + 24), Table::memorySizeOf(17, ['n' => [Table::TYPE_INT, 8]]));
    }

    public function test_destroy_deletes_every_row_and_the_table_stays_usable(): void
    {
        $table = $this->table(scanBatch: 3);

        for ($i = 0; $i < 20; $i++) {
            $table->set("k{$i}", ['int' => $i]);
        }

        $this->assertTrue($table->destroy());
        $this->assertSame(0, $table->count());
        $this->assertFalse($table->get('k1'));
        $this->assertTrue($table->set('again', ['int' => 1]));
        $this->assertSame(1, $table->get('again', 'int'));
    }

    public function test_a_serialized_table_keeps_its_name_not_its_handle_and_reopens_by_name(): void
    {
        $table = $this->table();
        $table->set('k', ['int' => 7]);
        $opens = static fn (FakeTableNatives $natives) => array_values(array_filter($natives->calls, static fn ($call) => $call[0] === 'tableOpen'));
        $before = count($opens($this->natives));

        $copy = unserialize(serialize($table));
        $copyNatives = (fn () => $this->natives)->call($copy);

        $this->assertInstanceOf(NativesTable::class, $copy);
        $this->assertSame('example', $copy->name());
        $this->assertSame(1000, $copy->size);
        $this->assertCount($before + 1, $opens($copyNatives), 'unserialize() opened the table again');
        $this->assertSame(['tableOpen', ['example']], $opens($copyNatives)[$before]);
        $this->assertSame(7, $copy->get('k', 'int'), 'the copy reads the row (of its copy of the fake natives)');
        $this->assertSame(1, $copy->count());
    }

    public function test_a_table_unserialized_where_its_handle_means_another_table_opens_its_own(): void
    {
        $table = $this->table('small');

        // Another process: the same tables, opened in another order, so handle 2 ('small' here) is 'example' there.
        $elsewhere = new FakeTableNatives([
            'small' => ['rows' => 2, 'columns' => ['n' => 'int']],
            'example' => ['rows' => 1000, 'columns' => ['string' => 'string:10', 'int' => 'int', 'float' => 'float']],
        ]);
        $this->assertSame(2, $this->natives->tableOpen('small')['handle']);
        $this->assertSame(2, $elsewhere->tableOpen('example')['handle']);
        $payload = serialize($table);
        $this->assertStringNotContainsString('handle', $payload);
        $payload = str_replace(serialize($this->natives), serialize($elsewhere), $payload, $replaced);
        $this->assertSame(1, $replaced);
        $copy = unserialize($payload);
        $copy->set('a', ['n' => 5]);

        $this->assertSame('small', $copy->name());
        $this->assertSame(['n' => 5], $copy->get('a'));
        $this->assertSame(2, $copy->getSize());
    }

    public function test_unserializing_a_table_where_it_cannot_be_opened_says_why(): void
    {
        // Without natives in the payload the copy opens the runtime's table, which exists only inside askr.
        $payload = 'O:'.strlen(NativesTable::class).':"'.NativesTable::class.'":2:{s:4:"name";s:7:"example";s:9:"scanBatch";i:256;}';

        try {
            unserialize($payload);
            $this->fail('the table was reopened outside askr');
        } catch (RuntimeException $e) {
            $this->assertStringStartsWith('Table [example] was unserialized but cannot be opened again here: ', $e->getMessage());
            $this->assertStringContainsString('askr', $e->getPrevious()->getMessage());
        }

        try {
            unserialize('O:'.strlen(NativesTable::class).':"'.NativesTable::class.'":1:{s:4:"name";i:3;}');
            $this->fail('a malformed payload was accepted');
        } catch (\UnexpectedValueException $e) {
            $this->assertStringContainsString('holds its name', $e->getMessage());
        }
    }

    public function test_a_full_table_refuses_a_new_key_and_says_which_table(): void
    {
        $table = $this->table('small');
        $table->set('a', ['n' => 1]);
        $table->set('b', ['n' => 1]);

        $this->assertSame(2, $table->incr('b', 'n'), 'existing rows still work');

        foreach ([fn () => $table->set('c', ['n' => 1]), fn () => $table->incr('c', 'n')] as $call) {
            try {
                $call();
                $this->fail('a full table took a new key');
            } catch (RuntimeException $e) {
                $this->assertStringContainsString('Table [small] is full', $e->getMessage());
            }
        }

        $table->del('a');
        $this->assertTrue($table->set('c', ['n' => 1]), 'a freed row can be reused');
    }

    public function test_column_and_create_confirm_the_declared_shape(): void
    {
        $table = $this->table();

        $this->assertTrue($table->column('string', Table::TYPE_STRING, 10));
        $this->assertTrue($table->column('int', Table::TYPE_INT));
        $this->assertTrue($table->column('int', Table::TYPE_INT, 8));
        $this->assertTrue($table->create());
    }

    public function test_column_refuses_a_shape_the_table_was_not_declared_with(): void
    {
        $table = $this->table();

        foreach ([['other', Table::TYPE_INT, 0], ['string', Table::TYPE_STRING, 20], ['int', Table::TYPE_FLOAT, 0]] as [$name, $type, $size]) {
            try {
                $table->column($name, $type, $size);
                $this->fail("column({$name}) was accepted");
            } catch (LogicException $e) {
                $this->assertStringContainsString("Table [example] was created by askr from config/octane.php", $e->getMessage());
                $this->assertStringContainsString("column [{$name}]", $e->getMessage());
            }
        }
    }
}
