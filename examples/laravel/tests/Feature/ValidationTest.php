<?php

namespace Tests\Feature;

use Tests\TestCase;

class ValidationTest extends TestCase
{
    public function test_invalid_input_is_answered_422(): void
    {
        $this->postJson('/api/validate', ['email' => 'nope', 'age' => 3])->assertStatus(422)->assertJsonValidationErrors(['email', 'age']);
    }

    public function test_valid_input_is_accepted(): void
    {
        $this->postJson('/api/validate', ['email' => 'ada@example.test', 'age' => 36])->assertOk();
    }
}
