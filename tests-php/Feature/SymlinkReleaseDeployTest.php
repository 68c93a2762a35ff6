<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

/**
 * Symlink-release deploys (docs/lifecycle.md, laravel/octane#1004): the example app deployed as
 * current -> releases/1 (storage shared, as Envoyer and Deployer link it), started with
 * `php current/artisan octane:start --server=askr`; under load the link is switched to
 * releases/2 and `octane:reload` run. Every response comes from exactly one release, none
 * fails, and after the reload every worker serves release 2.
 */
class SymlinkReleaseDeployTest extends TestCase
{
    private string $deploy;

    protected function setUp(): void
    {
        AskrServer::skipUnlessRunnable();
        $this->deploy = sys_get_temp_dir().'/askr-deploy-'.bin2hex(random_bytes(5));
        $app = AskrServer::appPath();
        mkdir($this->deploy.'/shared', 0777, true);
        self::shell(['cp', '-a', $app.'/storage', $this->deploy.'/shared/storage']);
        @unlink($this->deploy.'/shared/storage/logs/octane-server-state.json');

        foreach ([1, 2] as $release) {
            $dir = $this->deploy."/releases/{$release}";
            mkdir($dir, 0777, true);
            foreach (['app', 'artisan', 'bootstrap', 'config', 'database', 'public', 'resources', 'routes', 'vendor', '.env', 'composer.json'] as $entry) {
                self::shell(['cp', '-a', "{$app}/{$entry}", "{$dir}/{$entry}"]);
            }
            symlink('../../shared/storage', "{$dir}/storage");
            // What tells the releases apart is code, loaded when a worker boots the app.
            file_put_contents("{$dir}/routes/web.php", "\nRoute::get('/release', fn () => ['release' => {$release}, 'slot' => getenv('ASKR_WORKER_SLOT'), 'base' => base_path()]);\n", FILE_APPEND);
        }

        symlink('releases/1', $this->deploy.'/current');
    }

    protected function tearDown(): void
    {
        if (isset($this->deploy) && is_dir($this->deploy)) {
            self::shell(['rm', '-rf', $this->deploy]);
        }
    }

    private static function shell(array $command): void
    {
        $process = new Process($command);
        $process->run();

        if (! $process->isSuccessful()) {
            throw new RuntimeException(implode(' ', $command).': '.$process->getErrorOutput());
        }
    }

    private function artisan(string ...$arguments): Process
    {
        // As a deploy script runs it: through the link, from the link's directory.
        return new Process(array_merge([(new PhpExecutableFinder)->find(), $this->deploy.'/current/artisan'], $arguments),
            $this->deploy.'/current', AskrServer::environment(['PWD' => $this->deploy.'/current']), null, null);
    }

    public function test_switching_the_link_and_reloading_under_load_serves_the_new_release_from_every_worker_with_no_failure(): void
    {
        $port = AskrServer::freePort();
        $server = $this->artisan('octane:start', '--server=askr', '--host=127.0.0.1', "--port={$port}",
            '--admin-port='.AskrServer::freePort(), '--workers=2', '--task-workers=0');
        $server->start();

        try {
            $url = "http://127.0.0.1:{$port}/release";
            $this->waitFor(fn () => @file_get_contents($url) !== false, 60, 'the server', $server);

            $responses = [];
            $failures = [];
            $reload = null;
            $switchedAt = null;
            $reloadedAt = null;
            $deadline = microtime(true) + 90;
            $started = microtime(true);
            $multi = curl_multi_init();
            $inFlight = 0;
            $add = static function () use ($multi, $url, &$inFlight): void {
                $handle = curl_init($url);
                // A new connection per request, so the kernel spreads them over both workers.
                curl_setopt_array($handle, [CURLOPT_RETURNTRANSFER => true, CURLOPT_FORBID_REUSE => true, CURLOPT_TIMEOUT => 20]);
                curl_multi_add_handle($multi, $handle);
                $inFlight++;
            };

            while (true) {
                while ($inFlight < 4) {
                    $add();
                }
                curl_multi_exec($multi, $running);
                curl_multi_select($multi, 0.05);
                while ($info = curl_multi_info_read($multi)) {
                    $handle = $info['handle'];
                    $status = curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
                    $body = json_decode((string) curl_multi_getcontent($handle), true);
                    if ($info['result'] !== CURLE_OK || $status !== 200 || ! in_array($body['release'] ?? null, [1, 2], true)) {
                        $failures[] = [curl_error($handle), $status, curl_multi_getcontent($handle)];
                    } else {
                        $responses[] = ['at' => microtime(true), 'release' => $body['release'], 'slot' => $body['slot']];
                    }
                    curl_multi_remove_handle($multi, $handle);
                    curl_close($handle);
                    $inFlight--;
                }

                $now = microtime(true);
                if ($switchedAt === null && $now - $started > 1.0) {
                    // The deploy: an atomic switch of the link (rename over it), then the reload.
                    symlink('releases/2', $this->deploy.'/current.next');
                    rename($this->deploy.'/current.next', $this->deploy.'/current');
                    $switchedAt = $now;
                    $reload = $this->artisan('octane:reload', '--server=askr');
                    $reload->start();
                }
                if ($reload !== null && $reloadedAt === null && ! $reload->isRunning()) {
                    $this->assertSame(0, $reload->getExitCode(), $reload->getOutput().$reload->getErrorOutput());
                }
                if ($reloadedAt === null && str_contains($server->getOutput(), 'reload complete')) {
                    $reloadedAt = $now;
                }
                // Done once 40 more responses have come in after the reload's settling window (the
                // same window the assertions below use: a fast machine gave 40 within its 50 ms).
                if ($reloadedAt !== null && count(array_filter($responses, fn ($r) => $r['at'] > $reloadedAt + 0.05)) >= 40) {
                    break;
                }
                if ($now > $deadline) {
                    $this->fail('the reload did not complete in time: '.$server->getOutput());
                }
            }
            curl_multi_close($multi);

            $this->assertSame([], $failures, 'no request fails during the deploy');
            $before = array_filter($responses, fn ($r) => $r['at'] < $switchedAt);
            $after = array_filter($responses, fn ($r) => $r['at'] > $reloadedAt + 0.05);
            $this->assertNotEmpty($before);
            $this->assertSame([1], array_values(array_unique(array_column($before, 'release'))), 'release 1 before the switch');
            $this->assertSame([2], array_values(array_unique(array_column($after, 'release'))), 'only release 2 after the reload');
            $slots = array_unique(array_column($after, 'slot'));
            sort($slots);
            $this->assertSame(['0', '1'], $slots, 'every worker serves release 2');
        } finally {
            $this->artisan('octane:stop', '--server=askr')->run();
            $server->wait();
        }
    }

    private function waitFor(callable $condition, float $seconds, string $what, Process $server): void
    {
        $deadline = microtime(true) + $seconds;
        while (! $condition()) {
            if (! $server->isRunning() || microtime(true) > $deadline) {
                $this->fail("waiting for {$what}: ".$server->getOutput().$server->getErrorOutput());
            }
            usleep(50_000);
        }
    }
}
