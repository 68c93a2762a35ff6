<?php
// Worker script for the table natives' tests (tests-dotnet/Askr.Tests/Tables/TableNativesTests.cs).

use function Ephpm\Octane\{take_request, send_response, table_open, table_get, table_set, table_incr, table_del, table_exists, table_count, table_scan};

$example = table_open('example');
$tiny = table_open('tiny');

function reply(mixed $data, int $status = 200): void
{
    send_response($status, ['Content-Type' => 'application/json'], json_encode($data, JSON_PRESERVE_ZERO_FRACTION));
}

// Ephpm\Octane\Table, the internal class whose methods are the table operations: as plain as a
// subclass can be, and one that overrides both error hooks.
final class PlainTable extends Ephpm\Octane\Table
{
    public function __construct(int $handle)
    {
        $this->bindHandle($handle);
    }

    public function bindAgain(int $handle): void
    {
        $this->bindHandle($handle);
    }
}

final class HookedTable extends Ephpm\Octane\Table
{
    public array $calls = [];

    public function __construct(int $handle)
    {
        $this->bindHandle($handle);
    }

    protected function clearer(ValueError $e, string $key): ValueError
    {
        $this->calls[] = ['clearer', $key];

        return new ValueError('cleared: '.$e->getMessage(), 0, $e);
    }

    protected function setFailure(ValueError $e, string $key, array $value): ValueError
    {
        $this->calls[] = ['setFailure', $key, array_keys($value)];

        return parent::setFailure($e, $key, $value); // the internal default: $this->clearer($e, $key)
    }
}

/** [class, message, previous message] of what $call throws, or ['value' => ...]. */
function outcome(Closure $call): array
{
    try {
        return ['value' => $call()];
    } catch (Throwable $e) {
        return [get_class($e), $e->getMessage(), $e->getPrevious()?->getMessage()];
    }
}

