<?php

namespace App\Support;

/**
 * A container singleton that requests mutate: under Octane each request must see an empty one.
 */
class Basket
{
    /** @var list<string> */
    private array $items = [];

    public function add(string $item): void
    {
        $this->items[] = $item;
    }

    /** @return list<string> */
    public function items(): array
    {
        return $this->items;
    }
}
