namespace Askr.WebSockets.Pusher;

/// <summary>
/// An event to deliver to the subscribers of channels: triggered through the HTTP API or the
/// broadcast native (data: a JSON string literal), or a client event (data: the JSON value the
/// client sent, and the sender's user id on presence channels). The unit a worker relays to the
/// node's other workers.
/// </summary>
/// <param name="AppId">The Pusher app.</param>
/// <param name="Channels">Channel names (the HTTP API allows up to 100).</param>
/// <param name="Name">The event name.</param>
/// <param name="DataJson">The <c>data</c> member as JSON text, written as is.</param>
/// <param name="ExceptSocketId">A socket id not to deliver to (the sender's, <c>socket_id</c> of the HTTP API).</param>
/// <param name="UserId">The sender's user id, for a client event on a presence channel.</param>
/// <param name="TerminateUserId">Not an event: close every connection of this user (HTTP API terminate_connections).</param>
/// <param name="IsClientEvent">A client event (<c>client-*</c> sent by the connection <paramref name="ExceptSocketId"/>), for the client_event webhook.</param>
public sealed record PusherEvent(string AppId, IReadOnlyList<string> Channels, string Name, string DataJson, string? ExceptSocketId = null, string? UserId = null,
    string? TerminateUserId = null, bool IsClientEvent = false);
