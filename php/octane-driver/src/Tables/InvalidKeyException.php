<?php

namespace Askr\Octane\Tables;

use ValueError;

/**
 * A table key that is empty or longer than 63 bytes (Table::clearer() gives each its message).
 * Swoole\Table up to 6.2 truncates long keys (so two keys with the same first 63 bytes share a
 * row) and accepts the empty key; askr refuses both (docs/tables-php.md).
 */
class InvalidKeyException extends ValueError
{
}
