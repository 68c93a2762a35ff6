<?php

namespace Askr\Octane\Server\Actions;

use Askr\Octane\Server\TemporaryUploads;
use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\Request as SymfonyRequest;

/**
 * Builds the Illuminate request from a take_request() envelope (see stubs/natives.php)
 * the way PHP's own SAPIs fill the superglobals: $_GET from the query string, $_COOKIE
 * from the Cookie header, $_POST and $_FILES from a form body, $_SERVER from the
 * envelope's CGI variables (RFC 3875) plus one HTTP_* entry per header.
 *
 * Form bodies are parsed for POST as PHP does, and also for PUT, PATCH and DELETE,
 * as Octane's Swoole client and Symfony's createFromGlobals() do for urlencoded bodies.
 */
final class ConvertEnvelopeToIlluminateRequest
{
    private const FORM_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'];

    public function __construct(private TemporaryUploads $uploads)
    {
    }

    /**
     * @param  array{method?: string, uri?: string, protocol?: string, headers?: array<string, string>, server?: array<string, string>, body?: string}  $envelope
     */
    public function __invoke(array $envelope): Request
    {
        $server = $this->serverVariables($envelope);
        $body = (string) ($envelope['body'] ?? '');

        parse_str($server['QUERY_STRING'] ?? '', $query);

        [$post, $files] = $this->parseBody(
            $server['REQUEST_METHOD'],
            (string) ($server['CONTENT_TYPE'] ?? ''),
            $body
        );

        return Request::createFromBase(new SymfonyRequest(
            $query,
            $post,
            [],
            $this->cookies((string) ($server['HTTP_COOKIE'] ?? '')),
            $files,
            $server,
            $body
        ));
    }

    /**
     * @return array<string, string>
     */
    private function serverVariables(array $envelope): array
    {
        $server = $envelope['server'] ?? [];

        // The runtime already sends HTTP_* for every header; this keeps a minimal envelope usable too.
        foreach ($envelope['headers'] ?? [] as $name => $value) {
            $key = strtoupper(str_replace('-', '_', (string) $name));

            if ($key === 'CONTENT_TYPE' || $key === 'CONTENT_LENGTH') {
                $server[$key] ??= $value;
            }

            $server['HTTP_'.$key] ??= $value;
        }

        $server['REQUEST_METHOD'] = strtoupper($server['REQUEST_METHOD'] ?? $envelope['method'] ?? 'GET');
        $server['REQUEST_URI'] ??= $envelope['uri'] ?? '/';
        $server['SERVER_PROTOCOL'] ??= $envelope['protocol'] ?? 'HTTP/1.1';

        if (! isset($server['QUERY_STRING'])) {
            $queryStart = strpos($server['REQUEST_URI'], '?');
            $server['QUERY_STRING'] = $queryStart === false ? '' : substr($server['REQUEST_URI'], $queryStart + 1);
        }

        return $server;
    }

    /**
     * @return array{0: array<string, mixed>, 1: array<string, mixed>} [post, files]
     */
    private function parseBody(string $method, string $contentType, string $body): array
    {
        if ($body === '' || ! in_array($method, self::FORM_METHODS, true)) {
            return [[], []];
        }

        $mediaType = strtolower(trim(explode(';', $contentType, 2)[0]));

        if ($mediaType === 'application/x-www-form-urlencoded') {
            parse_str($body, $post);

            return [$post, []];
        }

        if ($mediaType === 'multipart/form-data') {
            return (new ParseMultipartBody($this->uploads))($body, $contentType);
        }

        return [[], []];
    }

    /**
     * Parses a Cookie header (RFC 6265 §5.4) as PHP does for $_COOKIE: values are
     * URL-decoded, names get PHP's bracket and dot rules, the first of two equal names wins.
     *
     * @return array<string, mixed>
     */
    private function cookies(string $header): array
    {
        if ($header === '') {
            return [];
        }

        $pairs = [];

        foreach (explode(';', $header) as $pair) {
            $pair = ltrim($pair);

            if ($pair === '' || ! str_contains($pair, '=')) {
                continue;
            }

            [$name, $value] = explode('=', $pair, 2);

            if ($name !== '') {
                $pairs[] = [$name, urldecode($value)];
            }
        }

        $cookies = [];

        foreach (array_reverse($pairs) as [$name, $value]) {
            // parse_str applies PHP's variable-name rules; later (here: earlier in the header) pairs win.
            parse_str(rawurlencode($name).'='.rawurlencode($value), $cookie);
            $cookies = array_replace_recursive($cookies, $cookie);
        }

        return $cookies;
    }
}
