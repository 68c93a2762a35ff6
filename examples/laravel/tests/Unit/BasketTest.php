<?php

namespace Tests\Unit;

use App\Support\Basket;
use Tests\TestCase;

class BasketTest extends TestCase
{
    public function test_the_basket_is_a_class_of_the_app(): void
    {
        $this->assertTrue(class_exists(Basket::class));
    }
}
