<?php

use Illuminate\Http\Request;
use Illuminate\Support\Facades\Route;

Route::post('/validate', function (Request $request) {
    $data = $request->validate([
        'email' => 'required|email',
        'age' => 'required|integer|min:18',
    ]);

    return ['valid' => $data];
});

Route::get('/json', fn () => ['hello' => 'world']);
