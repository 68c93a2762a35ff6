namespace Askr.WebSockets.Pusher;

/// <summary>
/// One client connection as the protocol sees it; the transport (WebSockets/PusherWebSocket)
/// implements the sending. <see cref="Send"/> never blocks: it queues the frame, and a client
/// whose queue is full is closed with 4100 (over capacity) so it cannot hold back others.
/// </summary>
public abstract class PusherConnection
{
    protected PusherConnection(PusherApp app, string socketId)
    {
        App = app;
        SocketId = socketId;
        LastSeen = Environment.TickCount64;
    }

    public PusherApp App { get; }
    /// <summary>The socket id (<c>digits.digits</c>), unique on the node.</summary>
    public string SocketId { get; }

    /// <summary>Channels this connection is subscribed to (guarded by the server's lock).</summary>
    internal HashSet<string> Channels { get; } = new(StringComparer.Ordinal);
    /// <summary>Presence user id per presence channel (guarded by the server's lock).</summary>
    internal Dictionary<string, string> PresenceUsers { get; } = new(StringComparer.Ordinal);

    /// <summary>The user this connection signed in as (<c>pusher:signin</c>), or null (guarded by the server's lock).</summary>
    internal string? UserId { get; set; }

    /// <summary>Environment.TickCount64 of the last frame received.</summary>
    internal long LastSeen;
    /// <summary>Environment.TickCount64 of the server's unanswered pusher:ping; 0 = none outstanding.</summary>
    internal long PingSent;

    // Client events: a token bucket (refilled at the limit's rate, holding at most one second of it).
    private double _tokens = -1;
    private long _tokensAt;

    /// <summary>Takes one client event from the bucket; false: over <paramref name="perSecond"/>.</summary>
    internal bool TryTakeClientEvent(int perSecond)
    {
        var now = Environment.TickCount64;
        if (_tokens < 0) { _tokens = perSecond; _tokensAt = now; }
        _tokens = Math.Min(perSecond, _tokens + (now - _tokensAt) * perSecond / 1000.0);
        _tokensAt = now;
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    /// <summary>Queues one text frame (UTF-8 JSON). False if the connection is closed or was just closed for being over capacity.</summary>
    public abstract bool Send(byte[] utf8Json);

    /// <summary>Sends a close frame with this code (RFC 6455 §7.4; Pusher's 4000–4999) after what is queued, then ends the connection.</summary>
    public abstract void Close(int code, string reason);
}
