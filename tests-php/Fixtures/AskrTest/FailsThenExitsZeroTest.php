<?php

class FailsThenExitsZeroTest extends PHPUnit\Framework\TestCase
{
    public function test_a_failure(): void
    {
        $this->assertSame('expected', 'actual');
    }

    public function test_then_exit_zero(): void
    {
        exit(0);
    }
}
