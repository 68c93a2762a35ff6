using System.Text.Json.Serialization;
using Askr.Control;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// Presence over the control socket. HTTP worker → supervisor: a user's first connection on the
/// worker to a presence channel joined, or its last one left. Supervisor → every HTTP worker: the
/// node-wide change (the user's first connection on the node, or its last), or with
/// <see cref="Snapshot"/> the members a freshly started worker must know, without events.
/// </summary>
public sealed class PresenceMessage : ControlMessage
{
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("channel")] public string Channel { get; init; } = "";
    [JsonPropertyName("user")] public string UserId { get; init; } = "";
    /// <summary>user_info as JSON text (joins only).</summary>
    [JsonPropertyName("info")] public string? InfoJson { get; init; }
    [JsonPropertyName("joined")] public bool Joined { get; init; }
    [JsonPropertyName("snapshot")] public bool Snapshot { get; init; }

    public static PresenceMessage From(PresenceDelta d, bool snapshot = false) =>
        new() { AppId = d.AppId, Channel = d.Channel, UserId = d.UserId, InfoJson = d.InfoJson, Joined = d.Joined, Snapshot = snapshot };

    public PresenceDelta ToDelta() => new(AppId, Channel, UserId, InfoJson, Joined);
}
