<?php

namespace Askr\Octane\Server;

use RuntimeException;

/**
 * Octane's server state file for askr (config('octane.state_file'), by default
 * storage/logs/octane-server-state.json): the supervisor's pid and the state
 * octane:status / octane:reload / octane:stop need to reach it (admin host and port).
 *
 * Shape: {"masterProcessId": int|null, "state": {"appName", "host", "port", "adminHost",
 * "adminPort", "adminToken", "workers", "maxRequests", "octaneConfig"}}, as Octane's RoadRunner file.
 * It holds the admin token, so it is written readable by its owner only (0600).
 */
class ServerStateFile
{
    public function __construct(protected string $path)
    {
    }

    /**
     * @return array{masterProcessId: int|null, state: array<string, mixed>}
     */
    public function read(): array
    {
        $state = is_readable($this->path)
            ? json_decode((string) file_get_contents($this->path), true)
            : [];

        $state = is_array($state) ? $state : [];

        return [
            'masterProcessId' => $state['masterProcessId'] ?? null,
            'state' => $state['state'] ?? [],
        ];
    }

    /**
     * @throws RuntimeException when the file cannot be written.
     */
    public function writeProcessId(int $masterProcessId): void
    {
        $this->write(array_merge($this->read(), ['masterProcessId' => $masterProcessId]));
    }

    /**
     * @param  array<string, mixed>  $newState
     *
     * @throws RuntimeException when the file cannot be written.
     */
    public function writeState(array $newState): void
    {
        $this->write(array_merge($this->read(), ['state' => $newState]));
    }

    public function delete(): bool
    {
        return is_writable($this->path) && unlink($this->path);
    }

    public function path(): string
    {
        return $this->path;
    }

    protected function write(array $contents): void
    {
        if (! is_writable($this->path) && ! is_writable(dirname($this->path))) {
            throw new RuntimeException("Unable to write the Octane server state file [{$this->path}].");
        }

        $json = json_encode($contents, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES);

        // Created empty and restricted first, so the token is never in a file others can read.
        if (! file_exists($this->path)) {
            touch($this->path);
        }
        @chmod($this->path, 0600);

        file_put_contents($this->path, $json);
    }
}
