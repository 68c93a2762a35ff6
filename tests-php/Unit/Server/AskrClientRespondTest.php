<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\AskrClient;
use Askr\Octane\Server\TemporaryUploads;
use Askr\Octane\Tests\Support\Envelopes;
use Askr\Octane\Tests\Support\FakeNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Config\Repository;
use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use Laravel\Octane\OctaneResponse;
use Laravel\Octane\RequestContext;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\HttpFoundation\BinaryFileResponse;
use Symfony\Component\HttpFoundation\Cookie;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpFoundation\StreamedResponse;

class AskrClientRespondTest extends TestCase
{
    use RequiresOctane;

    private FakeNatives $natives;

    private AskrClient $client;

    private RequestContext $context;

    /** @var list<string> */
    private array $files = [];

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->natives = new FakeNatives;
        $this->natives->envelopes[] = Envelopes::make('GET', '/');
        $this->client = new AskrClient($this->natives, new TemporaryUploads(sys_get_temp_dir()));
        $this->context = $this->client->nextRequest();
        $this->natives->calls = [];
    }

    protected function tearDown(): void
    {
        foreach ($this->files as $file) {
            @unlink($file);
        }
    }

    private function file(string $contents): string
    {
        $this->files[] = $path = tempnam(sys_get_temp_dir(), 'askr-test-');
        file_put_contents($path, $contents);

        return $path;
    }

    private function prepared(Response $response, array $headers = [], string $method = 'GET'): Response
    {
        return $response->prepare(Request::createFromBase(\Symfony\Component\HttpFoundation\Request::create('/', $method, [], [], [], array_combine(
            array_map(fn ($name) => 'HTTP_'.strtoupper(str_replace('-', '_', $name)), array_keys($headers)),
            array_values($headers)
        ) ?: [])));
    }

    public function test_status_headers_and_body_are_sent_in_one_call(): void
    {
        $response = new Response('{"ok":true}', 201, ['Content-Type' => 'application/json', 'X-Request-Id' => 'r-1']);

        $this->client->respond($this->context, new OctaneResponse($response));

        $sent = $this->natives->only('sendResponse');
        $this->assertSame(201, $sent['status']);
        $this->assertSame('{"ok":true}', $sent['body']);
        $this->assertFalse($sent['stream']);
        $this->assertSame(['application/json'], $sent['headers']['Content-Type']);
        $this->assertSame(['r-1'], $sent['headers']['X-Request-Id']);
        $this->assertSame(['sendResponse'], $this->natives->callNames());
    }

    public function test_repeated_headers_keep_every_value(): void
    {
        $response = new Response('');
        $response->headers->set('Link', ['</a>; rel=preload', '</b>; rel=preload']);

        $this->client->respond($this->context, new OctaneResponse($response));

        $this->assertSame(['</a>; rel=preload', '</b>; rel=preload'], $this->natives->only('sendResponse')['headers']['Link']);
    }

    public function test_each_cookie_is_its_own_set_cookie_line(): void
    {
        $response = new Response('');
        $response->headers->setCookie(Cookie::create('flavour', 'oat meal', 0, '/', null, true, true, false, 'lax'));
        $response->headers->setCookie(Cookie::create('gone', null));

        $this->client->respond($this->context, new OctaneResponse($response));

        $cookies = $this->natives->only('sendResponse')['headers']['Set-Cookie'];
        $this->assertCount(2, $cookies);
        $this->assertSame('flavour=oat%20meal; path=/; secure; httponly; samesite=lax', $cookies[0]);
        $this->assertStringStartsWith('gone=deleted; expires=', $cookies[1]);
    }

    public function test_the_echoed_output_buffer_goes_before_the_body(): void
    {
        $this->client->respond($this->context, new OctaneResponse(new Response('body'), 'echoed-'));

        $this->assertSame('echoed-body', $this->natives->only('sendResponse')['body']);
    }

    public function test_a_content_length_is_corrected_for_the_output_buffer(): void
    {
        $response = new Response('body', 200, ['Content-Length' => '4']);

        $this->client->respond($this->context, new OctaneResponse($response, 'echo'));

        $sent = $this->natives->only('sendResponse');
        $this->assertSame('echobody', $sent['body']);
        $this->assertSame('8', $sent['headers']['Content-Length']);
    }

    public function test_a_streamed_response_is_sent_chunk_by_chunk_after_its_headers(): void
    {
        $response = new StreamedResponse(function () {
            echo 'one';
            flush();
            echo 'two';
            echo '';
            echo 'three';
        }, 200, ['Content-Type' => 'text/plain']);

        $level = ob_get_level();
        $this->client->respond($this->context, new OctaneResponse($response, 'echoed-'));

        $this->assertSame($level, ob_get_level());
        $this->assertSame(['sendResponse', 'sendChunk', 'sendChunk', 'sendChunk', 'finishResponse'], $this->natives->callNames());

        $head = $this->natives->calls[0][1];
        $this->assertTrue($head['stream']);
        $this->assertSame('echoed-', $head['body']);
        $this->assertSame(['text/plain'], $head['headers']['Content-Type']);
        $this->assertSame(['one', 'two', 'three'], array_map(fn ($call) => $call[1]['chunk'], array_slice($this->natives->calls, 1, 3)));
    }

    public function test_a_streamed_response_that_throws_ends_its_stream_and_buffer(): void
    {
        $response = new StreamedResponse(function () {
            echo 'partial';
            throw new RuntimeException('stream broke');
        });

        $level = ob_get_level();

        try {
            $this->client->respond($this->context, new OctaneResponse($response));
            $this->fail('The exception should reach Octane\'s worker.');
        } catch (RuntimeException $e) {
            $this->assertSame('stream broke', $e->getMessage());
        }

        $this->assertSame($level, ob_get_level());

        // Octane's worker then calls error(): the status is already sent, so the stream is just ended.
        $this->client->error($e, $this->application(), new Request, $this->context);

        $this->assertSame(['sendResponse', 'sendChunk', 'finishResponse'], $this->natives->callNames());
    }

    public function test_a_file_response_is_sent_by_path_without_content_length(): void
    {
        $path = $this->file(str_repeat('0123456789', 100));
        $response = $this->prepared(new BinaryFileResponse($path, 200, ['Content-Type' => 'text/plain']));

        $this->client->respond($this->context, new OctaneResponse($response, 'ignored echo'));

        $sent = $this->natives->only('sendFile');
        $this->assertSame(200, $sent['status']);
        $this->assertSame(realpath($path), $sent['path']);
        $this->assertSame(0, $sent['offset']);
        $this->assertSame(-1, $sent['length']);
        $this->assertArrayNotHasKey('Content-Length', $sent['headers']);
        $this->assertSame(['bytes'], $sent['headers']['Accept-Ranges']);
    }

    public function test_a_file_response_with_a_range_sends_that_byte_range_with_206(): void
    {
        $path = $this->file(str_repeat('0123456789', 100));
        $response = $this->prepared(new BinaryFileResponse($path), ['Range' => 'bytes=100-199']);

        $this->client->respond($this->context, new OctaneResponse($response));

        $sent = $this->natives->only('sendFile');
        $this->assertSame(206, $sent['status']);
        $this->assertSame(100, $sent['offset']);
        $this->assertSame(100, $sent['length']);
        $this->assertSame(['bytes 100-199/1000'], $sent['headers']['Content-Range']);
    }

    public function test_a_suffix_range_sends_the_last_bytes(): void
    {
        $path = $this->file(str_repeat('0123456789', 100));
        $response = $this->prepared(new BinaryFileResponse($path), ['Range' => 'bytes=-10']);

        $this->client->respond($this->context, new OctaneResponse($response));

        $sent = $this->natives->only('sendFile');
        $this->assertSame(206, $sent['status']);
        $this->assertSame(990, $sent['offset']);
        $this->assertSame(10, $sent['length']);
    }

    public function test_an_unsatisfiable_range_is_answered_416_without_the_file(): void
    {
        $path = $this->file('short');
        $response = $this->prepared(new BinaryFileResponse($path), ['Range' => 'bytes=50-60']);

        $this->client->respond($this->context, new OctaneResponse($response));

        $sent = $this->natives->only('sendResponse');
        $this->assertSame(416, $sent['status']);
        $this->assertSame('', $sent['body']);
        $this->assertSame(['bytes */5'], $sent['headers']['Content-Range']);
        $this->assertArrayNotHasKey('Content-Length', $sent['headers']);
    }

    public function test_a_head_request_for_a_file_sends_no_body(): void
    {
        $path = $this->file('contents');
        $response = $this->prepared(new BinaryFileResponse($path), [], 'HEAD');

        $this->client->respond($this->context, new OctaneResponse($response));

        $this->assertSame(['sendResponse'], $this->natives->callNames());
        $this->assertSame('', $this->natives->only('sendResponse')['body']);
        // The length GET would send, which the runtime announces without a body (RFC 9110 §9.3.2).
        $this->assertEquals([strlen('contents')], (array) $this->natives->only('sendResponse')['headers']['Content-Length']);
    }

    public function test_a_file_marked_delete_after_send_is_deleted(): void
    {
        $path = $this->file('temporary export');
        $response = $this->prepared((new BinaryFileResponse($path))->deleteFileAfterSend());

        $this->client->respond($this->context, new OctaneResponse($response));

        $this->assertSame(realpath(dirname($path)).'/'.basename($path), $this->natives->only('sendFile')['path']);
        $this->assertFileDoesNotExist($path);
    }

    public function test_error_sends_octanes_generic_500_when_debug_is_off(): void
    {
        $this->client->error(new RuntimeException('secret detail'), $this->application(debug: false), new Request, $this->context);

        $sent = $this->natives->only('sendResponse');
        $this->assertSame(500, $sent['status']);
        $this->assertSame('Internal server error.', $sent['body']);
        $this->assertStringStartsWith('text/plain', $sent['headers']['Content-Type']);
    }

    public function test_error_sends_the_exception_when_debug_is_on(): void
    {
        $this->client->error(new RuntimeException('visible detail'), $this->application(debug: true), new Request, $this->context);

        $this->assertStringContainsString('RuntimeException: visible detail', $this->natives->only('sendResponse')['body']);
    }

    public function test_error_after_a_response_was_sent_sends_nothing_more(): void
    {
        $this->client->respond($this->context, new OctaneResponse(new Response('done')));

        $this->client->error(new RuntimeException('late'), $this->application(), new Request, $this->context);

        $this->assertSame(['sendResponse'], $this->natives->callNames());
    }

    public function test_finishing_a_request_nobody_answered_sends_500(): void
    {
        $this->client->finishRequest();

        $sent = $this->natives->only('sendResponse');
        $this->assertSame(500, $sent['status']);
    }

    public function test_finishing_an_answered_request_sends_nothing(): void
    {
        $this->client->respond($this->context, new OctaneResponse(new Response('done')));

        $this->client->finishRequest();

        $this->assertSame(['sendResponse'], $this->natives->callNames());
    }

    private function application(bool $debug = false): Application
    {
        $app = new Application(sys_get_temp_dir());
        $app->instance('config', new Repository(['app' => ['debug' => $debug]]));

        return $app;
    }
}
