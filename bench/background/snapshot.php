<?php
// The 1 KB snapshot of bench/background: 16 keys of short strings, ints, floats and a nested list.
function bench_snapshot(): array
{
    $vars = [];
    for ($i = 0; $i < 16; $i++) {
        $vars["key_$i"] = ['name' => str_repeat(chr(97 + $i), 24), 'n' => $i * 1000, 'f' => $i / 3, 'on' => $i % 2 === 0];
    }

    return $vars;
}
