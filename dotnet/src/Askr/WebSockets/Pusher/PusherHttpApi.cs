using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Askr.WebSockets.Pusher;

/// <summary>
/// Pusher's HTTP API (https://pusher.com/docs/channels/library_auth_reference/rest-api/) for the
/// apps of a <see cref="PusherServer"/>: <c>POST /apps/{id}/events</c>, <c>POST /apps/{id}/batch_events</c>,
/// <c>GET /apps/{id}/channels</c>, <c>GET /apps/{id}/channels/{name}</c>, <c>GET /apps/{id}/channels/{name}/users</c>,
/// <c>POST /apps/{id}/users/{user}/terminate_connections</c>. Every request is signed
/// (<see cref="PusherSignature"/>); a bad one gets 401 with the reason and changes nothing.
/// Success is 200 with a JSON object (<c>{}</c> for events), which Pusher's server libraries expect.
/// </summary>
public sealed class PusherHttpApi(PusherServer server)
{
    /// <summary>Largest request body, in bytes (a batch of 10 events of 10 KB fits).</summary>
    public const int MaxBodyBytes = 256 * 1024;
    /// <summary>How far auth_timestamp may be from the server's clock, in seconds (Pusher: 600).</summary>
    public const int TimestampToleranceSeconds = 600;
    /// <summary>Largest <c>data</c> of one event, in bytes (Pusher: 10 KB).</summary>
    public const int MaxEventDataBytes = 10 * 1024;

    /// <summary>Answers a request under /apps/ if it names a configured app; false: not ours, pass it on.</summary>
    public async Task<bool> TryHandleAsync(HttpContext context, string path)
    {
        var parts = path.Split('/');
        // "", "apps", id, ...
        if (parts.Length < 4 || server.Apps.FindById(parts[2]) is not { } app) return false;
        var method = context.Request.Method;
        var rest = parts[3..];

        byte[] body = [];
        if (HttpMethods.IsPost(method))
        {
            if (context.Request.ContentLength > MaxBodyBytes) { await Reply(context, 413, Error($"Request body larger than {MaxBodyBytes} bytes")); return true; }
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            if (buffer.Length > MaxBodyBytes) { await Reply(context, 413, Error($"Request body larger than {MaxBodyBytes} bytes")); return true; }
            body = buffer.ToArray();
        }
        if (Authenticate(app, context.Request, path, body) is { } refusal)
        {
            await Reply(context, 401, Error(refusal));
            return true;
        }

        try
        {
            var (status, json) = (method, rest) switch
            {
                ("POST", ["events"]) => TriggerEvents(app, body),
                ("POST", ["batch_events"]) => TriggerBatch(app, body),
                ("GET", ["channels"]) => await Channels(app, context.Request.Query),
                ("GET", ["channels", var name]) => await Channel(app, name, context.Request.Query),
                ("GET", ["channels", var name, "users"]) => Users(app, name),
                ("POST", ["users", var user, "terminate_connections"]) => Terminate(app, user),
                _ => (404, Error($"No such endpoint: {method} {path}")),
            };
            await Reply(context, status, json);
        }
        catch (JsonException e)
        {
            await Reply(context, 400, Error($"Request body is not valid JSON: {e.Message}"));
        }
        catch (TimeoutException e)
        {
            await Reply(context, 503, Error(e.Message));
        }
        return true;
    }

