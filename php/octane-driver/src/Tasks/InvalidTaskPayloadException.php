<?php

namespace Askr\Octane\Tasks;

use RuntimeException;

/**
 * Raised in a task worker for a payload it cannot turn back into a task; the caller receives it
 * as Octane's TaskException (getClass() names this class).
 */
class InvalidTaskPayloadException extends RuntimeException
{
}
