<?php

namespace Askr\Octane\Broadcasting;

use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\Broadcasters\Broadcaster;
use Illuminate\Broadcasting\Broadcasters\UsePusherChannelConventions;
use Illuminate\Support\Arr;
use Illuminate\Support\Str;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;

/**
 * Laravel's broadcaster for askr's Pusher-protocol WebSockets (docs/websockets.md of the askr
 * repository), registered as Broadcast::extend('askr'): no Pusher SDK needed.
 *
 * - In an askr worker, broadcast() publishes through the Ephpm\Octane\broadcast() native: to the
 *   subscribers of every HTTP worker of the node, without an HTTP hop.
 * - Elsewhere (a queue worker, artisan tinker), it POSTs the event to askr's HTTP API
 *   (/apps/{id}/events, signed as Pusher signs it) at the connection's host and port.
 * - auth() and validAuthenticationResponse() answer /broadcasting/auth as Laravel's
 *   PusherBroadcaster does: key:HMAC-SHA256(socket_id:channel[:channel_data]) with the secret.
 *
 * Connection config (config/broadcasting.php): driver "askr", key, secret, app_id, and for the
 * HTTP route options.host (default 127.0.0.1), options.port (default 8000), options.scheme (http).
 */
class AskrBroadcaster extends Broadcaster
{
    use UsePusherChannelConventions;

    /** @param array{key: string, secret: string, app_id: string|int, options?: array<string, mixed>} $config */
    public function __construct(protected array $config)
    {
        foreach (['key', 'secret', 'app_id'] as $name) {
            if (! isset($config[$name]) || (string) $config[$name] === '') {
                throw new \InvalidArgumentException("The askr broadcasting connection needs [{$name}] (config/broadcasting.php).");
            }
        }
    }

    public function auth($request)
    {
        $channelName = $this->normalizeChannelName($request->channel_name);

        if (empty($request->channel_name) ||
            ($this->isGuardedChannel($request->channel_name) && ! $this->retrieveUser($request, $channelName))) {
            throw new AccessDeniedHttpException;
        }

        return parent::verifyUserCanAccessChannel($request, $channelName);
    }

    public function validAuthenticationResponse($request, $result)
    {
        if (Str::startsWith($request->channel_name, 'private')) {
            return ['auth' => $this->sign($request->socket_id.':'.$request->channel_name)];
        }

        $user = $this->retrieveUser($request, $this->normalizeChannelName($request->channel_name));
        $id = method_exists($user, 'getAuthIdentifierForBroadcasting')
            ? $user->getAuthIdentifierForBroadcasting()
            : $user->getAuthIdentifier();
        $channelData = json_encode(['user_id' => $id, 'user_info' => $result], JSON_THROW_ON_ERROR);

        return [
            'auth' => $this->sign($request->socket_id.':'.$request->channel_name.':'.$channelData),
            'channel_data' => $channelData,
        ];
    }

    public function broadcast(array $channels, $event, array $payload = [])
    {
        $socket = Arr::pull($payload, 'socket');
        $channels = $this->formatChannels($channels);
        $data = json_encode($payload, JSON_THROW_ON_ERROR);

        if (static::insideAskr()) {
            try {
                \Ephpm\Octane\broadcast($channels, $event, $data, $socket);
            } catch (\ValueError|\RuntimeException $e) {
                throw new BroadcastException('askr: '.$e->getMessage(), 0, $e);
            }

            return;
        }

        $this->trigger($channels, $event, $data, $socket);
    }

    /** Whether this process is an askr worker (the natives exist there, not their stand-ins). */
    public static function insideAskr(): bool
    {
        return \function_exists('Ephpm\Octane\take_request')
            && (new \ReflectionFunction('Ephpm\Octane\take_request'))->isInternal();
    }

    protected function sign(string $value): string
    {
        return $this->config['key'].':'.hash_hmac('sha256', $value, $this->config['secret']);
    }

    /**
     * POST /apps/{id}/events on askr's HTTP API, signed as Pusher's REST API requires
     * (auth_key, auth_timestamp, auth_version, body_md5, auth_signature).
     *
     * @param  list<string>  $channels
     */
    protected function trigger(array $channels, string $event, string $data, ?string $socket): void
    {
        $options = $this->config['options'] ?? [];
        $body = json_encode(array_filter(['name' => $event, 'channels' => $channels, 'data' => $data, 'socket_id' => $socket], fn ($v) => $v !== null), JSON_THROW_ON_ERROR);
        $path = '/apps/'.$this->config['app_id'].'/events';
        $query = ['auth_key' => $this->config['key'], 'auth_timestamp' => (string) time(), 'auth_version' => '1.0', 'body_md5' => md5($body)];
        ksort($query);
        $signed = implode('&', array_map(fn ($k, $v) => "{$k}={$v}", array_keys($query), $query));
        $query['auth_signature'] = hash_hmac('sha256', "POST\n{$path}\n{$signed}", $this->config['secret']);
        $url = sprintf('%s://%s:%d%s?%s', $options['scheme'] ?? 'http', $options['host'] ?? '127.0.0.1', (int) ($options['port'] ?? 8000), $path, http_build_query($query));

        $context = stream_context_create(['http' => [
            'method' => 'POST', 'header' => "Content-Type: application/json\r\n", 'content' => $body,
            'ignore_errors' => true, 'timeout' => 5,
        ]]);
        $answer = @file_get_contents($url, false, $context);
        $status = isset($http_response_header[0]) && preg_match('/\s(\d{3})\s?/', $http_response_header[0], $m) ? (int) $m[1] : 0;

        if ($status < 200 || $status > 299) {
            throw new BroadcastException($status === 0
                ? "askr: could not reach the HTTP API at {$url}"
                : "askr: the HTTP API answered {$status}: {$answer}");
        }
    }
}
