<?php

namespace Askr\Octane\Tests\Unit\Tables;

use Askr\Octane\Tables\Table;
use Askr\Octane\Tests\Support\FakeTableNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Support\Carbon;
use Illuminate\Support\Str;
use Laravel\Octane\Cache\OctaneStore;
use PHPUnit\Framework\TestCase;

/**
 * Octane's own OctaneStore (the `octane` cache store) over askr's table: the scenarios of
 * Octane's tests/OctaneStoreTest.php, with the cache table askr creates as `octane_cache`.
 */
class OctaneStoreOverAskrTableTest extends TestCase
{
    use RequiresOctane;

    private Table $table;

    private OctaneStore $store;

    private int $errorReporting;

    protected function setUp(): void
    {
        $this->requireOctane();

        // Debian's laravel/serializable-closure 1.0 creates a dynamic property (deprecated in PHP 8.2) when it serializes.
        $this->errorReporting = error_reporting(E_ALL & ~E_DEPRECATED);

        if (! class_exists(\Laravel\SerializableClosure\SerializableClosure::class)) {
            $this->markTestSkipped('laravel/serializable-closure is not installed (OctaneStore::interval() needs it).');
        }

        $this->table = Table::open('octane_cache', FakeTableNatives::withCacheTable());
        $this->store = new OctaneStore($this->table);
    }

    protected function tearDown(): void
    {
        error_reporting($this->errorReporting);
        Carbon::setTestNow();
    }

    public function test_it_reads_an_item_written_to_the_table(): void
    {
        $this->table->set('greeting', ['value' => serialize('hello'), 'expiration' => time() + 100]);

        $this->assertSame('hello', $this->store->get('greeting'));
    }

    public function test_a_missing_item_is_null(): void
    {
        $this->assertNull($this->store->get('nothing-here'));
    }

    public function test_an_expired_item_is_null(): void
    {
        $this->table->set('old', ['value' => serialize('stale'), 'expiration' => time() - 100]);

        $this->assertNull($this->store->get('old'));
    }

    public function test_put_with_expiry_and_forever(): void
    {
        $this->store->put('short', ['a' => 1], 5);
        $this->store->forever('long', 42);

        $this->assertSame(['a' => 1], $this->store->get('short'));
        $this->assertSame(42, $this->store->get('long'));

        Carbon::setTestNow(Carbon::now()->addSeconds(6));
        $this->assertNull($this->store->get('short'), 'expired after its seconds');
        $this->assertSame(42, $this->store->get('long'));
    }

    public function test_many_and_put_many(): void
    {
        $this->assertTrue($this->store->putMany(['one' => 1, 'two' => 'zwei'], 5));

        $this->assertSame(['one' => 1, 'two' => 'zwei', 'three' => null], $this->store->many(['one', 'two', 'three']));
    }

    public function test_increment_and_decrement(): void
    {
        $this->assertSame(1, $this->store->increment('hits'));
        $this->assertSame(1, $this->store->get('hits'));

        $this->store->increment('hits', 4);
        $this->assertSame(5, $this->store->get('hits'));

        $this->store->decrement('hits', 3);
        $this->assertSame(2, $this->store->get('hits'));
    }

    public function test_a_pending_interval_is_resolved_on_get(): void
    {
        $this->store->interval('computed', fn () => 'value from resolver', 1);

        $this->assertSame('value from resolver', $this->store->get('computed'));
    }

    public function test_intervals_are_refreshed_when_due(): void
    {
        $this->store->interval('random', fn () => Str::random(10), 1);

        $this->assertIsString($first = $this->store->get('random'));

        Carbon::setTestNow(Carbon::now()->addMinute());
        $this->store->refreshIntervalCaches();

        $this->assertIsString($second = $this->store->get('random'));
        $this->assertNotSame($first, $second);
        $this->assertSame($second, $this->store->get('random'), 'the refreshed value is stored, not recomputed');
    }

    public function test_forget_and_flush(): void
    {
        $this->store->put('a', 'x', 5);
        $this->assertTrue($this->store->forget('a'));
        $this->assertNull($this->store->get('a'));

        foreach (range(1, 50) as $i) {
            $this->store->put("item-{$i}", $i, 5);
        }

        $this->assertTrue($this->store->flush());
        $this->assertNull($this->store->get('item-1'));
        $this->assertSame(0, $this->table->count());
    }

    public function test_flush_keeps_intervals(): void
    {
        $this->store->interval('kept', fn () => 'still here', 1);

        $this->assertTrue($this->store->flush());

        $this->assertSame('still here', $this->store->get('kept'));
        $this->assertTrue($this->table->exists('interval-kept'));
    }
}
