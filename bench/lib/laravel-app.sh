# shellcheck shell=bash disable=SC2034  # sets globals (APP_ENV_VARS, SESSION_DIR, ...) that the scripts read
# The example Laravel app (examples/laravel) prepared the same way for every server a bench script
# compares (sourced after lib/common.sh; used by bench/laravel and bench/swoole).
#
# laravel_app_prepare: with LARAVEL_CACHE=1, `php artisan config:cache` and `route:cache` into
# $BENCH_TMP/laravel (APP_CONFIG_CACHE / APP_ROUTES_CACHE, so nothing is written under
# examples/laravel/bootstrap/cache) and, in that cached config only, the session files, the log
# file, Octane's state file, askr's tables file and Swoole's log file moved into the temp dir: the
# run leaves the app directory as it found it and does not clash with someone else's
# `octane:start` there. LARAVEL_CACHE=0 skips the caches (the servers then read .env and config/,
# and write to the app's storage/).
#
# Reads: APP, BENCH_TMP, LARAVEL_CACHE (0|1), SESSION_DRIVER_OVERRIDE (''|file|array|cookie),
#        SWOOLE_PHP_OPTIONS (optional array: octane.swoole.php_options, the php options Octane's
#        swoole command gives the swoole-server process it starts, e.g. (-d extension=/x/swoole.so))
# Sets:  APP_ENV_VARS (NAME=VALUE for every server's environment), LARAVEL_TMP, SESSION_DIR,
#        LOG_FILE, and, read back the way the servers read it, APP_ENV_NAME, APP_DEBUG, SESSION_DRIVER.
# Dies if the app would not run with APP_ENV=production and APP_DEBUG=false.
laravel_app_prepare() {
    LARAVEL_TMP=$BENCH_TMP/laravel
    mkdir -p "$LARAVEL_TMP/sessions" "$LARAVEL_TMP/logs"
    APP_ENV_VARS=()
    if [[ -n ${SESSION_DRIVER_OVERRIDE:-} ]]; then APP_ENV_VARS+=("SESSION_DRIVER=$SESSION_DRIVER_OVERRIDE"); fi
    SESSION_DIR=$APP/storage/framework/sessions
    LOG_FILE=$APP/storage/logs/laravel.log
    if ((LARAVEL_CACHE)); then
        APP_ENV_VARS+=("APP_CONFIG_CACHE=$LARAVEL_TMP/config.php" "APP_ROUTES_CACHE=$LARAVEL_TMP/routes.php")
        (cd "$APP" && env "${APP_ENV_VARS[@]}" php artisan config:cache >"$LARAVEL_TMP/cache.out" 2>&1 &&
            env "${APP_ENV_VARS[@]}" php artisan route:cache >>"$LARAVEL_TMP/cache.out" 2>&1) ||
            { cat "$LARAVEL_TMP/cache.out" >&2; die "php artisan config:cache / route:cache failed"; }
        SESSION_DIR=$LARAVEL_TMP/sessions
        LOG_FILE=$LARAVEL_TMP/logs/laravel.log
        # Only the cached copy changes: paths into the temp dir (see above).
        # shellcheck disable=SC2016  # PHP code
        php -r '
            [, $file, $sessions, $log, $state, $tables, $swooleLog] = $argv;
            $phpOptions = array_slice($argv, 7);
            $c = require $file;
            $c["session"]["files"] = $sessions;
            $c["logging"]["channels"]["single"]["path"] = $log;
            $c["octane"]["state_file"] = $state;
            $c["octane"]["askr"]["tables_file"] = $tables;
            $c["octane"]["swoole"]["options"]["log_file"] = $swooleLog;
            if ($phpOptions !== []) { $c["octane"]["swoole"]["php_options"] = $phpOptions; }
            file_put_contents($file, "<?php return ".var_export($c, true).";".PHP_EOL);
        ' "$LARAVEL_TMP/config.php" "$SESSION_DIR" "$LOG_FILE" "$LARAVEL_TMP/octane-server-state.json" \
            "$LARAVEL_TMP/askr-tables.json" "$LARAVEL_TMP/logs/swoole_http.log" ${SWOOLE_PHP_OPTIONS[@]+"${SWOOLE_PHP_OPTIONS[@]}"}
    fi
    # What the app will run with, read the way the servers read it.
    read -r APP_ENV_NAME APP_DEBUG SESSION_DRIVER <<<"$(cd "$APP" && env "${APP_ENV_VARS[@]}" php -r '
        require "vendor/autoload.php"; $app = require "bootstrap/app.php";
        $app->make(Illuminate\Contracts\Console\Kernel::class)->bootstrap();
        echo config("app.env"), " ", var_export(config("app.debug"), true), " ", config("session.driver"), "\n";')"
    [[ $APP_ENV_NAME == production && $APP_DEBUG == false ]] ||
        die "the app must run with APP_ENV=production and APP_DEBUG=false (examples/laravel/.env); it has APP_ENV=$APP_ENV_NAME APP_DEBUG=$APP_DEBUG"
    log "app: APP_ENV=$APP_ENV_NAME APP_DEBUG=$APP_DEBUG, session driver '$SESSION_DRIVER', config/route cache: $( ((LARAVEL_CACHE)) && echo on || echo off)"
    log "app: session files in $SESSION_DIR, log in $LOG_FILE"
}

# laravel_app_require_octane: OCTANE_PATH must hold laravel/octane (exits 2 otherwise, with how to
# export it), and the app's vendor/autoload.php must exist (runs examples/laravel/setup.sh if not).
laravel_app_require_octane() {
    if [[ ! -f $OCTANE_PATH/src/Worker.php ]]; then
        log "error: laravel/octane not found at OCTANE_PATH=$OCTANE_PATH (no src/Worker.php there)."
        log "       Export its source there, e.g.: git --git-dir=<clone of laravel/octane>/.git archive v1.5.6 | tar -x -C \"$OCTANE_PATH\""
        exit 2
    fi
    export OCTANE_PATH
    if [[ ! -f $APP/vendor/autoload.php ]]; then
        log "examples/laravel/vendor/autoload.php missing: running examples/laravel/setup.sh"
        "$APP/setup.sh" >&2 || die "examples/laravel/setup.sh failed"
    fi
    # The generated vendor/autoload.php loads Octane from $OCTANE_PATH (exported above) when it is set;
    # a Composer install (ASKR_EXAMPLE_COMPOSER=1) loads its own.
    if ! grep -qF "getenv('OCTANE_PATH')" "$APP/vendor/autoload.php"; then
        log "warning: examples/laravel/vendor/autoload.php does not take Octane from OCTANE_PATH (a Composer install, or an old one: rerun examples/laravel/setup.sh)"
    fi
    [[ -f $APP/.env ]] || die "examples/laravel/.env missing (run examples/laravel/setup.sh)"
}
