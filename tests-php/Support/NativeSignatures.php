<?php

namespace Askr\Octane\Tests\Support;

use ReflectionClass;
use ReflectionFunction;
use ReflectionFunctionAbstract;
use ReflectionMethod;
use ReflectionNamedType;
use ReflectionParameter;
use ReflectionType;
use ReflectionUnionType;

/**
 * The signatures of the natives (namespace Ephpm\Octane) that are defined in this process, as
 * text, so that the three places that declare them can be compared: the IDE stub
 * (php/octane-driver/stubs/natives.php, the one source), the outside-askr fallbacks
 * (src/natives-outside-askr.php) and the runtime's shim (arginfo generated from the stub).
 *
 * Also a script: `php NativeSignatures.php [file to require first]` prints the JSON of
 * {@see self::defined()}, for a process that loads a declaration on its own (the stub and the
 * fallbacks declare the same functions and cannot share one process).
 */
final class NativeSignatures
{
    public const NAMESPACE = 'Ephpm\\Octane';

    /** Functions of the fallbacks' file that are not natives. */
    public const HELPERS = ['outside_askr'];

    /**
     * @return array{functions: array<string, string>, classes: array<string, array<string, string>>}
     *         function name (without namespace) => "take_request(): ?array"; class name => method => signature.
     */
    public static function defined(): array
    {
        $functions = [];

        foreach (array_merge(...array_values(get_defined_functions())) as $name) {
            $function = new ReflectionFunction($name);

            if (strcasecmp($function->getNamespaceName(), self::NAMESPACE) !== 0 || in_array($function->getShortName(), self::HELPERS, true)) {
                continue;
            }

            $functions[$function->getShortName()] = self::signature($function);
        }

        ksort($functions);
        $classes = [];

        foreach (get_declared_classes() as $name) {
            $class = new ReflectionClass($name);

            if ($class->getNamespaceName() !== self::NAMESPACE) {
                continue;
            }

            $methods = [];

            foreach ($class->getMethods() as $method) {
                $methods[$method->getName()] = self::modifiers($method).self::signature($method);
            }

            ksort($methods);
            $classes[$class->getShortName()] = ['' => ($class->isAbstract() ? 'abstract ' : '').'class'] + $methods;
        }

        ksort($classes);

        return ['functions' => $functions, 'classes' => $classes];
    }

    /** "name(int $a, string $b = '', int|float $by = 1): ?array" */
    public static function signature(ReflectionFunctionAbstract $function): string
    {
        $parameters = array_map([self::class, 'parameter'], $function->getParameters());

        return $function->getShortName().'('.implode(', ', $parameters).')'
            .($function->hasReturnType() ? ': '.self::type($function->getReturnType()) : '');
    }

    private static function parameter(ReflectionParameter $p): string
    {
        $text = ($p->hasType() ? self::type($p->getType()).' ' : '').($p->isPassedByReference() ? '&' : '')
            .($p->isVariadic() ? '...' : '').'$'.$p->getName();

        if ($p->isDefaultValueAvailable()) {
            $text .= ' = '.($p->isDefaultValueConstant() ? $p->getDefaultValueConstantName() : var_export($p->getDefaultValue(), true));
        }

        return $text;
    }

    /** Types in a canonical order: the stub's `array|int|false` and the shim's bit mask print alike. */
    private static function type(?ReflectionType $type): string
    {
        if ($type instanceof ReflectionUnionType) {
            $names = array_map(fn ($t) => ltrim((string) $t, '\\'), $type->getTypes());
            sort($names);

            return implode('|', $names);
        }

        if ($type instanceof ReflectionNamedType) {
            $name = ltrim($type->getName(), '\\');

            return ($type->allowsNull() && $name !== 'mixed' && $name !== 'null' ? '?' : '').$name;
        }

        return (string) $type;
    }

    private static function modifiers(ReflectionMethod $method): string
    {
        return implode(' ', array_filter([
            $method->isFinal() ? 'final' : null,
            $method->isAbstract() ? 'abstract' : null,
            $method->isPublic() ? 'public' : ($method->isProtected() ? 'protected' : 'private'),
            $method->isStatic() ? 'static' : null,
        ])).' ';
    }
}

if (PHP_SAPI === 'cli' && isset($argv[0]) && realpath($argv[0]) === __FILE__) {
    if (isset($argv[1])) {
        require $argv[1];
    }

    echo json_encode(NativeSignatures::defined(), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
}
