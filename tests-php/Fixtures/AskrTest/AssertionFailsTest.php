<?php

class AssertionFailsTest extends PHPUnit\Framework\TestCase
{
    public function test_a_failing_assertion(): void
    {
        $this->assertSame(1, 2, 'askr-test fixture: this assertion fails');
    }
}
