<?php

namespace Askr\Octane\Tests\Feature;

use Askr\Octane\Tests\Support\AskrServer;
use Askr\Octane\Tests\Support\Http;
use CURLFile;
use PHPUnit\Framework\TestCase;

/**
 * The example app served by askr with two workers: routes, errors, cookies, uploads,
 * streams and file downloads, over real HTTP.
 */
class ServesTheExampleAppTest extends TestCase
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

    private function url(string $path): string
    {
        return self::$server->url($path);
    }

    public function test_the_app_runs_on_the_octane_source_under_test(): void
    {
        $source = Http::json(self::$server->url('/octane-source'));

        $this->assertSame(realpath(ASKR_TESTS_OCTANE_PATH), realpath($source['path']), 'OCTANE_PATH chooses the Octane of the app too');
        $this->assertSame(class_exists(\Laravel\Octane\FrankenPhp\FrankenPhpClient::class), $source['frankenphp'], 'the same Octane version as this PHPUnit run');
    }

    public function test_a_json_route_through_the_web_middleware_group_answers_json(): void
    {
        $response = Http::get($this->url('/json'));

        $this->assertSame(200, $response['status']);
        $this->assertStringStartsWith('application/json', $response['headers']['content-type'][0]);
        $this->assertSame(['hello' => 'world'], json_decode($response['body'], true));
        $this->assertNotEmpty($response['headers']['set-cookie'] ?? [], 'the web group starts a session');
    }

    public function test_invalid_input_is_answered_422_with_the_validation_errors_as_json(): void
    {
        $response = Http::request('POST', $this->url('/api/validate'), [
            'Accept' => 'application/json',
            'Content-Type' => 'application/json',
        ], json_encode(['email' => 'not-an-email', 'age' => 12]));

        $this->assertSame(422, $response['status']);
        $errors = json_decode($response['body'], true)['errors'];
        $this->assertArrayHasKey('email', $errors);
        $this->assertArrayHasKey('age', $errors);
    }

    public function test_valid_json_input_reaches_the_route(): void
    {
        $response = Http::request('POST', $this->url('/api/validate'), [
            'Accept' => 'application/json',
            'Content-Type' => 'application/json',
        ], json_encode(['email' => 'ada@example.test', 'age' => 36]));

        $this->assertSame(200, $response['status']);
        $this->assertSame(['email' => 'ada@example.test', 'age' => 36], json_decode($response['body'], true)['valid']);
    }

    public function test_an_unknown_route_is_laravels_404_page(): void
    {
        $response = Http::get($this->url('/no/such/page'));

        $this->assertSame(404, $response['status']);
        $this->assertStringContainsString('Not Found', $response['body']);
    }

    public function test_laravels_own_404_and_405_pages_get_php_fpms_default_content_type(): void
    {
        // Laravel sets no Content-Type on them; php-fpm would send default_mimetype and default_charset.
        $notFound = Http::get($this->url('/no/such/page'));
        $this->assertSame(404, $notFound['status']);
        $this->assertSame(['text/html; charset=UTF-8'], $notFound['headers']['content-type']);

        $notAllowed = Http::request('DELETE', $this->url('/json'));
        $this->assertSame(405, $notAllowed['status']);
        $this->assertSame(['text/html; charset=UTF-8'], $notAllowed['headers']['content-type']);

        // An app's own Content-Type is kept.
        $this->assertSame(['application/json'], Http::get($this->url('/json'))['headers']['content-type']);
    }

    public function test_head_announces_the_length_get_would_send_and_sends_no_body(): void
    {
        Http::get($this->url('/download')); // creates the file
        $head = Http::request('HEAD', $this->url('/download'));

        $this->assertSame(200, $head['status']);
        $this->assertSame(['589824'], $head['headers']['content-length']);
        $this->assertSame('', $head['body']);

        // Symfony empties a HEAD answer's body and keeps no length: none is announced rather than a false 0.
        $json = Http::request('HEAD', $this->url('/json'));
        $this->assertSame(200, $json['status']);
        $this->assertNotSame(['0'], $json['headers']['content-length'] ?? null);
    }

    public function test_an_exception_is_laravels_500_page_without_its_message(): void
    {
        $response = Http::get($this->url('/boom'));

        $this->assertSame(500, $response['status']);
        $this->assertStringContainsString('Server Error', $response['body']);
        $this->assertStringNotContainsString('this message must not reach the client', $response['body']);

        $this->assertSame(200, Http::get($this->url('/json'))['status'], 'the worker goes on after the exception');
    }

    public function test_a_post_without_csrf_token_is_refused_with_419(): void
    {
        $this->assertSame(419, Http::request('POST', $this->url('/csrf-protected'), [], '')['status']);
    }

    public function test_echoed_output_comes_before_the_response_body(): void
    {
        $this->assertSame('echoed-returned', Http::get($this->url('/echo'))['body']);
    }

    public function test_query_method_and_client_address_reach_the_request(): void
    {
        $info = Http::json($this->url('/request-info?tags[]=a&tags[]=b&q=x%20y'));

        $this->assertSame('GET', $info['method']);
        $this->assertFalse($info['secure']);
        $this->assertSame('127.0.0.1', $info['ip']);
        $this->assertSame(['tags' => ['a', 'b'], 'q' => 'x y'], $info['query']);
    }

    public function test_a_cookie_set_by_one_response_is_read_by_the_next_request(): void
    {
        $set = Http::get($this->url('/cookies/set?value=ginger'));
        $jar = Http::cookies($set);

        $this->assertArrayHasKey('flavour', $jar);
        $this->assertStringNotContainsString('ginger', $jar['flavour'], 'Laravel encrypts the cookie');

        $read = Http::json($this->url('/cookies/read'), Http::cookieHeader($jar + ['plain' => 'raw%20value']));

        $this->assertSame('ginger', $read['flavour']);
        $this->assertSame('raw value', $read['plain']);
    }

    public function test_an_uploaded_file_can_be_validated_stored_and_moved(): void
    {
        $contents = random_bytes(150_000)."\r\n--not-a-boundary\r\n";
        $document = tempnam(sys_get_temp_dir(), 'askr-upload-test-');
        file_put_contents($document, $contents);
        $photo = tempnam(sys_get_temp_dir(), 'askr-upload-test-');
        file_put_contents($photo, 'photo bytes');

        try {
            $response = Http::request('POST', $this->url('/upload'), ['Accept' => 'application/json'], [
                'title' => 'Quarterly report',
                'document' => new CURLFile($document, 'application/pdf', 'report.pdf'),
                'photos[0]' => new CURLFile($photo, 'image/png', 'a.png'),
                'photos[1]' => new CURLFile($photo, 'image/png', 'b.png'),
                'extra' => new CURLFile($photo, 'text/plain', 'extra.txt'),
            ]);
        } finally {
            unlink($document);
            unlink($photo);
        }

        $this->assertSame(200, $response['status'], $response['body']);
        $result = json_decode($response['body'], true);

        $this->assertSame('report.pdf', $result['name']);
        $this->assertSame('application/pdf', $result['mime']);
        $this->assertSame(strlen($contents), $result['size']);
        $this->assertSame(hash('sha256', $contents), $result['sha256']);
        $this->assertSame(hash('sha256', $contents), $result['moved_sha256']);
        $this->assertSame(2, $result['photos']);
        $this->assertSame('Quarterly report', $result['title']);

        // The upload nobody moved must not outlive its request.
        $temporary = $result['extra_temp_path'];
        $this->assertNotEmpty($temporary);
        self::$server->waitUntil(fn () => ! file_exists($temporary), 5, "{$temporary} to be deleted");
        $this->assertFileDoesNotExist($temporary);
    }

    public function test_a_streamed_response_delivers_its_first_chunk_before_the_last_is_produced(): void
    {
        $gate = bin2hex(random_bytes(8));
        $gateFile = AskrServer::appPath().'/storage/app/gates/'.$gate;
        @mkdir(dirname($gateFile), 0777, true);

        $received = '';
        $curl = curl_init($this->url('/stream?gate='.$gate));
        curl_setopt_array($curl, [
            CURLOPT_TIMEOUT => 20,
            CURLOPT_WRITEFUNCTION => function ($curl, string $data) use (&$received) {
                $received .= $data;

                return strlen($data);
            },
        ]);

        $multi = curl_multi_init();
        curl_multi_add_handle($multi, $curl);
        $deadline = microtime(true) + 15;
        $gateOpened = false;

        try {
            do {
                curl_multi_exec($multi, $running);
                curl_multi_select($multi, 0.05);

                if (! $gateOpened && str_contains($received, "first\n")) {
                    $this->assertStringNotContainsString('last', $received, 'the last chunk cannot exist before the gate opens');
                    touch($gateFile);
                    $gateOpened = true;
                }
            } while ($running && microtime(true) < $deadline);

            $this->assertTrue($gateOpened, "The first chunk did not arrive on its own; received: {$received}");
            $this->assertSame(200, curl_getinfo($curl, CURLINFO_RESPONSE_CODE));
            $this->assertSame("first\ngate opened\nlast\n", $received);
        } finally {
            curl_multi_remove_handle($multi, $curl);
            curl_close($curl);
            curl_multi_close($multi);
            @unlink($gateFile);
        }
    }

    public function test_a_file_download_sends_the_whole_file(): void
    {
        $response = Http::get($this->url('/download'));
        $expected = implode('', array_map(fn ($i) => sprintf("%08d\n", $i), range(0, 65535)));

        $this->assertSame(200, $response['status']);
        $this->assertSame((string) strlen($expected), $response['headers']['content-length'][0]);
        $this->assertSame(hash('sha256', $expected), hash('sha256', $response['body']));
        $this->assertStringContainsString('attachment; filename=numbers.txt', $response['headers']['content-disposition'][0]);
    }

    public function test_a_file_download_honours_a_byte_range(): void
    {
        Http::get($this->url('/download')); // creates the file
        $response = Http::get($this->url('/download'), ['Range' => 'bytes=90-179']);

        $this->assertSame(206, $response['status']);
        $this->assertSame('bytes 90-179/589824', $response['headers']['content-range'][0]);
        $this->assertSame('90', $response['headers']['content-length'][0]);
        $this->assertSame("00000010\n00000011\n00000012\n00000013\n00000014\n00000015\n00000016\n00000017\n00000018\n00000019\n", $response['body']);
    }

    public function test_an_unsatisfiable_range_is_answered_416(): void
    {
        Http::get($this->url('/download'));

        $this->assertSame(416, Http::get($this->url('/download'), ['Range' => 'bytes=900000-900010'])['status']);
    }

    public function test_two_workers_serve_requests(): void
    {
        $pids = [];

        // Fresh connections (one curl handle per request) spread over both SO_REUSEPORT sockets.
        $deadline = microtime(true) + 10;
        while (count($pids) < 2 && microtime(true) < $deadline) {
            $pids[Http::json($this->url('/pid'))['pid']] = true;
        }

        $this->assertCount(2, $pids, 'requests never reached a second worker');
    }
}
