<?php

namespace Tests\Feature;

use Tests\TestCase;

class SessionTest extends TestCase
{
    public function test_the_session_counter_counts_within_one_session(): void
    {
        $this->get('/session/counter')->assertJson(['counter' => 1]);
        $this->get('/session/counter')->assertJson(['counter' => 2]);
    }
}
