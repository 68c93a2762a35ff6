using System.Text.Json.Serialization;
using Askr.Control;

namespace Askr.Background;

/// <summary>Worker → supervisor: start these background workers if they are not running (ensure_background_worker()).</summary>
public sealed class EnsureBackgroundMessage : ControlMessage
{
    [JsonPropertyName("names")] public List<string> Names { get; init; } = [];
}
