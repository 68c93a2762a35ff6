<?php

namespace Askr\Octane\Tables;

use ValueError;

/**
 * A table key that is empty or longer than 63 bytes. Swoole\Table silently truncates long
 * keys (so two keys with the same first 63 bytes share a row); askr refuses them.
 */
class InvalidKeyException extends ValueError
{
}
