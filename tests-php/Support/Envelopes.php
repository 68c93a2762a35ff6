<?php

namespace Askr\Octane\Tests\Support;

/**
 * take_request() envelopes shaped as stubs/natives.php describes them.
 */
final class Envelopes
{
    /**
     * @param  array<string, string>  $headers
     * @param  array<string, string>  $server  Extra or overriding CGI variables.
     */
    public static function make(string $method, string $uri, array $headers = [], string $body = '', array $server = []): array
    {
        $query = (string) parse_url($uri, PHP_URL_QUERY);

        $variables = [
            'REQUEST_METHOD' => $method,
            'REQUEST_URI' => $uri,
            'QUERY_STRING' => $query,
            'SERVER_PROTOCOL' => 'HTTP/1.1',
            'SERVER_NAME' => '127.0.0.1',
            'SERVER_ADDR' => '127.0.0.1',
            'SERVER_PORT' => '8000',
            'REMOTE_ADDR' => '127.0.0.1',
            'REMOTE_PORT' => '54321',
            'REQUEST_SCHEME' => 'http',
            'DOCUMENT_ROOT' => '/srv/app/public',
            'SCRIPT_NAME' => '/index.php',
            'SCRIPT_FILENAME' => '/srv/app/public/index.php',
            'PHP_SELF' => '/index.php',
            'REQUEST_TIME' => (string) time(),
            'REQUEST_TIME_FLOAT' => (string) microtime(true),
        ];

        $headers += ['Host' => '127.0.0.1:8000'];

        foreach ($headers as $name => $value) {
            $key = strtoupper(str_replace('-', '_', $name));

            if (in_array($key, ['CONTENT_TYPE', 'CONTENT_LENGTH'], true)) {
                $variables[$key] = $value;
            }

            $variables['HTTP_'.$key] = $value;
        }

        if ($body !== '' && ! isset($headers['Content-Length'])) {
            $variables['CONTENT_LENGTH'] = (string) strlen($body);
        }

        return [
            'id' => random_int(1, PHP_INT_MAX),
            'method' => $method,
            'uri' => $uri,
            'protocol' => 'HTTP/1.1',
            'headers' => $headers,
            'server' => array_merge($variables, $server),
            'body' => $body,
        ];
    }

    /**
     * A multipart/form-data body and its Content-Type.
     *
     * @param  list<array{name: string, value?: string, filename?: string, type?: string}>  $parts
     * @return array{0: string, 1: string} [body, content type]
     */
    public static function multipart(array $parts, string $boundary = '----askr-boundary-7MA4YWxkTrZu0gW'): array
    {
        $body = '';

        foreach ($parts as $part) {
            $body .= "--{$boundary}\r\n";
            $body .= 'Content-Disposition: form-data; name="'.$part['name'].'"';

            if (array_key_exists('filename', $part)) {
                $body .= '; filename="'.$part['filename'].'"';
            }

            $body .= "\r\n";

            if (isset($part['type'])) {
                $body .= "Content-Type: {$part['type']}\r\n";
            }

            $body .= "\r\n".($part['value'] ?? '')."\r\n";
        }

        return [$body."--{$boundary}--\r\n", "multipart/form-data; boundary={$boundary}"];
    }
}
