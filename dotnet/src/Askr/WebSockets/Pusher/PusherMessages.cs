using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Askr.WebSockets.Pusher;

/// <summary>
/// The frames the server sends (Pusher Channels protocol 7,
/// https://pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol/). As in
/// Pusher and Reverb, <c>data</c> of the server's own events is a JSON-encoded string; an
/// event's <c>data</c> is passed through as the JSON value it was given.
/// </summary>
public static class PusherMessages
{
    /// <summary>An event frame; <paramref name="dataJson"/> is a JSON value written as is (a string literal for server events).</summary>
    public static byte[] Event(string name, string? channel, string? dataJson, string? userId = null)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + (dataJson?.Length ?? 0));
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("event", name);
            if (channel is not null) w.WriteString("channel", channel);
            if (dataJson is not null)
            {
                w.WritePropertyName("data");
                w.WriteRawValue(dataJson, skipInputValidation: true);
            }
            if (userId is not null) w.WriteString("user_id", userId);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An event whose data is this JSON text, sent as a JSON string (how the server's own events carry it).</summary>
    public static byte[] EventWithEncodedData(string name, string? channel, string dataJsonText) =>
        Event(name, channel, JsonSerializer.Serialize(dataJsonText));

    public static byte[] ConnectionEstablished(string socketId, int activityTimeoutSeconds) =>
        EventWithEncodedData("pusher:connection_established", null,
            $"{{\"socket_id\":{JsonSerializer.Serialize(socketId)},\"activity_timeout\":{activityTimeoutSeconds}}}");

    /// <summary><c>pusher:error</c>, data <c>{"code":...,"message":...}</c> as Reverb sends it (an encoded string; pusher-js reads both forms).</summary>
    public static byte[] Error(int? code, string message) =>
        EventWithEncodedData("pusher:error", null,
            $"{{\"code\":{(code is { } c ? c.ToString() : "null")},\"message\":{JsonSerializer.Serialize(message)}}}");

    public static readonly byte[] Pong = EventWithEncodedData("pusher:pong", null, "{}");
    public static readonly byte[] Ping = EventWithEncodedData("pusher:ping", null, "{}");

    public static byte[] SubscriptionSucceeded(string channel, string dataJsonText = "{}") =>
        EventWithEncodedData("pusher_internal:subscription_succeeded", channel, dataJsonText);

    /// <summary><c>pusher:signin_success</c>, data <c>{"user_data": the client's user_data text}</c> (an encoded string, as Pusher sends it).</summary>
    public static byte[] SigninSuccess(string userData) =>
        EventWithEncodedData("pusher:signin_success", null, $"{{\"user_data\":{JsonSerializer.Serialize(userData)}}}");

    public static byte[] CacheMiss(string channel) => Event("pusher:cache_miss", channel, null);

    public static string Utf8(byte[] frame) => Encoding.UTF8.GetString(frame);
}
