<?php

class SegfaultTest extends PHPUnit\Framework\TestCase
{
    public function test_a_segfault(): void
    {
        posix_kill(getmypid(), SIGSEGV);
        $this->fail('still alive after SIGSEGV');
    }
}
