<?php

namespace Askr\Octane\Server;

/**
 * Symlink-release deploys (docs/lifecycle.md): with the app at `current -> releases/N` (Envoyer,
 * Deployer, Forge), Laravel's base_path() is the resolved `releases/N` (bootstrap/app.php takes
 * it from __DIR__, which PHP resolves). Handing that to askr would pin every future worker to
 * release N, so a reload after the link switch would boot the old release again (laravel/octane
 * #1004). octane:start passes the path through the link instead; each askr worker resolves it
 * when its process starts, so a reload's new workers boot release N+1.
 */
final class ReleasePaths
{
    /**
     * The app's base path as the deploy names it: $configured (`octane.askr.base_path`, env
     * ASKR_APP_PATH) when given; else the directory of artisan as it was invoked
     * (`php /srv/app/current/artisan`, or `php artisan` from the shell's $PWD), when it is the same
     * directory as $resolvedBase; else $resolvedBase.
     *
     * @param  array<string, mixed>  $server  $_SERVER of the artisan process
     */
    public static function basePath(string $resolvedBase, array $server, ?string $configured = null): string
    {
        if ($configured !== null && $configured !== '') {
            return rtrim($configured, '/');
        }

        $script = $server['SCRIPT_FILENAME'] ?? ($server['argv'][0] ?? null);

        if (! is_string($script) || $script === '') {
            return $resolvedBase;
        }

        if ($script[0] !== '/') {
            $pwd = $server['PWD'] ?? null;

            if (! is_string($pwd) || $pwd === '' || $pwd[0] !== '/') {
                return $resolvedBase;
            }

            $script = $pwd.'/'.$script;
        }

        $invoked = self::normalize(dirname($script));
        $real = realpath($invoked);

        return $real !== false && $real === realpath($resolvedBase) ? $invoked : $resolvedBase;
    }

    /** $path (under $resolvedBase) as the same path under $linkedBase; other paths unchanged. */
    public static function map(string $path, string $resolvedBase, string $linkedBase): string
    {
        $resolvedBase = rtrim($resolvedBase, '/');

        if ($linkedBase === $resolvedBase || ($path !== $resolvedBase && ! str_starts_with($path, $resolvedBase.'/'))) {
            return $path;
        }

        return $linkedBase.substr($path, strlen($resolvedBase));
    }

    /** Removes "." and ".." segments and doubled slashes without resolving links. */
    private static function normalize(string $path): string
    {
        $parts = [];

        foreach (explode('/', $path) as $segment) {
            if ($segment === '' || $segment === '.') {
                continue;
            }

            if ($segment === '..') {
                array_pop($parts);

                continue;
            }

            $parts[] = $segment;
        }

        return '/'.implode('/', $parts);
    }
}
