<?php

namespace Askr\Octane\Server;

/**
 * A minimal HTTP client for askr's admin endpoint (docs/runtime.md of the askr
 * repository): GET /status, POST /reload, POST /stop, always on loopback. The POST calls
 * need the server's admin token (`Authorization: Bearer`, RFC 6750), which the driver
 * writes to Octane's state file when it starts askr.
 */
class AdminClient
{
    /**
     * @param  float  $timeoutSeconds  Connect and read timeout of one call, in seconds.
     */
    public function __construct(protected float $timeoutSeconds = 2.0)
    {
    }

    /**
     * @param  string|null  $token  The admin token (sent as a bearer token), null for none.
     * @return array{status: int, body: array<string, mixed>|null}|null The status code and the
     *         decoded JSON body, or null when nothing answers on $host:$port.
     */
    public function request(string $method, string $host, int $port, string $path, ?string $token = null): ?array
    {
        $header = "Connection: close\r\nContent-Length: 0\r\n";

        if ($token !== null && $token !== '') {
            $header .= "Authorization: Bearer {$token}\r\n";
        }

        $context = stream_context_create(['http' => [
            'method' => $method,
            'timeout' => $this->timeoutSeconds,
            'ignore_errors' => true,
            'header' => $header,
        ]]);

        $host = str_contains($host, ':') ? "[{$host}]" : $host;
        $body = @file_get_contents("http://{$host}:{$port}{$path}", false, $context);

        $headers = $http_response_header ?? [];

        if ($body === false || $headers === [] || ! preg_match('#^HTTP/\S+\s+(\d{3})#', $headers[0], $match)) {
            return null;
        }

        $decoded = json_decode($body, true);

        return ['status' => (int) $match[1], 'body' => is_array($decoded) ? $decoded : null];
    }
}
