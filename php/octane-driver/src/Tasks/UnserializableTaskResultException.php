<?php

namespace Askr\Octane\Tasks;

use RuntimeException;

/**
 * Raised in a task worker when a task's result cannot be serialized (a closure, a connection,
 * ...); the caller receives it as Octane's TaskException (getClass() names this class).
 */
class UnserializableTaskResultException extends RuntimeException
{
}
