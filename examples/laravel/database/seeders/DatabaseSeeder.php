<?php

namespace Database\Seeders;

use App\Models\User;
use Illuminate\Database\Seeder;
use Illuminate\Support\Facades\Hash;

class DatabaseSeeder extends Seeder
{
    /**
     * Two users for the login tests: password "secret" for both.
     */
    public function run()
    {
        foreach (['ada' => 'ada@example.test', 'grace' => 'grace@example.test'] as $name => $email) {
            User::query()->updateOrCreate(['email' => $email], [
                'name' => $name,
                'password' => Hash::make('secret'),
            ]);
        }
    }
}
