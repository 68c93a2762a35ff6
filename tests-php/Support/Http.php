<?php

namespace Askr\Octane\Tests\Support;

use RuntimeException;

/**
 * A small ext-curl client for the end-to-end tests.
 */
final class Http
{
    /**
     * @param  array<string, string>  $headers
     * @param  string|array|null  $body  A string is sent as is; an array as multipart/form-data (values may be CURLFile).
     * @return array{status: int, headers: array<string, list<string>>, body: string}
     */
    public static function request(string $method, string $url, array $headers = [], string|array|null $body = null, float $timeoutSeconds = 15): array
    {
        $curl = curl_init($url);
        $responseHeaders = [];

        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => (int) ($timeoutSeconds * 1000),
            CURLOPT_HTTPHEADER => array_map(fn ($name, $value) => "{$name}: {$value}", array_keys($headers), $headers),
            CURLOPT_NOBODY => $method === 'HEAD',
            CURLOPT_HEADERFUNCTION => function ($curl, string $line) use (&$responseHeaders) {
                if (str_contains($line, ':')) {
                    [$name, $value] = explode(':', $line, 2);
                    $responseHeaders[strtolower(trim($name))][] = trim($value);
                } elseif (str_starts_with($line, 'HTTP/')) {
                    $responseHeaders = []; // a new (final) response after 100-continue
                }

                return strlen($line);
            },
        ]);

        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
        }

        $responseBody = curl_exec($curl);

        if ($responseBody === false) {
            $error = curl_error($curl);
            curl_close($curl);

            throw new RuntimeException("{$method} {$url} failed: {$error}");
        }

        $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);

        return ['status' => $status, 'headers' => $responseHeaders, 'body' => (string) $responseBody];
    }

    public static function get(string $url, array $headers = []): array
    {
        return self::request('GET', $url, $headers);
    }

    /**
     * @return mixed The decoded JSON body of a 200 answer.
     */
    public static function json(string $url, array $headers = []): mixed
    {
        $response = self::get($url, $headers + ['Accept' => 'application/json']);

        if ($response['status'] !== 200) {
            throw new RuntimeException("GET {$url} answered {$response['status']}: ".substr($response['body'], 0, 500));
        }

        return json_decode($response['body'], true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * "name=value" pairs of a response's Set-Cookie headers, for a Cookie header.
     */
    public static function cookies(array $response, array $jar = []): array
    {
        foreach ($response['headers']['set-cookie'] ?? [] as $line) {
            [$pair] = explode(';', $line, 2);
            [$name, $value] = explode('=', $pair, 2);
            $jar[$name] = $value;
        }

        return $jar;
    }

    public static function cookieHeader(array $jar): array
    {
        return $jar === [] ? [] : ['Cookie' => implode('; ', array_map(fn ($name, $value) => "{$name}={$value}", array_keys($jar), $jar))];
    }
}
