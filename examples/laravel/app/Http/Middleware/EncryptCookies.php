<?php

namespace App\Http\Middleware;

use Illuminate\Cookie\Middleware\EncryptCookies as Middleware;

class EncryptCookies extends Middleware
{
    /**
     * Cookies a client sets by hand in the end-to-end tests; all others are encrypted.
     *
     * @var array<int, string>
     */
    protected $except = [
        'plain',
    ];
}
