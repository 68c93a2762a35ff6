<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\AskrClient;
use Askr\Octane\Server\TemporaryUploads;
use Askr\Octane\Tests\Support\Envelopes;
use Askr\Octane\Tests\Support\FakeNatives;
use Askr\Octane\Tests\Support\RequiresOctane;
use Illuminate\Http\Request;
use Illuminate\Http\UploadedFile;
use Laravel\Octane\OctaneResponse;
use Laravel\Octane\RequestContext;
use Symfony\Component\HttpFoundation\Response;
use PHPUnit\Framework\TestCase;

class AskrClientMarshalRequestTest extends TestCase
{
    use RequiresOctane;

    private FakeNatives $natives;

    private AskrClient $client;

    private string $uploadDirectory;

    protected function setUp(): void
    {
        $this->requireOctane();

        $this->uploadDirectory = sys_get_temp_dir().'/askr-tests-'.bin2hex(random_bytes(4));
        mkdir($this->uploadDirectory);

        $this->natives = new FakeNatives;
        $this->client = new AskrClient($this->natives, new TemporaryUploads($this->uploadDirectory));
    }

    protected function tearDown(): void
    {
        if (isset($this->uploadDirectory)) {
            array_map('unlink', glob($this->uploadDirectory.'/{,.}[!.]*', GLOB_BRACE) ?: []);
            @rmdir($this->uploadDirectory);
        }
    }

    private function marshal(array $envelope): Request
    {
        $this->natives->envelopes[] = $envelope;
        $context = $this->client->nextRequest();

        [$request, $returnedContext] = $this->client->marshalRequest($context);

        $this->assertSame($context, $returnedContext);

        return $request;
    }

    public function test_method_path_and_query_come_from_the_envelope(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/users/7?sort=name&tags[]=a&tags[]=b'));

        $this->assertSame('GET', $request->method());
        $this->assertSame('users/7', $request->path());
        $this->assertSame('name', $request->query('sort'));
        $this->assertSame(['a', 'b'], $request->query('tags'));
        $this->assertSame('http://127.0.0.1:8000/users/7?sort=name&tags%5B0%5D=a&tags%5B1%5D=b', $request->fullUrl());
    }

    public function test_headers_are_readable_case_insensitively(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/', ['X-Trace-Id' => 'abc', 'Accept' => 'application/json']));

        $this->assertSame('abc', $request->header('x-trace-id'));
        $this->assertTrue($request->expectsJson());
    }

    public function test_a_minimal_envelope_without_server_variables_still_marshals(): void
    {
        $request = $this->marshal([
            'method' => 'post', 'uri' => '/items?x=1', 'protocol' => 'HTTP/2',
            'headers' => ['Host' => 'example.test', 'Content-Type' => 'application/x-www-form-urlencoded'],
            'server' => [], 'body' => 'name=lamp',
        ]);

        $this->assertSame('POST', $request->method());
        $this->assertSame('1', $request->query('x'));
        $this->assertSame('lamp', $request->input('name'));
        $this->assertSame('example.test', $request->getHost());
        $this->assertSame('HTTP/2', $request->server('SERVER_PROTOCOL'));
    }

