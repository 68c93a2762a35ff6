<?php

namespace Askr\Octane\Tests\Support;

trait RequiresOctane
{
    protected function requireOctane(): void
    {
        if (ASKR_TESTS_OCTANE_PATH === null) {
            $this->markTestSkipped(
                'laravel/octane was not found. Export its source (v1.5.6 runs on Debian\'s Laravel 8.83) and point '
                .'OCTANE_PATH at it, e.g. `git --git-dir=<clone of github.com/laravel/octane>/.git archive v1.5.6 '
                .'| tar -x -C ~/.cache/askr/octane-1.5.6`, or run composer install in php/octane-driver.'
            );
        }
    }
}
