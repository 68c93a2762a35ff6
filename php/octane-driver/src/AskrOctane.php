<?php

namespace Askr\Octane;

use Exception;
use Laravel\Octane\Octane;
use Laravel\Octane\Swoole\WorkerState;
use Swoole\Table;

/**
 * Octane's Octane service (the `Octane` facade) inside askr workers. The askr worker passes it
 * as the instance of Laravel\Octane\Octane when it boots the application, so nothing changes
 * for Octane's other servers or outside askr.
 *
 * Octane::table() only answers when 'Swoole\Http\Server' is bound in the container; binding that
 * name would also make Octane::concurrently() send tasks to a Swoole server that does not exist.
 * This subclass answers from the tables askr opened (WorkerState->tables) instead.
 */
class AskrOctane extends Octane
{
    /**
     * The shared table declared as config('octane.tables')['<name>:<rows>'].
     *
     * @throws Exception when no such table is declared.
     */
    public function table(string $table): Table
    {
        $tables = app()->bound(WorkerState::class) ? (app(WorkerState::class)->tables ?? []) : [];

        if (isset($tables[$table])) {
            return $tables[$table];
        }

        throw new Exception($tables === []
            ? "Table [{$table}] has not been configured: askr opens the tables of config/octane.php 'tables' when the "
                .'server starts (php artisan octane:start --server=askr); restart the server after declaring one.'
            : "Table [{$table}] has not been configured in config/octane.php 'tables' (declared: "
                .implode(', ', array_keys($tables)).').');
    }
}