while (($request = take_request()) !== null) {
    parse_str(parse_url($request['uri'], PHP_URL_QUERY) ?? '', $q);
    $h = ($q['table'] ?? 'example') === 'tiny' ? $tiny['handle'] : $example['handle'];
    try {
        switch (parse_url($request['uri'], PHP_URL_PATH)) {
            case '/open':
                reply([$example, $tiny]);
                break;
            case '/names':
                reply(['names' => \Ephpm\Octane\table_names()]);
                break;
            case '/set':
                reply(['ok' => table_set($h, $q['key'], json_decode($q['row'], true)), 'pid' => getmypid()]);
                break;
            case '/get':
                reply(['value' => isset($q['column']) ? table_get($h, $q['key'], $q['column']) : table_get($h, $q['key']), 'pid' => getmypid()]);
                break;
            case '/incr':
                $by = isset($q['by']) ? json_decode($q['by']) : 1;
                reply(['value' => table_incr($h, $q['key'], $q['column'], $by), 'pid' => getmypid()]);
                break;
            case '/del':
                reply(['deleted' => table_del($h, $q['key'])]);
                break;
            case '/exists':
                reply(['exists' => table_exists($h, $q['key'])]);
                break;
            case '/count':
                reply(['count' => table_count($h)]);
                break;
            case '/scan':
                $all = [];
                $cursor = 0;
                do {
                    [$cursor, $rows] = table_scan($h, $cursor, 3);
                    $all += $rows;
                } while ($cursor !== 0);
                reply(['rows' => $all]);
                break;
            case '/class/reflection':
                $class = new ReflectionClass(Ephpm\Octane\Table::class);
                $methods = [];
                foreach (['get', 'set', 'incr', 'decr', 'exists', 'exist', 'del', 'delete', 'bindHandle', 'clearer', 'setFailure'] as $name) {
                    $m = new ReflectionMethod(PlainTable::class, $name);
                    $methods[$name] = ['internal' => $m->isInternal(), 'public' => $m->isPublic(), 'final' => $m->isFinal(), 'class' => $m->getDeclaringClass()->getName(), 'signature' => implode(', ', array_map(fn ($p) => $p->getType().' $'.$p->getName().($p->isOptional() ? ' = '.var_export($p->getDefaultValue(), true) : ''), $m->getParameters())).' : '.$m->getReturnType()];
                }
                reply(['abstract' => $class->isAbstract(), 'final' => $class->isFinal(), 'methods' => $methods]);
                break;
            case '/class/ops':
                $t = new PlainTable($h);
                $k = $q['key'];
                reply([
                    'set' => $t->set($k, ['name' => 'ada', 'votes' => 3, 'undeclared' => 1]),
                    'get' => $t->get($k),
                    'column' => $t->get($k, 'votes'),
                    'named' => $t->get(field: 'name', key: $k),
                    'no column' => $t->get($k, 'nope'),
                    'incr' => $t->incr($k, 'votes'),
                    'incr by' => $t->incr($k, 'votes', 5),
                    'incr float on int' => $t->incr($k, 'votes', 1.9),
                    'decr' => $t->decr($k, 'votes'),
                    'decr by' => $t->decr($k, 'votes', 2),
                    'incr score' => $t->incr($k, 'score', 0.5),
                    'decr score' => $t->decr($k, 'score', 2),
                    'incr numeric string' => $t->incr($k, 'votes', '10'),
                    'natives' => table_get($h, $k),
                    'exists' => $t->exists($k),
                    'exist' => $t->exist($k),
                    'del' => $t->del($k),
                    'delete again' => $t->delete($k),
                    'exists after' => $t->exists($k),
                    'missing' => $t->get($k),
                    'missing column' => $t->get($k, 'votes'),
                    'clone' => (clone $t)->incr($k.'c', 'votes', 7),
                    'read by the original' => $t->get($k.'c', 'votes'),
                ]);
                break;
            case '/class/errors':
                $plain = new PlainTable($h);
                $hooked = new HookedTable($h);
                $long = str_repeat('k', 64);
                $errors = [];
                foreach ([
                    'incr string column' => [fn ($t) => $t->incr('e', 'name'), fn () => table_incr($h, 'e', 'name')],
                    'incr missing column' => [fn ($t) => $t->incr('e', 'nope'), fn () => table_incr($h, 'e', 'nope')],
                    'decr string column' => [fn ($t) => $t->decr('e', 'name'), fn () => table_incr($h, 'e', 'name', -1)],
                    'get long key' => [fn ($t) => $t->get($long), fn () => table_get($h, $long)],
                    'get empty key' => [fn ($t) => $t->get(''), fn () => table_get($h, '')],
                    'exists long key' => [fn ($t) => $t->exists($long), fn () => table_exists($h, $long)],
                    'del long key' => [fn ($t) => $t->del($long), fn () => table_del($h, $long)],
                    'incr long key' => [fn ($t) => $t->incr($long, 'votes'), fn () => table_incr($h, $long, 'votes')],
                    'set long key' => [fn ($t) => $t->set($long, ['votes' => 1]), fn () => table_set($h, $long, ['votes' => 1])],
                    'set long value' => [fn ($t) => $t->set('e', ['name' => str_repeat('x', 17)]), fn () => table_set($h, 'e', ['name' => str_repeat('x', 17)])],
                ] as $what => [$method, $native]) {
                    $errors[$what] = ['plain' => outcome(fn () => $method($plain)), 'native' => outcome($native), 'hooked' => outcome(fn () => $method($hooked))];
                }
                $small = new PlainTable($tiny['handle']); // 2 rows
                $errors['full'] = ['plain' => outcome(function () use ($small) {
                    for ($i = 0; $i < 3; $i++) {
                        $small->incr("full-{$i}", 'n');
                    }
                })];
                for ($i = 0; $i < 3; $i++) {
                    $small->del("full-{$i}");
                }
                $errors['null key'] = ['plain' => outcome(fn () => $plain->get(null))];
                $errors['string incrby'] = ['plain' => outcome(fn () => $plain->incr('e', 'votes', 'many'))];
                $errors['too few arguments'] = ['plain' => outcome(fn () => $plain->incr('e'))];
                reply(['errors' => $errors, 'hook calls' => $hooked->calls]);
                break;
            case '/class/binding':
                $unbound = (new ReflectionClass(PlainTable::class))->newInstanceWithoutConstructor();
                reply([
                    'unbound' => outcome(fn () => $unbound->get('a')),
                    'bound twice' => outcome(fn () => (new PlainTable($h))->bindAgain($h)),
                    'not a handle' => outcome(fn () => new PlainTable(999)),
                    'abstract' => outcome(fn () => new Ephpm\Octane\Table()),
                    'from outside' => outcome(fn () => (new PlainTable($h))->bindHandle($h)),
                ]);
                break;
            case '/unknown-table':
                table_open('nope');
                break;
            default:
                reply(['error' => 'no route'], 404);
        }
    } catch (\Throwable $e) {
        reply(['exception' => get_class($e), 'message' => $e->getMessage()], 500);
    }
}
