<?php

namespace Askr\Octane\Tables;

use Askr\Octane\AskrOctane;
use Askr\Octane\Server\RuntimeNatives;
use Askr\Octane\Server\TableNatives;
use Laravel\Octane\Octane;
use Laravel\Octane\Swoole\WorkerState;
use ReflectionClass;

/**
 * The tables one askr worker opens at boot, and how they reach the application: as the
 * initial container instances of Octane's Worker::boot(), the way Octane's Swoole server
 * passes its tables (WorkerState->tables, 'octane.cacheTable').
 */
final class WorkerTables
{
    /**
     * @param  array<string, Table>  $tables  config('octane.tables') by name.
     * @param  Table|null  $cacheTable  The octane cache store's table, when config('octane.cache') is set.
     */
    public function __construct(
        public readonly array $tables = [],
        public readonly ?Table $cacheTable = null,
    ) {
    }

    /**
     * Opens every table the runtime holds (Ephpm\Octane\table_names()): the runtime parsed the
     * tables file once, at `askr serve --tables`, so a worker never reads or interprets it again.
     * "octane_cache" becomes the cache table, every other name one of config('octane.tables').
     * No tables when the server was started without any.
     */
    public static function fromRuntime(?TableNatives $natives = null): self
    {
        $natives ??= new RuntimeNatives;
        $tables = [];
        $cacheTable = null;

        foreach ($natives->tableNames() as $name) {
            if ($name === TableDeclarations::CACHE_TABLE) {
                $cacheTable = Table::open($name, $natives);
            } else {
                $tables[$name] = Table::open($name, $natives);
            }
        }

        return new self($tables, $cacheTable);
    }

    /**
     * The initial instances for Worker::boot():
     *
     * - Laravel\Octane\Octane => AskrOctane: the 'octane' singleton (the Octane facade) is built
     *   from that class name, so Octane::table() answers from askr's tables, in askr workers only;
     * - Laravel\Octane\Swoole\WorkerState with `tables` and `cacheTable`, where Octane keeps them;
     * - 'octane.cacheTable': Octane's service provider then backs Cache::store('octane') with its
     *   own OctaneStore over the shared table instead of a per-worker array store.
     *
     * @return array<string, object>
     */
    public function initialInstances(): array
    {
        $instances = [Octane::class => new AskrOctane];

        if (self::loadWorkerState()) {
            $state = new WorkerState;
            $state->tables = $this->tables;
            $state->cacheTable = $this->cacheTable;
            $state->workerPid = getmypid();

            $instances[WorkerState::class] = $state;
        }

        if ($this->cacheTable !== null) {
            $instances['octane.cacheTable'] = $this->cacheTable;
        }

        return $instances;
    }

    /**
     * Octane's WorkerState lives in its bin/ directory, outside its autoloaded src/.
     */
    public static function loadWorkerState(): bool
    {
        if (class_exists(WorkerState::class)) {
            return true;
        }

        $file = dirname((new ReflectionClass(Octane::class))->getFileName(), 2).'/bin/WorkerState.php';

        if (is_file($file)) {
            require_once $file;
        }

        return class_exists(WorkerState::class, false);
    }
}
