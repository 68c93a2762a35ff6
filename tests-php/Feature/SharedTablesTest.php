<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;
use RuntimeException;

/**
 * Octane::table() and Cache::store('octane') served by askr with two workers: what one worker
 * writes, the other reads at once, and increments from both are atomic. The example app's
 * routes are in examples/laravel/app/Http/Controllers/SharedStateController.php.
 */
class SharedTablesTest extends TestCase
{
    private static ?AskrServer $server = null;

    protected function setUp(): void
    {
        self::$server ??= AskrServer::start(workers: 2);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    private function url(string $path, array $query = []): string
    {
        return self::$server->url('/api'.$path.($query ? '?'.http_build_query($query) : ''));
    }

    private function key(string $name): string
    {
        return $name.'-'.bin2hex(random_bytes(4));
    }

    /**
     * GETs $path until a worker other than $pid answers (each request is a new connection,
     * which the kernel spreads over the workers' sockets), and returns that answer. Only for
     * reads: the request may be repeated.
     */
    private function fromAnotherWorker(int $pid, string $path, array $query): array
    {
        for ($attempt = 0; $attempt < 200; $attempt++) {
            $answer = Http::json($this->url($path, $query));

            if ($answer['pid'] !== $pid) {
                return $answer;
            }
        }

        throw new RuntimeException("No worker other than {$pid} answered {$path} in 200 requests.");
    }

    public function test_a_row_written_by_one_worker_is_read_by_the_other_at_once(): void
    {
        $key = $this->key('page');

        $written = Http::json($this->url('/tables/visits/write', ['key' => $key, 'page' => '/pricing', 'count' => 41]));
        $this->assertTrue($written['set']);

        $read = $this->fromAnotherWorker($written['pid'], '/tables/visits/read', ['key' => $key]);

        $this->assertNotSame($written['pid'], $read['pid']);
        $this->assertSame('/pricing', $read['row']['page']);
        $this->assertSame(41, $read['row']['count']);
        $this->assertIsFloat($read['row']['last_seen']);
        $this->assertSame(41, $read['count']);
        $this->assertTrue($read['exists']);

        // And back: the second worker increments, the first sees it.
        $hit = Http::json($this->url('/tables/visits/incr', ['key' => $key]));
        $this->assertSame(42, $hit['count']);

        $this->assertSame(42, $this->fromAnotherWorker($hit['pid'], '/tables/visits/read', ['key' => $key])['count']);

        $deleted = Http::json($this->url('/tables/visits/forget', ['key' => $key]));
        $this->assertTrue($deleted['deleted']);
        $this->assertFalse($this->fromAnotherWorker($deleted['pid'], '/tables/visits/read', ['key' => $key])['row']);
    }

    public function test_octane_table_is_the_runtime_table_whose_row_operations_are_internal_methods(): void
    {
        $answer = Http::json($this->url('/tables/visits/class'));

        $this->assertSame('Askr\Octane\Tables\RuntimeTable', $answer['class']);
        $this->assertSame(['Askr\Octane\Tables\Table', 'Swoole\Table', 'Ephpm\Octane\Table'], $answer['parents']);
        $this->assertSame([
            'get' => true, 'set' => true, 'incr' => true, 'decr' => true, 'exists' => true,
            'exist' => true, 'del' => true, 'delete' => true, 'count' => false, 'column' => false,
        ], $answer['internal']);
    }

    public function test_incr_on_a_string_or_missing_column_throws_the_natives_value_error(): void
    {
        foreach ([
            'page' => 'Ephpm\Octane\table_incr(): Argument #3 ($column) must be an int or float column, [page] of table [visits] is a string column',
            'nope' => 'Ephpm\Octane\table_incr(): Argument #3 ($column) must be a column of table [visits], [nope] is not',
        ] as $column => $message) {
            $answer = Http::get($this->url('/tables/visits/incr', ['key' => $this->key('column'), 'column' => $column]));

            $this->assertSame(500, $answer['status']);
            $this->assertSame(['error' => 'ValueError', 'message' => $message], array_intersect_key(json_decode($answer['body'], true), ['error' => 1, 'message' => 1]));
        }
    }

    public function test_concurrent_increments_from_both_workers_are_all_counted(): void
    {
        $key = $this->key('counter');
        $total = 300;
        $parallel = 24;

        $answers = $this->parallelGets(array_fill(0, $total, $this->url('/tables/visits/incr', ['key' => $key])), $parallel);

        $counts = [];
        $pids = [];

        foreach ($answers as $answer) {
            $this->assertSame(200, $answer['status'], $answer['body']);
            $decoded = json_decode($answer['body'], true);
            $counts[] = $decoded['count'];
            $pids[$decoded['pid']] = true;
        }

        $this->assertCount(2, $pids, 'both workers took increments');

        sort($counts);
        $this->assertSame(range(1, $total), $counts, 'every increment returned a distinct value: none was lost or doubled');
        $this->assertSame($total, Http::json($this->url('/tables/visits/read', ['key' => $key]))['count']);
    }

    public function test_iterating_a_table_sees_the_rows_of_every_worker(): void
    {
        $keys = [$this->key('iter-a'), $this->key('iter-b'), $this->key('iter-c')];

        foreach ($keys as $i => $key) {
            Http::json($this->url('/tables/visits/hit', ['key' => $key, 'by' => $i + 1]));
        }

        $all = Http::json($this->url('/tables/visits'));

        foreach ($keys as $i => $key) {
            $this->assertArrayHasKey($key, $all['rows']);
            $this->assertSame($i + 1, $all['rows'][$key]['count']);
            $this->assertSame($key, $all['rows'][$key]['page']);
        }

        $this->assertSame(count($all['rows']), $all['count']);
    }

    public function test_the_octane_cache_store_is_shared_by_the_workers(): void
    {
        $key = $this->key('cache');

        $put = Http::json($this->url('/cache/put', ['key' => $key, 'value' => 'shared value', 'ttl' => 60]));
        $this->assertTrue($put['put']);

        $got = $this->fromAnotherWorker($put['pid'], '/cache/get', ['key' => $key]);
        $this->assertSame('shared value', $got['value']);

        $counter = $this->key('cache-counter');
        $this->assertSame(1, Http::json($this->url('/cache/increment', ['key' => $counter]))['value']);
        $incremented = Http::json($this->url('/cache/increment', ['key' => $counter, 'by' => 9]));
        $this->assertSame(10, $incremented['value']);
        $this->assertSame(10, $this->fromAnotherWorker($incremented['pid'], '/cache/get', ['key' => $counter])['value']);
        $this->assertSame(7, Http::json($this->url('/cache/decrement', ['key' => $counter, 'by' => 3]))['value']);

        $forever = $this->key('cache-forever');
        Http::json($this->url('/cache/forever', ['key' => $forever, 'value' => 'kept']));

        $many = Http::json($this->url('/cache/many', ['keys' => implode(',', [$key, $counter, $forever, 'never-set'])]));
        $this->assertSame([$key => 'shared value', $counter => 7, $forever => 'kept', 'never-set' => null], $many['values']);

        $forgotten = Http::json($this->url('/cache/forget', ['key' => $key]));
        $this->assertTrue($forgotten['forgotten']);
        $this->assertNull($this->fromAnotherWorker($forgotten['pid'], '/cache/get', ['key' => $key])['value']);
    }

    public function test_a_cache_entry_expires(): void
    {
        $key = $this->key('cache-ttl');

        Http::json($this->url('/cache/put', ['key' => $key, 'value' => 'brief', 'ttl' => 1]));
        $this->assertSame('brief', Http::json($this->url('/cache/get', ['key' => $key]))['value']);

        usleep(2_100_000);

        $this->assertNull(Http::json($this->url('/cache/get', ['key' => $key]))['value']);
    }

    public function test_a_full_table_answers_a_clear_error(): void
    {
        $this->assertSame(0, Http::json($this->url('/tables/limited/clear'))['count']);

        foreach (['one', 'two', 'three'] as $i => $key) {
            $this->assertSame($i + 1, Http::json($this->url('/tables/limited/set', ['key' => $key, 'name' => $key]))['count']);
        }

        $full = Http::get($this->url('/tables/limited/set', ['key' => 'four', 'name' => 'four']));

        $this->assertSame(500, $full['status']);
        $error = json_decode($full['body'], true);
        $this->assertSame('RuntimeException', $error['error']);
        $this->assertStringContainsString('Table [limited] is full: all 3 rows are in use', $error['message']);

        // Existing rows can still be written.
        $this->assertSame(200, Http::get($this->url('/tables/limited/set', ['key' => 'two', 'name' => 'deux']))['status']);
        $this->assertSame(0, Http::json($this->url('/tables/limited/clear'))['count']);
    }

    public function test_a_value_longer_than_its_column_throws_octanes_exception(): void
    {
        $answer = Http::get($this->url('/tables/limited/set', ['key' => $this->key('long'), 'name' => 'elevenbytes']));

        $this->assertSame(500, $answer['status']);
        $this->assertSame([
            'error' => 'Laravel\Octane\Exceptions\ValueTooLargeForColumnException',
            'message' => 'Value [elevenbytes...] is too large for [name] column.',
        ], array_intersect_key(json_decode($answer['body'], true), ['error' => 1, 'message' => 1]));
    }

    public function test_a_key_longer_than_63_bytes_is_rejected_clearly(): void
    {
        $this->assertSame(200, Http::get($this->url('/tables/visits/write', ['key' => str_repeat('k', 63)]))['status']);

        $answer = Http::get($this->url('/tables/visits/write', ['key' => str_repeat('k', 64)]));

        $this->assertSame(500, $answer['status']);
        $error = json_decode($answer['body'], true);
        $this->assertSame('Askr\Octane\Tables\InvalidKeyException', $error['error']);
        $this->assertStringContainsString('is 64 bytes: keys of table [visits] must be 1 to 63 bytes', $error['message']);
    }

    /**
     * GETs every URL, $parallel at a time, each on a new connection (so both workers get some).
     *
     * @param  list<string>  $urls
     * @return list<array{status: int, body: string}>
     */
    private function parallelGets(array $urls, int $parallel): array
    {
        $multi = curl_multi_init();
        $pending = $urls;
        $running = [];
        $answers = [];

        $add = function () use (&$pending, &$running, $multi) {
            $url = array_shift($pending);
            $curl = curl_init($url);
            curl_setopt_array($curl, [
                CURLOPT_RETURNTRANSFER => true,
                CURLOPT_FORBID_REUSE => true,
                CURLOPT_FRESH_CONNECT => true,
                CURLOPT_TIMEOUT => 30,
                CURLOPT_HTTPHEADER => ['Accept: application/json'],
            ]);
            curl_multi_add_handle($multi, $curl);
            $running[(int) $curl] = $curl;
        };

        while ($pending !== [] && count($running) < $parallel) {
            $add();
        }

        do {
            curl_multi_exec($multi, $active);
            curl_multi_select($multi, 0.1);

            while ($done = curl_multi_info_read($multi)) {
                $curl = $done['handle'];
                $answers[] = [
                    'status' => curl_getinfo($curl, CURLINFO_RESPONSE_CODE),
                    'body' => (string) curl_multi_getcontent($curl),
                ];
                curl_multi_remove_handle($multi, $curl);
                unset($running[(int) $curl]);
                curl_close($curl);

                if ($pending !== []) {
                    $add();
                }
            }
        } while ($running !== []);

        curl_multi_close($multi);

        return $answers;
    }
}
