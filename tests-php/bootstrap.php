<?php

/*
 * Test bootstrap without Composer: Debian's Laravel 8.83 (php-laravel-framework), Mockery,
 * laravel/octane from $OCTANE_PATH (default ~/.cache/askr/octane-1.5.6) or
 * php/octane-driver/vendor/laravel/octane, the driver and the tests themselves.
 * With a Composer install of the driver (php/octane-driver/vendor/autoload.php) that is used instead.
 */

$repository = dirname(__DIR__);
$driver = $repository.'/php/octane-driver';

if (is_file($driver.'/vendor/autoload.php')) {
    require_once $driver.'/vendor/autoload.php';
} else {
    $illuminate = stream_resolve_include_path('Illuminate/autoload.php')
        ?: (is_file('/usr/share/php/Illuminate/autoload.php') ? '/usr/share/php/Illuminate/autoload.php' : false);

    if ($illuminate === false) {
        fwrite(STDERR, "Laravel was not found: install Debian's php-laravel-framework or run composer install in php/octane-driver.\n");
        exit(1);
    }

    set_include_path(get_include_path().PATH_SEPARATOR.dirname($illuminate, 2));
    require_once $illuminate;

    if ($mockery = stream_resolve_include_path('Mockery/autoload.php')) {
        require_once $mockery;
    }
}

$octanePath = getenv('OCTANE_PATH') ?: ((getenv('HOME') ?: '/root').'/.cache/askr/octane-1.5.6');

foreach ([$octanePath, $driver.'/vendor/laravel/octane'] as $candidate) {
    if (is_file($candidate.'/src/Worker.php')) {
        define('ASKR_TESTS_OCTANE_PATH', realpath($candidate));
        break;
    }
}

defined('ASKR_TESTS_OCTANE_PATH') || define('ASKR_TESTS_OCTANE_PATH', null);

spl_autoload_register(static function (string $class) use ($driver): void {
    $prefixes = [
        'Askr\\Octane\\Tests\\' => __DIR__.'/',
        'Askr\\Octane\\' => $driver.'/src/',
    ];

    if (ASKR_TESTS_OCTANE_PATH !== null) {
        $prefixes['Laravel\\Octane\\'] = ASKR_TESTS_OCTANE_PATH.'/src/';
    }

    foreach ($prefixes as $prefix => $directory) {
        if (str_starts_with($class, $prefix)) {
            $file = $directory.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';

            if (is_file($file)) {
                require $file;
            }

            return;
        }
    }
});

require_once $driver.'/src/natives-outside-askr.php';
require_once $driver.'/src/Lifecycle/functions.php';
