<?php

namespace Askr\Octane\Server;

use Laravel\Octane\Contracts\ServerProcessInspector as ServerProcessInspectorContract;
use Laravel\Octane\PosixExtension;

/**
 * Finds and drives a running `askr serve` through its admin endpoint, and falls back
 * to signals on the supervisor's pid (SIGHUP reload, SIGTERM stop, as askr documents)
 * when the endpoint does not answer, e.g. a state file written by an older start.
 */
class ServerProcessInspector implements ServerProcessInspectorContract
{
    public function __construct(
        protected ServerStateFile $serverStateFile,
        protected AdminClient $admin,
        protected PosixExtension $posix,
    ) {
    }

    public function serverIsRunning(): bool
    {
        ['masterProcessId' => $pid] = $this->serverStateFile->read();

        if (($answer = $this->admin('GET', '/status')) !== null) {
            return $answer['status'] === 200;
        }

        return $pid && $this->posix->kill($pid, 0);
    }

    /**
     * The supervisor's GET /status (workers, background workers, cluster), or null when it does not answer.
     *
     * @return array<string, mixed>|null
     */
    public function status(): ?array
    {
        $answer = $this->admin('GET', '/status');

        return ($answer['status'] ?? null) === 200 ? $answer['body'] : null;
    }

    /**
     * Rolling reload: one worker at a time is replaced by a freshly booted one.
     */
    public function reloadServer(): void
    {
        if (($this->admin('POST', '/reload')['status'] ?? null) === 202) {
            return;
        }

        ['masterProcessId' => $pid] = $this->serverStateFile->read();

        if ($pid) {
            $this->posix->kill($pid, SIGHUP);
        }
    }

    /**
     * Graceful stop: in-flight and queued requests finish, then the supervisor exits.
     */
    public function stopServer(): bool
    {
        if (($this->admin('POST', '/stop')['status'] ?? null) === 202) {
            return true;
        }

        ['masterProcessId' => $pid] = $this->serverStateFile->read();

        return $pid && $this->posix->kill($pid, SIGTERM);
    }

    /**
     * @return array{status: int, body: array<string, mixed>|null}|null null without an admin port or an answer.
     */
    protected function admin(string $method, string $path): ?array
    {
        ['state' => $state] = $this->serverStateFile->read();

        if (empty($state['adminPort'])) {
            return null;
        }

        $token = isset($state['adminToken']) && is_string($state['adminToken']) ? $state['adminToken'] : null;

        return $this->admin->request($method, $state['adminHost'] ?? '127.0.0.1', (int) $state['adminPort'], $path, $token);
    }
}
