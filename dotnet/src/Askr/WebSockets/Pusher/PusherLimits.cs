namespace Askr.WebSockets.Pusher;

/// <summary>The protocol's limits (defaults: Reverb's and Pusher's published ones).</summary>
public sealed record PusherLimits
{
    /// <summary>Seconds of silence after which either side pings (sent in connection_established; Reverb: 30, Pusher: 120).</summary>
    public int ActivityTimeoutSeconds { get; init; } = 30;
    /// <summary>Seconds the server waits for a pong to its ping before closing with 4201.</summary>
    public int PongTimeoutSeconds { get; init; } = 30;
    /// <summary>Largest message a client may send, in bytes (Reverb's max_message_size: 10,000); larger: pusher:error, dropped.</summary>
    public int MaxMessageBytes { get; init; } = 10_000;
    /// <summary>Client events a connection may send per second (Pusher: 10); more: closed with 4301.</summary>
    public int ClientEventsPerSecond { get; init; } = 10;
    /// <summary>Frames queued for a client that does not read before it is closed with 4100.</summary>
    public int MaxQueuedFrames { get; init; } = 1024;
    /// <summary>Channels one connection may be subscribed to; more: pusher:error 4200 (memory stays bounded under a subscribe burst).</summary>
    public int MaxChannelsPerConnection { get; init; } = 100;
    /// <summary>Channels of one HTTP API event (Pusher: 100).</summary>
    public int MaxEventChannels { get; init; } = 100;
    /// <summary>
    /// Connections each app may have open on the node (<c>--pusher-max-connections</c>); 0 = unlimited. Past it a new
    /// connection gets <c>pusher:error</c> 4004 "Application is over connection quota" and close 4004 (Pusher's code;
    /// pusher-js does not reconnect after a 4000–4099 close). Node-wide through the supervisor's counts, so a burst
    /// spread over several workers may pass it by at most a few connections (each worker admits on its last report).
    /// </summary>
    public int MaxConnectionsPerApp { get; init; }
    /// <summary>Events in one batch_events request (Pusher: 10).</summary>
    public int MaxBatchEvents { get; init; } = 10;
}
