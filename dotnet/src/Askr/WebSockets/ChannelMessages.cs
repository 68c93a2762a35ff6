using System.Text.Json.Serialization;
using Askr.Control;

namespace Askr.WebSockets;

/// <summary>HTTP worker → supervisor: this worker's subscriber count of a channel changed (0: it holds none).</summary>
public sealed class ChannelCountMessage : ControlMessage
{
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("channel")] public string Channel { get; init; } = "";
    [JsonPropertyName("count")] public int Count { get; init; }
}

/// <summary>HTTP worker → supervisor: the node-wide counts of one channel (<see cref="Channel"/>) or of the occupied channels (with <see cref="Prefix"/>), for the HTTP API.</summary>
public sealed class ChannelQueryMessage : ControlMessage
{
    [JsonPropertyName("id")] public long Id { get; init; }
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("channel")] public string? Channel { get; init; }
    [JsonPropertyName("prefix")] public string? Prefix { get; init; }
}

/// <summary>Supervisor → the asking worker: the answer to a <see cref="ChannelQueryMessage"/>.</summary>
public sealed class ChannelQueryAnswerMessage : ControlMessage
{
    [JsonPropertyName("id")] public long Id { get; init; }
    [JsonPropertyName("channels")] public List<string> Channels { get; init; } = [];
    [JsonPropertyName("counts")] public List<int> Counts { get; init; } = [];
}

/// <summary>HTTP worker → supervisor: this worker's open connections of an app changed (for --pusher-max-connections).</summary>
public sealed class ConnectionCountMessage : ControlMessage
{
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("count")] public int Count { get; init; }
}

/// <summary>Supervisor → an HTTP worker: the open connections of an app on the node's other HTTP workers.</summary>
public sealed class OtherConnectionsMessage : ControlMessage
{
    [JsonPropertyName("app")] public string AppId { get; init; } = "";
    [JsonPropertyName("count")] public int Count { get; init; }
}
