<?php

class FatalTest extends PHPUnit\Framework\TestCase
{
    public function test_a_fatal_error(): void
    {
        ini_set('memory_limit', '32M');
        $this->assertNotEmpty(str_repeat('x', 64 * 1024 * 1024));
    }
}
