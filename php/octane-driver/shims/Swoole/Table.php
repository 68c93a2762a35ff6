<?php

/*
 * The name Swoole\Table for PHP builds without ext-swoole / ext-openswoole.
 *
 * Octane::table() declares `Swoole\Table` as its return type, so the tables askr gives an
 * application must be instances of a class of that name. Without the extension this file
 * declares it: an abstract base with Swoole's interfaces, type constants (numbered as askr's
 * natives number column types), its $size and $memorySize properties, and a body for every
 * method of Iterator and Countable (Concerns\StandsInForSwooleTable), so that any subclass of
 * Swoole\Table can be declared: Octane's Laravel\Octane\Tables\SwooleTable does not implement
 * them, and a class missing an interface's methods is a fatal error no try/catch stops. Its
 * constructor refuses to create a table at run time, with the reason. The implementation is
 * Askr\Octane\Tables\Table; only src/Tables/Table.php loads this file, and only when no
 * Swoole\Table exists, so an application that never touches askr's tables, and every other
 * Octane server, never sees it. Swoole\Http\Server is deliberately not declared: Octane
 * reads its existence as "Swoole is installed" and would change its coroutine dispatcher.
 *
 * Inside an askr worker it extends Ephpm\Octane\Table, the runtime's internal class whose
 * get/set/incr/decr/exists/exist/del/delete are C methods (docs/natives.md): the table that
 * Octane::table() returns inherits them and runs no PHP frame around the shared store. That
 * class exists only inside `askr serve`; elsewhere (PHPUnit, artisan) the base is plain.
 *
 * An abstract class: askr's tables are created by the runtime from config/octane.php, not with
 * `new Swoole\Table(...)` at run time.
 */

namespace Swoole;

if (! \class_exists(Table::class, false)) {
    if (\class_exists(\Ephpm\Octane\Table::class, false)) {
        abstract class Table extends \Ephpm\Octane\Table implements \Iterator, \Countable
        {
            use \Askr\Octane\Tables\Concerns\StandsInForSwooleTable;

            public const TYPE_INT = 1;

            public const TYPE_FLOAT = 2;

            public const TYPE_STRING = 3;

            /** Marks this declaration as askr's (not the extension's). */
            public const ASKR_SHIM = true;
        }
    } else {
        abstract class Table implements \Iterator, \Countable
        {
            use \Askr\Octane\Tables\Concerns\StandsInForSwooleTable;

            public const TYPE_INT = 1;

            public const TYPE_FLOAT = 2;

            public const TYPE_STRING = 3;

            /** Marks this declaration as askr's (not the extension's). */
            public const ASKR_SHIM = true;
        }
    }
}
