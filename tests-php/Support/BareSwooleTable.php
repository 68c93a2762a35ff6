<?php

namespace Askr\Octane\Tests\Support;

/**
 * A subclass of Swoole\Table that, like Octane's Laravel\Octane\Tables\SwooleTable, implements
 * none of Swoole\Table's methods itself: declaring it must not be a fatal error.
 */
class BareSwooleTable extends \Swoole\Table
{
}