    public function test_cookies_are_url_decoded_and_the_first_of_two_equal_names_wins(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/', [
            'Cookie' => 'theme=dark%20blue; cart[items]=3; theme=light; empty=; flag',
        ]));

        $this->assertSame('dark blue', $request->cookie('theme'));
        $this->assertSame(['items' => '3'], $request->cookie('cart'));
        $this->assertSame('', $request->cookie('empty'));
        $this->assertNull($request->cookie('flag'));
    }

    public function test_a_json_body_becomes_the_request_input(): void
    {
        $request = $this->marshal(Envelopes::make('POST', '/api', ['Content-Type' => 'application/json'], '{"name":"Ada","tags":["x"]}'));

        $this->assertSame('Ada', $request->input('name'));
        $this->assertSame(['x'], $request->input('tags'));
        $this->assertSame('{"name":"Ada","tags":["x"]}', $request->getContent());
    }

    public function test_an_urlencoded_post_body_is_parsed_as_php_does(): void
    {
        $request = $this->marshal(Envelopes::make('POST', '/form', ['Content-Type' => 'application/x-www-form-urlencoded; charset=UTF-8'], 'a=1&user%5Bname%5D=Ada&list[]=x&list[]=y'));

        $this->assertSame('1', $request->request->get('a'));
        $this->assertSame(['name' => 'Ada'], $request->input('user'));
        $this->assertSame(['x', 'y'], $request->input('list'));
    }

    public function test_an_urlencoded_put_body_is_parsed_like_post(): void
    {
        $request = $this->marshal(Envelopes::make('PUT', '/items/1', ['Content-Type' => 'application/x-www-form-urlencoded'], 'name=chair'));

        $this->assertSame('chair', $request->input('name'));
    }

    public function test_a_get_body_is_not_parsed_as_a_form(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/', ['Content-Type' => 'application/x-www-form-urlencoded'], 'name=chair'));

        $this->assertNull($request->request->get('name'));
        $this->assertSame('name=chair', $request->getContent());
    }

    public function test_multipart_fields_and_files_arrive_as_php_would_give_them(): void
    {
        [$body, $contentType] = Envelopes::multipart([
            ['name' => 'title', 'value' => 'Report'],
            ['name' => 'meta[author]', 'value' => 'Ada'],
            ['name' => 'document', 'filename' => 'report.pdf', 'type' => 'application/pdf', 'value' => "%PDF-1.4\r\nbinary\0bytes"],
            ['name' => 'photos[]', 'filename' => 'a.png', 'type' => 'image/png', 'value' => 'AAA'],
            ['name' => 'photos[]', 'filename' => 'b.png', 'type' => 'image/png', 'value' => 'BBBB'],
        ]);

        $request = $this->marshal(Envelopes::make('POST', '/upload', ['Content-Type' => $contentType], $body));

        $this->assertSame('Report', $request->input('title'));
        $this->assertSame(['author' => 'Ada'], $request->input('meta'));

        $document = $request->file('document');
        $this->assertInstanceOf(UploadedFile::class, $document);
        $this->assertSame('report.pdf', $document->getClientOriginalName());
        $this->assertSame('application/pdf', $document->getClientMimeType());
        $this->assertSame("%PDF-1.4\r\nbinary\0bytes", file_get_contents($document->getPathname()));
        $this->assertSame(strlen("%PDF-1.4\r\nbinary\0bytes"), $document->getSize());
        $this->assertStringStartsWith($this->uploadDirectory.'/', $document->getPathname());

        $photos = $request->file('photos');
        $this->assertCount(2, $photos);
        $this->assertSame(['a.png', 'b.png'], array_map(fn ($photo) => $photo->getClientOriginalName(), $photos));
        $this->assertSame('BBBB', $photos[1]->get());
    }

    public function test_uploaded_files_pass_validation_and_can_be_moved(): void
    {
        [$body, $contentType] = Envelopes::multipart([
            ['name' => 'document', 'filename' => 'notes.txt', 'type' => 'text/plain', 'value' => 'hello'],
        ]);

        $document = $this->marshal(Envelopes::make('POST', '/upload', ['Content-Type' => $contentType], $body))->file('document');

        $this->assertTrue($document->isValid());
        $this->assertSame(UPLOAD_ERR_OK, $document->getError());

        $moved = $document->move($this->uploadDirectory.'/moved-dir', 'kept.txt');

        $this->assertSame('hello', file_get_contents($moved->getPathname()));
        $this->assertFileDoesNotExist($document->getPathname());

        unlink($moved->getPathname());
        rmdir($this->uploadDirectory.'/moved-dir');
    }

    public function test_an_empty_file_input_gives_no_file(): void
    {
        [$body, $contentType] = Envelopes::multipart([
            ['name' => 'document', 'filename' => '', 'type' => 'application/octet-stream', 'value' => ''],
            ['name' => 'title', 'value' => 'x'],
        ]);

        $request = $this->marshal(Envelopes::make('POST', '/upload', ['Content-Type' => $contentType], $body));

        $this->assertNull($request->file('document'));
        $this->assertFalse($request->hasFile('document'));
        $this->assertSame('x', $request->input('title'));
    }

    public function test_a_file_over_upload_max_filesize_is_an_invalid_upload_as_under_php(): void
    {
        $this->client = new AskrClient($this->natives, new TemporaryUploads($this->uploadDirectory, maxFileSize: 1024));

        [$body, $contentType] = Envelopes::multipart([
            ['name' => 'document', 'filename' => 'big.bin', 'value' => str_repeat('x', 2048)],
        ]);

        $document = $this->marshal(Envelopes::make('POST', '/upload', ['Content-Type' => $contentType], $body))->file('document');

        $this->assertSame(UPLOAD_ERR_INI_SIZE, $document->getError());
        $this->assertFalse($document->isValid());
        $this->assertSame([], $this->client->uploads()->paths());
    }

    public function test_upload_temp_files_are_deleted_when_the_request_is_finished(): void
    {
        [$body, $contentType] = Envelopes::multipart([
            ['name' => 'a', 'filename' => 'a.txt', 'value' => 'A'],
            ['name' => 'b', 'filename' => 'b.txt', 'value' => 'B'],
        ]);

        $request = $this->marshal(Envelopes::make('POST', '/upload', ['Content-Type' => $contentType], $body));
        $paths = [$request->file('a')->getPathname(), $request->file('b')->getPathname()];

        $this->assertFileExists($paths[0]);
        $this->client->respond(new RequestContext, new OctaneResponse(new Response('ok')));

        $this->client->finishRequest();

        $this->assertFileDoesNotExist($paths[0]);
        $this->assertFileDoesNotExist($paths[1]);
        $this->assertSame([], $this->client->uploads()->paths());
    }

    public function test_https_from_the_runtime_makes_the_request_secure(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/secure', ['Host' => 'shop.example'], '', [
            'HTTPS' => 'on', 'REQUEST_SCHEME' => 'https', 'SERVER_PORT' => '443',
        ]));

        $this->assertTrue($request->secure());
        $this->assertSame('https://shop.example/secure', $request->fullUrl());
    }

    public function test_a_plain_http_request_is_not_secure(): void
    {
        $this->assertFalse($this->marshal(Envelopes::make('GET', '/'))->secure());
    }

    public function test_the_client_address_comes_from_remote_addr(): void
    {
        $request = $this->marshal(Envelopes::make('GET', '/', [], '', ['REMOTE_ADDR' => '203.0.113.9', 'REMOTE_PORT' => '40000']));

        $this->assertSame('203.0.113.9', $request->ip());
        $this->assertSame('40000', $request->server('REMOTE_PORT'));
    }

    public function test_next_request_returns_null_when_the_runtime_shuts_the_worker_down(): void
    {
        $this->natives->envelopes[] = null;

        $this->assertNull($this->client->nextRequest());
    }

    public function test_next_request_returns_null_after_stop_without_asking_the_runtime(): void
    {
        $this->natives->envelopes[] = Envelopes::make('GET', '/');

        $this->client->stop();

        $this->assertNull($this->client->nextRequest());
        $this->assertSame([], $this->natives->callNames());
    }

    public function test_the_context_carries_the_envelope(): void
    {
        $this->natives->envelopes[] = $envelope = Envelopes::make('GET', '/');

        $context = $this->client->nextRequest();

        $this->assertInstanceOf(RequestContext::class, $context);
        $this->assertSame($envelope, $context['askrEnvelope']);
    }
}
