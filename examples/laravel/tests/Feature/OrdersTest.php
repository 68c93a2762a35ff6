<?php

namespace Tests\Feature;

use Tests\TestCase;

class OrdersTest extends TestCase
{
    public function test_an_order_with_a_positive_quantity_is_accepted(): void
    {
        $this->postJson('/api/orders', ['qty' => 2])->assertOk()->assertExactJson(['accepted' => 2]);
    }

    public function test_an_order_without_a_quantity_fails(): void
    {
        $this->withoutExceptionHandling();
        $this->expectExceptionMessage('order rejected: qty=0');

        $this->postJson('/api/orders', []);
    }
}
