<?php

namespace App\Events;

use Illuminate\Broadcasting\Channel;
use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PresenceChannel;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;

/** Broadcast at once (no queue) to one public, private or presence channel: routes/web.php's /broadcast. */
class ExampleBroadcast implements ShouldBroadcastNow
{
    use InteractsWithSockets;

    public function __construct(public string $kind, public string $name, public string $message)
    {
    }

    public function broadcastOn()
    {
        return match ($this->kind) {
            'private' => new PrivateChannel($this->name),
            'presence' => new PresenceChannel($this->name),
            default => new Channel($this->name),
        };
    }

    public function broadcastAs()
    {
        return 'example';
    }
}
