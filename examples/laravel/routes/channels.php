<?php

use Illuminate\Support\Facades\Broadcast;

// Channel authorization for /broadcasting/auth (Laravel's own route).

// private-orders.{id}: only that user.
Broadcast::channel('orders.{userId}', fn ($user, $userId) => (int) $user->id === (int) $userId);

// presence-room.{id}: every signed-in user, with its name as user_info.
Broadcast::channel('room.{roomId}', fn ($user) => ['id' => $user->id, 'name' => $user->name]);
