<?php

// askr test's isolation (tests-php/Feature/AskrTestCommandTest): each file sets a global and
// must not see the other's, which it would if both ran in one process.
class IsolationATest extends PHPUnit\Framework\TestCase
{
    public function test_the_other_files_global_is_not_visible(): void
    {
        $GLOBALS['askr_isolation_A'] = true;
        $this->assertArrayNotHasKey('askr_isolation_B', $GLOBALS);
    }
}
