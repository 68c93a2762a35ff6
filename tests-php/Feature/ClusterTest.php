<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use PHPUnit\Framework\TestCase;

/**
 * The example Laravel app started three times with `php artisan octane:start --server=askr`, as
 * three cluster nodes on loopback (different ports): Octane::table() holds the same data on
 * all of them (docs/cluster.md of the askr repository).
 */
class ClusterTest extends TestCase
{
    /** @var list<AskrServer> */
    private static array $nodes = [];

    protected function setUp(): void
    {
        if (self::$nodes) {
            return;
        }

        $secret = 'php-cluster-test-'.bin2hex(random_bytes(8));
        $ports = [AskrServer::freePort(), AskrServer::freePort(), AskrServer::freePort()];
        $seed = "127.0.0.1:{$ports[0]}";

        foreach ($ports as $i => $clusterPort) {
            self::$nodes[] = AskrServer::start(workers: 1, options: ['--task-workers=0'], env: [
                'OCTANE_STATE_FILE' => sys_get_temp_dir()."/askr-cluster-test-{$clusterPort}.json",
                'ASKR_CLUSTER_PORT' => (string) $clusterPort,
                'ASKR_CLUSTER_HOST' => '127.0.0.1',
                'ASKR_CLUSTER_SEEDS' => $seed,
                'ASKR_CLUSTER_SECRET' => $secret,
            ]);
        }
    }

    public static function tearDownAfterClass(): void
    {
        foreach (self::$nodes as $node) {
            $node->stop();
            @unlink($node->env['OCTANE_STATE_FILE']);
        }
        self::$nodes = [];
    }

    private function get(int $node, string $path, array $query = []): array
    {
        return Http::json(self::$nodes[$node]->url('/api'.$path.'?'.http_build_query($query)));
    }

    /** Polls every node until $check holds for all of them, or fails after $seconds. */
    private function eventuallyOnAll(callable $check, float $seconds, string $what): void
    {
        $deadline = microtime(true) + $seconds;
        $last = [];

        while (microtime(true) < $deadline) {
            $last = array_map($check, array_keys(self::$nodes));

            if (! in_array(false, $last, true)) {
                $this->addToAssertionCount(1);

                return;
            }
            usleep(50_000);
        }

        $this->fail("Not every node showed {$what} within {$seconds} s: ".json_encode($last));
    }

    public function test_a_row_written_on_one_node_is_read_on_the_other_two(): void
    {
        $key = 'cluster-'.bin2hex(random_bytes(4));
        $this->get(0, '/tables/visits/write', ['key' => $key, 'page' => '/from-node-1', 'count' => 5]);

        $this->eventuallyOnAll(
            fn (int $node) => ($this->get($node, '/tables/visits/read', ['key' => $key])['row']['page'] ?? null) === '/from-node-1',
            10,
            'the row written on node 1'
        );
    }

    public function test_increments_on_all_three_nodes_add_up_everywhere(): void
    {
        $key = 'cluster-count-'.bin2hex(random_bytes(4));

        foreach ([0, 1, 2] as $node) {
            for ($i = 0; $i < 10; $i++) {
                $this->get($node, '/tables/visits/incr', ['key' => $key]);
            }
        }

        $this->eventuallyOnAll(
            fn (int $node) => $this->get($node, '/tables/visits/read', ['key' => $key])['count'] === 30,
            15,
            'a count of 30'
        );
    }
}
