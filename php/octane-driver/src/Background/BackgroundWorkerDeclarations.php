<?php

namespace Askr\Octane\Background;

use InvalidArgumentException;

/**
 * Turns config('octane.askr.background_workers') into `askr serve --background-worker` values
 * (docs/background-workers.md of the askr repository). Each entry maps a name to:
 *
 *  - an Artisan command ('flags' => 'flags:watch'): askr runs this package's
 *    bin/askr-background.php, which boots the application and calls the command;
 *  - a PHP script ('raw' => base_path('workers/raw.php'), any value ending in .php);
 *  - an array: ['command' => 'flags:watch'] or ['script' => '...'], with 'num' (processes
 *    under the name, default 1), 'lazy' (start at the first ensure(), default false) and 'scope'
 *    ('node', the default, or 'cluster': one node of an askr cluster runs it and its vars reach
 *    every node; not with 'lazy').
 */
class BackgroundWorkerDeclarations
{
    /**
     * @param  array<string, string|array{command?: string, script?: string, num?: int, lazy?: bool, scope?: string}>|null  $config
     * @return list<string> The --background-worker values, NAME=SCRIPT[:num=N][:lazy][:scope=cluster].
     *
     * @throws InvalidArgumentException for an entry askr would refuse, naming it.
     */
    public static function arguments(?array $config, string $backgroundScript): array
    {
        $values = [];

        foreach ($config ?? [] as $name => $entry) {
            if (! is_string($name) || $name === '' || str_contains($name, '=')) {
                throw new InvalidArgumentException("octane.askr.background_workers: [{$name}] is not a background worker name (a non-empty string without '=').");
            }

            $entry = is_string($entry) ? (str_ends_with($entry, '.php') ? ['script' => $entry] : ['command' => $entry]) : $entry;

            if (! is_array($entry) || (! isset($entry['command']) && ! isset($entry['script']))) {
                throw new InvalidArgumentException("octane.askr.background_workers.{$name} must be an Artisan command, a .php script, or an array with 'command' or 'script'.");
            }

            $script = $entry['script'] ?? $backgroundScript;

            if (str_contains($script, ':')) {
                throw new InvalidArgumentException("octane.askr.background_workers.{$name}: the script path [{$script}] may not contain ':'.");
            }

            $num = (int) ($entry['num'] ?? 1);

            if ($num < 1 || $num > 64) {
                throw new InvalidArgumentException("octane.askr.background_workers.{$name}.num must be 1..64, [{$num}] given.");
            }

            $scope = $entry['scope'] ?? 'node';

            if (! in_array($scope, ['node', 'cluster'], true)) {
                throw new InvalidArgumentException("octane.askr.background_workers.{$name}.scope must be 'node' or 'cluster', [{$scope}] given.");
            }

            if ($scope === 'cluster' && ($entry['lazy'] ?? false)) {
                throw new InvalidArgumentException("octane.askr.background_workers.{$name}: a 'cluster' scope worker cannot be lazy (the node the cluster places it on starts it).");
            }

            $values[] = $name.'='.$script.($num > 1 ? ":num={$num}" : '').(($entry['lazy'] ?? false) ? ':lazy' : '').($scope === 'cluster' ? ':scope=cluster' : '');
        }

        return $values;
    }

    /**
     * The Artisan command (with its arguments) a name runs, or null for a script entry or an unknown name.
     *
     * @param  array<string, mixed>|null  $config
     */
    public static function command(?array $config, string $name): ?string
    {
        $entry = $config[$name] ?? null;

        if (is_string($entry)) {
            return str_ends_with($entry, '.php') ? null : $entry;
        }

        return is_array($entry) ? ($entry['command'] ?? null) : null;
    }
}
