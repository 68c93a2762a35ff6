<?php
// The snapshot of every value type set_vars() takes, shared by the background worker that
// publishes it (worker.php, name "types") and the HTTP worker that reads it back (router.php).

enum Colour: string
{
    case Red = 'red';
    case Blue = 'blue';
}

enum Level: int
{
    case Low = 1;
    case High = 9;
}

enum Pure
{
    case One;
}

function every_value_type(): array
{
    return [
        'null' => null,
        'true' => true,
        'false' => false,
        'int' => PHP_INT_MAX,
        'negative' => -42,
        'float' => 3.25,
        'tiny_float' => 1.0e-300,
        'string' => 'héllo',
        'binary' => "\0\xff\x01bin\0",
        'empty' => '',
        'list' => [1, 2, 3],
        'nested' => ['a' => ['b' => ['c' => [true, null, 1.5]]], 7 => 'seven'],
        'enum_string' => Colour::Blue,
        'enum_int' => Level::High,
        'enum_in_list' => [Colour::Red, Level::Low],
    ];
}
