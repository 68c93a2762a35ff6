<?php

namespace Askr\Octane\ResponseCache;

use Askr\Octane\Server\ServerStateFile;
use RuntimeException;

/**
 * Purges askr's response cache from outside an askr worker (an Artisan command, a queue worker):
 * POST /cache/purge on the running server's admin endpoint, with the admin token octane:start
 * generated (ASKR_ADMIN_TOKEN), both read from Octane's server state file.
 */
class AdminPurge
{
    /**
     * @param  array{tag?: list<string>, url?: list<string>, flush?: list<string>}  $what
     * @return array<string, mixed> The endpoint's JSON answer.
     *
     * @throws RuntimeException when no askr server is recorded, it does not answer, or it refuses.
     */
    public static function send(array $what, ?ServerStateFile $stateFile = null): array
    {
        $stateFile ??= app(ServerStateFile::class);
        $state = $stateFile->read()['state'];
        $port = (int) ($state['adminPort'] ?? 0);
        $token = (string) ($state['adminToken'] ?? '');

        if ($port === 0) {
            throw new RuntimeException("No askr server is recorded in the Octane state file [{$stateFile->path()}]: start it with octane:start --server=askr.");
        }

        $query = [];

        foreach ($what as $name => $values) {
            foreach ($values as $value) {
                $query[] = rawurlencode($name).'='.rawurlencode($value);
            }
        }

        $host = (string) ($state['adminHost'] ?? '127.0.0.1');
        $context = stream_context_create(['http' => [
            'method' => 'POST',
            'timeout' => 5,
            'ignore_errors' => true,
            'header' => "Connection: close\r\nContent-Length: 0\r\nAuthorization: Bearer {$token}\r\n",
        ]]);
        $body = @file_get_contents("http://{$host}:{$port}/cache/purge?".implode('&', $query), false, $context);
        $headers = $http_response_header ?? [];

        if ($body === false || $headers === [] || ! preg_match('#^HTTP/\S+\s+(\d{3})#', $headers[0], $match)) {
            throw new RuntimeException("askr's admin endpoint on {$host}:{$port} does not answer: is the server running?");
        }

        $decoded = json_decode($body, true);

        if ((int) $match[1] !== 200) {
            $error = is_array($decoded) ? ($decoded['error'] ?? $body) : $body;

            throw new RuntimeException("askr refused the purge ({$match[1]}): {$error}");
        }

        return is_array($decoded) ? $decoded : [];
    }
}
