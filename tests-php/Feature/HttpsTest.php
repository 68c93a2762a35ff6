<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\PhpExecutableFinder;
use Symfony\Component\Process\Process;

/**
 * `octane:start --server=askr --https --http-redirect` on the example app: askr terminates TLS
 * (its development certificate, cached in a temporary XDG_CACHE_HOME), speaks HTTP/2 by ALPN,
 * Laravel sees a secure request, and plain HTTP on ASKR_HTTP_PORT is redirected.
 */
class HttpsTest extends TestCase
{
    /** curl's -w summary and body of one request. */
    private static function curl(string ...$arguments): array
    {
        $process = new Process(array_merge(['curl', '--silent', '--max-time', '10', '-w', "\n%{http_code} %{http_version} %{redirect_url}"], $arguments));
        $process->run();
        $lines = explode("\n", $process->getOutput());
        [$code, $version, $location] = array_pad(explode(' ', (string) array_pop($lines), 3), 3, '');

        return ['status' => (int) $code, 'version' => $version, 'location' => $location, 'body' => implode("\n", $lines)];
    }

    public function test_https_serves_tls_and_http2_laravel_sees_a_secure_request_and_plain_http_is_redirected(): void
    {
        AskrServer::skipUnlessRunnable();

        $port = AskrServer::freePort();
        $httpPort = AskrServer::freePort();
        $cache = sys_get_temp_dir().'/askr-https-test-'.bin2hex(random_bytes(4));
        mkdir($cache);

        $server = new Process([
            (new PhpExecutableFinder)->find(), 'artisan', 'octane:start', '--server=askr', '--host=127.0.0.1',
            "--port={$port}", '--admin-port='.AskrServer::freePort(), '--workers=1', '--task-workers=0', '--https', '--http-redirect',
        ], AskrServer::appPath(), AskrServer::environment(['ASKR_HTTP_PORT' => (string) $httpPort, 'XDG_CACHE_HOME' => $cache]), null, null);
        $server->start();

        try {
            $deadline = microtime(true) + 60;

            do {
                if (! $server->isRunning()) {
                    throw new RuntimeException("octane:start --https exited:\n".$server->getOutput().$server->getErrorOutput());
                }

                usleep(100_000);
                $secure = self::curl('-k', '--http2', "https://127.0.0.1:{$port}/request-info?x=1");
            } while ($secure['status'] !== 200 && microtime(true) < $deadline);

            $this->assertSame(200, $secure['status'], $server->getOutput().$server->getErrorOutput());
            $this->assertSame('2', $secure['version']);
            $info = json_decode($secure['body'], true);
            $this->assertTrue($info['secure']);
            $this->assertSame("https://127.0.0.1:{$port}/request-info?x=1", $info['url']);
            $this->assertFileExists("{$cache}/askr/dev-certificate/certificate.pem");

            $plain = self::curl("http://127.0.0.1:{$httpPort}/request-info?x=1");
            $this->assertSame(308, $plain['status']);
            $this->assertSame("https://127.0.0.1:{$port}/request-info?x=1", $plain['location']);
        } finally {
            AskrServer::artisanWith(['XDG_CACHE_HOME' => $cache], 'octane:stop', '--server=askr');
            for ($deadline = microtime(true) + 30; $server->isRunning() && microtime(true) < $deadline;) {
                usleep(50_000);
            }

            $server->stop(1);
            exec('rm -rf '.escapeshellarg($cache));
        }
    }
}
