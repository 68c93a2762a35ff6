<?php

namespace Tests\Feature;

use Tests\TestCase;

class JsonRouteTest extends TestCase
{
    public function test_the_json_route_answers_json(): void
    {
        $this->get('/json')->assertOk()->assertExactJson(['hello' => 'world']);
    }

    public function test_the_api_json_route_answers_json(): void
    {
        $this->getJson('/api/json')->assertOk()->assertExactJson(['hello' => 'world']);
    }
}
