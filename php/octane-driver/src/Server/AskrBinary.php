<?php

namespace Askr\Octane\Server;

use RuntimeException;
use Symfony\Component\Process\ExecutableFinder;

/**
 * Locates the `askr` executable, in this order: config('octane.askr.binary'), the
 * ASKR_BINARY environment variable, `askr` on the PATH, then base_path('askr').
 */
class AskrBinary
{
    public const INSTALL_HINT = 'Build the askr runtime from the askr repository (run scripts/setup.sh, see its README), '
        .'then point ASKR_BINARY (or config octane.askr.binary) at its build/askr/askr, or put askr on your PATH.';

    public function __construct(
        protected ?string $configured,
        protected ?string $environment,
        protected string $basePath,
        protected ?ExecutableFinder $finder = null,
    ) {
    }

    /**
     * @return string|null The path of an executable askr, or null when none was found.
     */
    public function find(): ?string
    {
        foreach ([$this->configured, $this->environment] as $candidate) {
            if (is_string($candidate) && $candidate !== '') {
                return is_file($candidate) && is_executable($candidate) ? $candidate : null;
            }
        }

        if ($onPath = ($this->finder ?? new ExecutableFinder)->find('askr')) {
            return $onPath;
        }

        $local = rtrim($this->basePath, '/').'/askr';

        return is_file($local) && is_executable($local) ? $local : null;
    }

    /**
     * @throws RuntimeException with the install hint when askr cannot be found.
     */
    public function findOrFail(): string
    {
        if ($binary = $this->find()) {
            return $binary;
        }

        $where = is_string($this->configured) && $this->configured !== ''
            ? "config octane.askr.binary points at [{$this->configured}], which is not an executable file"
            : (is_string($this->environment) && $this->environment !== ''
                ? "ASKR_BINARY points at [{$this->environment}], which is not an executable file"
                : 'askr was not found in config octane.askr.binary, ASKR_BINARY, the PATH or the application\'s base path');

        throw new RuntimeException("The askr runtime binary is missing: {$where}. ".self::INSTALL_HINT);
    }
}
