using System.Text.Json.Serialization;
using Askr.Control;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// HTTP worker → supervisor → every other HTTP worker of the node: an event that originated in
/// the sending worker (HTTP API, broadcast native, client event), for the subscribers the others
/// hold. The supervisor relays it in the order it reads it, so events of one origin stay in order.
/// </summary>
public sealed class PusherEventMessage : ControlMessage
{
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("channels")] public List<string> Channels { get; init; } = [];
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    /// <summary>The event's data member as JSON text.</summary>
    [JsonPropertyName("data")] public string DataJson { get; init; } = "null";
    [JsonPropertyName("except")] public string? ExceptSocketId { get; init; }
    [JsonPropertyName("user")] public string? UserId { get; init; }
    [JsonPropertyName("terminate")] public string? TerminateUserId { get; init; }
    /// <summary>A client event (for the supervisor's client_event webhook).</summary>
    [JsonPropertyName("client")] public bool IsClientEvent { get; init; }

    public static PusherEventMessage From(PusherEvent e) => new()
    {
        AppId = e.AppId, Channels = [.. e.Channels], Name = e.Name, DataJson = e.DataJson, ExceptSocketId = e.ExceptSocketId, UserId = e.UserId, TerminateUserId = e.TerminateUserId, IsClientEvent = e.IsClientEvent,
    };

    public PusherEvent ToEvent() => new(AppId, Channels, Name, DataJson, ExceptSocketId, UserId, TerminateUserId, IsClientEvent);
}