    /// <summary>Checks the request's signature; null if it is good, else the reason for the 401.</summary>
    public static string? Authenticate(PusherApp app, HttpRequest request, string path, ReadOnlySpan<byte> body) =>
        Authenticate(app, request.Method, path, request.Query.Select(q => new KeyValuePair<string, string>(q.Key, q.Value.ToString())).ToList(),
            body, DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    /// <summary>As above, on the parts of a request (<paramref name="nowSeconds"/>: Unix time).</summary>
    public static string? Authenticate(PusherApp app, string method, string path, IReadOnlyList<KeyValuePair<string, string>> query, ReadOnlySpan<byte> body, long nowSeconds)
    {
        string? Get(string name) => query.FirstOrDefault(q => q.Key == name).Value;
        if (Get("auth_key") is not { } key) return "Missing auth_key";
        if (key != app.Key) return "Invalid auth_key";
        if (!long.TryParse(Get("auth_timestamp"), out var timestamp)) return "Missing or invalid auth_timestamp";
        if (Math.Abs(nowSeconds - timestamp) > TimestampToleranceSeconds)
            return $"Timestamp expired: Given timestamp ({timestamp}) not within {TimestampToleranceSeconds}s of server time ({nowSeconds})";
        if (Get("auth_version") != "1.0") return "Invalid auth_version: 1.0 is required";
        var md5 = Get("body_md5");
        if (body.Length > 0 || md5 is not null)
        {
            if (md5 is null) return "Missing body_md5";
            if (!PusherSignature.FixedTimeEquals(md5, PusherSignature.BodyMd5(body))) return "Invalid body_md5: it is not the MD5 of the request body";
        }
        if (Get("auth_signature") is not { } signature) return "Missing auth_signature";
        var expected = PusherSignature.RequestSignature(app.Secret, method, path, query);
        if (!PusherSignature.FixedTimeEquals(signature, expected))
            return $"Invalid signature: you should have sent HmacSHA256Hex({JsonSerializer.Serialize(PusherSignature.RequestStringToSign(method, path, query))}, your_secret_key)";
        return null;
    }

    private (int, string) TriggerEvents(PusherApp app, byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        if (ParseEvent(app, document.RootElement, allowMany: true, out var e) is { } error) return (400, Error(error));
        server.Publish(e!);
        return (200, "{}");
    }

    private (int, string) TriggerBatch(PusherApp app, byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
            return (400, Error("Expected {\"batch\":[...]}"));
        if (batch.GetArrayLength() > server.Limits.MaxBatchEvents) return (400, Error($"Batch too large: at most {server.Limits.MaxBatchEvents} events"));
        var events = new List<PusherEvent>();
        foreach (var item in batch.EnumerateArray())
        {
            if (ParseEvent(app, item, allowMany: false, out var e) is { } error) return (400, Error(error));
            events.Add(e!);
        }
        // Validated as a whole first: a bad batch publishes nothing.
        foreach (var e in events) server.Publish(e);
        return (200, "{\"batch\":[" + string.Join(',', events.Select(_ => "{}")) + "]}");
    }

    private string? ParseEvent(PusherApp app, JsonElement item, bool allowMany, out PusherEvent? e)
    {
        e = null;
        if (item.ValueKind != JsonValueKind.Object) return "An event must be a JSON object";
        if (!item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length is 0 or > 200)
            return "Event name is required (a string of at most 200 characters)";
        if (!item.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.String) return "Event data is required (a string)";
        if (System.Text.Encoding.UTF8.GetByteCount(data.GetString()!) > MaxEventDataBytes) return $"Event data too large: at most {MaxEventDataBytes} bytes";
        var channels = new List<string>();
        if (item.TryGetProperty("channels", out var many) && allowMany && many.ValueKind == JsonValueKind.Array)
            channels.AddRange(many.EnumerateArray().Select(c => c.ValueKind == JsonValueKind.String ? c.GetString()! : ""));
        else if (item.TryGetProperty("channel", out var one) && one.ValueKind == JsonValueKind.String)
            channels.Add(one.GetString()!);
        if (channels.Count == 0) return "At least one channel is required";
        if (channels.Count > server.Limits.MaxEventChannels) return $"Too many channels: at most {server.Limits.MaxEventChannels}";
        if (channels.FirstOrDefault(c => !PusherServer.IsValidChannelName(c) && !PusherServer.IsServerToUser(c)) is { } bad) return $"Invalid channel name: {JsonSerializer.Serialize(bad)}";
        var except = item.TryGetProperty("socket_id", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        e = new PusherEvent(app.Id, channels, name.GetString()!, data.GetRawText(), except);
        return null;
    }

    private async Task<(int, string)> Channels(PusherApp app, IQueryCollection query)
    {
        var prefix = query["filter_by_prefix"].ToString() is { Length: > 0 } p ? p : null;
        var info = Info(query);
        if (info.Contains("user_count") && prefix?.StartsWith("presence-", StringComparison.Ordinal) != true)
            return (400, Error("info=user_count is only allowed with filter_by_prefix=presence-"));
        var channels = await server.OccupiedAsync(app.Id, prefix);
        return (200, Write(w =>
        {
            w.WriteStartObject("channels");
            foreach (var c in channels)
            {
                w.WriteStartObject(c.Name);
                if (info.Contains("user_count") && c.UserCount is { } u) w.WriteNumber("user_count", u);
                if (info.Contains("subscription_count")) w.WriteNumber("subscription_count", c.SubscriptionCount);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }));
    }

    private async Task<(int, string)> Channel(PusherApp app, string name, IQueryCollection query)
    {
        var info = Info(query);
        if (info.Contains("user_count") && !name.StartsWith("presence-", StringComparison.Ordinal))
            return (400, Error("info=user_count is only allowed for presence channels"));
        var c = await server.ChannelAsync(app.Id, name);
        return (200, Write(w =>
        {
            w.WriteBoolean("occupied", c is not null);
            if (info.Contains("subscription_count")) w.WriteNumber("subscription_count", c?.SubscriptionCount ?? 0);
            if (info.Contains("user_count")) w.WriteNumber("user_count", c?.UserCount ?? 0);
        }));
    }

    private (int, string) Users(PusherApp app, string name)
    {
        if (!name.StartsWith("presence-", StringComparison.Ordinal)) return (400, Error("Users are only listed for presence channels"));
        var users = server.Users(app.Id, name);
        return (200, Write(w =>
        {
            w.WriteStartArray("users");
            foreach (var u in users) { w.WriteStartObject(); w.WriteString("id", u); w.WriteEndObject(); }
            w.WriteEndArray();
        }));
    }

    private (int, string) Terminate(PusherApp app, string user)
    {
        server.TerminateUserEverywhere(app.Id, user);
        return (200, "{}");
    }

    private static HashSet<string> Info(IQueryCollection query) =>
        new(query["info"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);

    private static string Error(string message) => Write(w => w.WriteString("error", message));

    private static string Write(Action<Utf8JsonWriter> members)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            members(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task Reply(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }
}
