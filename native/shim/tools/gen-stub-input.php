<?php

/*
 * Derives the input of PHP's gen_stub.php from the driver's IDE stub
 * (php/octane-driver/stubs/natives.php), the one declaration of the natives.
 *
 * gen_stub.php reads declarations in its own dialect: it parses every @param and @return of
 * a docblock and refuses the richer types the IDE stub gives (array shapes, generics with
 * spaces). This keeps the code as it is and reduces each docblock to the tags gen_stub acts on
 * (aliases, deprecations, constant values), and adds the file tag that makes it generate the
 * function and class entries, not only the argument info.
 *
 * Usage: php gen-stub-input.php <IDE stub> <output .stub.php>
 */

// Tags of gen_stub.php's dialect that change what it generates; everything else is for people.
const GEN_STUB_TAGS = ['alias', 'implementation-alias', 'deprecated', 'tentative-return-type', 'cvalue', 'var',
    'not-serializable', 'strict-properties', 'compile-time-eval', 'refcount', 'prefer-ref', 'sensitive-param'];

[, $input, $output] = $argv + [null, null, null];
if (! is_string($input) || ! is_string($output)) {
    fwrite(STDERR, "usage: php gen-stub-input.php <IDE stub> <output .stub.php>\n");
    exit(2);
}
$source = file_get_contents($input);
if ($source === false) {
    fwrite(STDERR, "gen-stub-input.php: cannot read {$input}\n");
    exit(1);
}

$out = '';
foreach (token_get_all($source) as $token) {
    if (! is_array($token)) {
        $out .= $token;
        continue;
    }
    [$id, $text] = $token;
    if ($id === T_OPEN_TAG) {
        $out .= $text."\n/** @generate-class-entries */\n\n";
    } elseif ($id === T_DOC_COMMENT) {
        $tags = [];
        foreach (preg_split('/\R/', $text) as $line) {
            if (preg_match('/^\s*\*?\s*@([a-z-]+)\b(.*)$/', $line, $m) && in_array($m[1], GEN_STUB_TAGS, true)) {
                $tags[] = ' * @'.$m[1].rtrim($m[2]);
            }
        }
        // Keep the line count, so gen_stub's messages point at the IDE stub's lines.
        $lines = substr_count($text, "\n");
        $out .= $tags === [] ? str_repeat("\n", $lines) : "/**\n".implode("\n", $tags)."\n */".str_repeat("\n", max(0, $lines - count($tags) - 1));
    } else {
        $out .= $text;
    }
}

$tmp = $output.'.tmp';
file_put_contents($tmp, $out);
rename($tmp, $output);
