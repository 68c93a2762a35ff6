using System.Security.Cryptography;
using System.Text.Json;

namespace Askr.WebSockets.Pusher;

/// <summary>
/// The Pusher Channels protocol (version 7) for the connections one worker holds, apart from
/// their transport (as Reverb keeps <c>Protocols/Pusher</c> apart from its server): subscriptions,
/// channel auth, presence members, cache channels, client events, pings. Thread-safe: one lock
/// guards the channels; sends only queue (<see cref="PusherConnection.Send"/>), so nothing blocks
/// under it.
/// </summary>
/// <remarks>
/// Reference: https://pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol/.
/// Errors follow Reverb's choices where the spec leaves them open: a frame that is not a JSON
/// object or has no event is <c>pusher:error</c> 4200 "Invalid message format"; a subscription
/// with a wrong or missing auth is <c>pusher:error</c> 4009 "Connection is unauthorized".
/// </remarks>
public sealed class PusherServer
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Dictionary<string, ChannelState>> _apps = new(StringComparer.Ordinal);
    private readonly HashSet<PusherConnection> _connections = [];

    public PusherServer(PusherApps apps, PusherLimits limits)
    {
        Apps = apps;
        Limits = limits;
        foreach (var app in apps.All) _apps[app.Id] = new Dictionary<string, ChannelState>(StringComparer.Ordinal);
    }

    public PusherApps Apps { get; }
    public PusherLimits Limits { get; }

    /// <summary>
    /// Node-wide presence: when set, a user's first connection on this worker to a presence
    /// channel and its last one leaving are handed to it (the supervisor counts them over the
    /// node's workers), and member_added/removed are sent when <see cref="ApplyPresenceChange"/>
    /// reports the node-wide change. When null, membership is this worker's alone.
    /// </summary>
    public Action<PresenceDelta>? PresenceRelay { get; set; }

    /// <summary>When set, called (under the lock) with this worker's new subscriber count of a channel each time it changes, for the node-wide counts.</summary>
    public Action<string, string, int>? OccupancyRelay { get; set; }

    /// <summary>When set, the node-wide subscriber counts of the occupied channels (app, exact channel or null, prefix or null) for the HTTP API; null: this worker's own.</summary>
    public Func<string, string?, string?, Task<IReadOnlyList<(string Channel, int Subscriptions)>>>? NodeQuery { get; set; }

    // Node-wide members per app and presence channel, as the supervisor reported them (user id → user_info JSON).
    private readonly Dictionary<(string App, string Channel), Dictionary<string, string?>> _nodeMembers = new();

    /// <summary>Called with each event that originated in this worker (HTTP API, native, client event), to carry it to the node's other workers.</summary>
    public Action<PusherEvent>? Relay { get; set; }

    /// <summary>A new socket id: two random numbers, as Pusher's (<c>123.456</c>).</summary>
    public static string NewSocketId() =>
        $"{RandomNumberGenerator.GetInt32(1, int.MaxValue)}.{RandomNumberGenerator.GetInt32(1, int.MaxValue)}";

    public int ConnectionCount { get { lock (_lock) return _connections.Count; } }

    // Open connections per app id: this worker's, and the node's other workers' (as the supervisor last reported them).
    private readonly Dictionary<string, int> _appConnections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _otherWorkersConnections = new(StringComparer.Ordinal);

    /// <summary>When set, called (under the lock) with this worker's new connection count of an app each time it changes, for the node-wide limit.</summary>
    public Action<string, int>? ConnectionCountRelay { get; set; }

    /// <summary>The open connections of an app on the node's other workers, as the supervisor counts them (for <see cref="PusherLimits.MaxConnectionsPerApp"/>).</summary>
    public void SetOtherWorkersConnections(string appId, int count)
    {
        lock (_lock) _otherWorkersConnections[appId] = count;
    }

    /// <summary>Open connections of an app: this worker's plus the others' as last reported.</summary>
    public int AppConnectionCount(string appId)
    {
        lock (_lock) return _appConnections.GetValueOrDefault(appId) + _otherWorkersConnections.GetValueOrDefault(appId);
    }

    /// <summary>
    /// A connection was opened: answers connection_established, or, when its app is at
    /// <see cref="PusherLimits.MaxConnectionsPerApp"/>, <c>pusher:error</c> 4004 and close 4004
    /// ("Application is over connection quota", Pusher's code). False: refused.
    /// </summary>
    public bool Open(PusherConnection connection)
    {
        lock (_lock)
        {
            var app = connection.App.Id;
            var mine = _appConnections.GetValueOrDefault(app);
            if (Limits.MaxConnectionsPerApp > 0 && mine + _otherWorkersConnections.GetValueOrDefault(app) >= Limits.MaxConnectionsPerApp)
            {
                connection.Send(PusherMessages.Error(4004, "Application is over connection quota"));
                connection.Close(4004, "Application is over connection quota");
                return false;
            }
            _connections.Add(connection);
            _appConnections[app] = mine + 1;
            ConnectionCountRelay?.Invoke(app, mine + 1);
        }
        connection.Send(PusherMessages.ConnectionEstablished(connection.SocketId, Limits.ActivityTimeoutSeconds));
        return true;
    }

    /// <summary>A connection ended: leaves its channels (member_removed where it was a user's last connection).</summary>
    public void Closed(PusherConnection connection)
    {
        lock (_lock)
        {
            if (!_connections.Remove(connection)) return;
            var app = connection.App.Id;
            var left = _appConnections.GetValueOrDefault(app) - 1;
            if (left > 0) _appConnections[app] = left; else _appConnections.Remove(app);
            ConnectionCountRelay?.Invoke(app, Math.Max(left, 0));
            foreach (var channel in connection.Channels.ToList()) UnsubscribeLocked(connection, channel);
        }
    }

    /// <summary>Handles one text message of a client (UTF-8).</summary>
    public void Receive(PusherConnection connection, ReadOnlySpan<byte> message)
    {
        connection.LastSeen = Environment.TickCount64;
        connection.PingSent = 0;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message.ToArray());
        }
        catch (JsonException)
        {
            connection.Send(PusherMessages.Error(4200, "Invalid message format"));
            return;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("event", out var e) || e.ValueKind != JsonValueKind.String)
            {
                connection.Send(PusherMessages.Error(4200, "Invalid message format"));
                return;
            }
            var name = e.GetString()!;
            var data = root.TryGetProperty("data", out var d) ? d : default;
            switch (name)
            {
                case "pusher:ping":
                    connection.Send(PusherMessages.Pong);
                    break;
                case "pusher:pong":
                    break;
                case "pusher:subscribe":
                    Subscribe(connection, Data(data));
                    break;
                case "pusher:signin":
                    Signin(connection, Data(data));
                    break;
                case "pusher:unsubscribe":
                    if (Data(data) is { ValueKind: JsonValueKind.Object } u && u.TryGetProperty("channel", out var uc) && uc.ValueKind == JsonValueKind.String)
                        lock (_lock) UnsubscribeLocked(connection, uc.GetString()!);
                    break;
                default:
                    if (name.StartsWith("client-", StringComparison.Ordinal))
                        ClientEvent(connection, name, root);
                    else
                        connection.Send(PusherMessages.Error(4200, $"Unsupported event: {Truncate(name)}"));
                    break;
            }
        }
    }

    // data may come as an object (pusher-js) or as a JSON-encoded string.
    private static JsonElement Data(JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.String) return data;
        try { using var inner = JsonDocument.Parse(data.GetString()!); return inner.RootElement.Clone(); }
        catch (JsonException) { return default; }
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";

    /// <summary>Whether a channel name is valid: Pusher's 164 characters of [A-Za-z0-9_\-=@,.;].</summary>
    public static bool IsValidChannelName(string name)
    {
        if (name.Length is 0 or > 164) return false;
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '=' or '@' or ',' or '.' or ';')) return false;
        return true;
    }

    /// <summary>The prefix of a signed-in user's own channel (<c>#server-to-user-{id}</c>): only that user's connections may subscribe; the HTTP API sends to it (the <c>pusher</c> library's sendToUser).</summary>
    public const string ServerToUserPrefix = "#server-to-user-";

    /// <summary>Whether the channel is a user's server-to-user channel with a valid user id (1–164 characters, no control characters).</summary>
    public static bool IsServerToUser(string channel) =>
        channel.StartsWith(ServerToUserPrefix, StringComparison.Ordinal) && channel.Length > ServerToUserPrefix.Length
        && channel.Length <= ServerToUserPrefix.Length + 164 && !channel.Any(char.IsControl);

    /// <summary>
    /// <c>pusher:signin</c> (user authentication): <c>auth</c> must be <see cref="PusherSignature.UserAuth"/> of
    /// <c>user_data</c>, a JSON object with a non-empty string <c>id</c>. Success: <c>pusher:signin_success</c>, and
    /// the connection is that user's (terminate_connections, <c>#server-to-user-{id}</c>). Failure: <c>pusher:error</c>
    /// 4009 and the connection stays as it was (Pusher closes only apps that require signin, which askr has not).
    /// </summary>
    private void Signin(PusherConnection connection, JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("user_data", out var ud) || ud.ValueKind != JsonValueKind.String
            || !data.TryGetProperty("auth", out var a) || a.ValueKind != JsonValueKind.String)
        {
            connection.Send(PusherMessages.Error(4009, "Invalid signin: auth and user_data (strings) are required"));
            return;
        }
        var userData = ud.GetString()!;
        if (!PusherSignature.VerifyUserAuth(connection.App, a.GetString(), connection.SocketId, userData))
        {
            connection.Send(PusherMessages.Error(4009, "Invalid signin signature"));
            return;
        }
        string id;
        try
        {
            using var user = JsonDocument.Parse(userData);
            if (user.RootElement.ValueKind != JsonValueKind.Object || !user.RootElement.TryGetProperty("id", out var i)
                || i.ValueKind != JsonValueKind.String || i.GetString() is not { Length: > 0 and <= 164 } s || s.Any(char.IsControl))
                throw new JsonException("no id");
            id = i.GetString()!;
        }
        catch (JsonException)
        {
            connection.Send(PusherMessages.Error(4009, "Invalid signin: user_data must be a JSON object with a non-empty string id"));
            return;
        }
        lock (_lock)
        {
            // Signing in as another user leaves the former user's own channel.
            if (connection.UserId is { } former && former != id) UnsubscribeLocked(connection, ServerToUserPrefix + former);
            connection.UserId = id;
        }
        connection.Send(PusherMessages.SigninSuccess(userData));
    }

    private static bool IsPresence(string channel) => channel.StartsWith("presence-", StringComparison.Ordinal) || channel.StartsWith("presence-cache-", StringComparison.Ordinal);
    private static bool IsPrivate(string channel) => channel.StartsWith("private-", StringComparison.Ordinal);
    private static bool IsCache(string channel) =>
        channel.StartsWith("cache-", StringComparison.Ordinal) || channel.StartsWith("private-cache-", StringComparison.Ordinal)
        || channel.StartsWith("private-encrypted-cache-", StringComparison.Ordinal) || channel.StartsWith("presence-cache-", StringComparison.Ordinal);

    private void Subscribe(PusherConnection connection, JsonElement data)
    {
        if (data.ValueKind != JsonValueKind.Object || !data.TryGetProperty("channel", out var c) || c.ValueKind != JsonValueKind.String)
        {
            connection.Send(PusherMessages.Error(4200, "Invalid message format"));
            return;
        }
        var channel = c.GetString()!;
        if (channel.StartsWith(ServerToUserPrefix, StringComparison.Ordinal))
        {
            // Only the signed-in user's own channel.
            string? user;
            lock (_lock) user = connection.UserId;
            if (user is null || channel != ServerToUserPrefix + user)
            {
                connection.Send(PusherMessages.Error(4009, "Connection is unauthorized: sign in as this user first (pusher:signin)"));
                return;
            }
        }
        else if (!IsValidChannelName(channel))
        {
            connection.Send(PusherMessages.Error(4200, "Invalid channel name"));
            return;
        }
        var auth = data.TryGetProperty("auth", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        string? channelData = null;
        if (IsPresence(channel))
        {
            channelData = data.TryGetProperty("channel_data", out var cd) && cd.ValueKind == JsonValueKind.String ? cd.GetString() : null;
            if (channelData is null || !PusherSignature.VerifyChannelAuth(connection.App, auth, connection.SocketId, channel, channelData))
            {
                connection.Send(PusherMessages.Error(4009, "Connection is unauthorized"));
                return;
            }
        }
        else if (IsPrivate(channel) && !PusherSignature.VerifyChannelAuth(connection.App, auth, connection.SocketId, channel))
        {
            connection.Send(PusherMessages.Error(4009, "Connection is unauthorized"));
            return;
        }

        string? userId = null;
        JsonElement userInfo = default;
        if (channelData is not null)
        {
            try
            {
                using var member = JsonDocument.Parse(channelData);
                if (member.RootElement.ValueKind != JsonValueKind.Object || !member.RootElement.TryGetProperty("user_id", out var id)
                    || id.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
                    throw new JsonException("no user_id");
                userId = id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();
                if (member.RootElement.TryGetProperty("user_info", out var info)) userInfo = info.Clone();
            }
            catch (JsonException)
            {
                connection.Send(PusherMessages.Error(4200, "Invalid presence channel_data: a JSON object with user_id is required"));
                return;
            }
        }

        lock (_lock)
        {
            if (!_apps[connection.App.Id].TryGetValue(channel, out var state))
            {
                state = new ChannelState(channel);
                _apps[connection.App.Id][channel] = state;
            }
            if (connection.Channels.Contains(channel))
            {
                // Subscribing twice answers again, and changes nothing.
                connection.Send(SucceededLocked(connection.App.Id, state));
                return;
            }
            if (connection.Channels.Count >= Limits.MaxChannelsPerConnection)
            {
                connection.Send(PusherMessages.Error(4200, $"Too many channels: at most {Limits.MaxChannelsPerConnection} per connection"));
                return;
            }
            connection.Channels.Add(channel);
            state.Subscribers.Add(connection);
            OccupancyRelay?.Invoke(connection.App.Id, channel, state.Subscribers.Count);
            var added = false;
            if (userId is not null)
            {
                connection.PresenceUsers[channel] = userId;
                if (state.Members!.TryGetValue(userId, out var m)) m.Connections++;
                else
                {
                    state.Members[userId] = new Member(userInfo.ValueKind == JsonValueKind.Undefined ? null : userInfo.GetRawText()) { Connections = 1 };
                    added = true;
                }
            }
            connection.Send(SucceededLocked(connection.App.Id, state));
            if (added && PresenceRelay is { } relay)
            {
                relay(new PresenceDelta(connection.App.Id, channel, userId!, state.Members![userId!].InfoJson, Joined: true));
                added = false;
            }
            if (added)
            {
                var info = state.Members![userId!].InfoJson;
                var payload = PusherMessages.EventWithEncodedData("pusher_internal:member_added", channel,
                    $"{{\"user_id\":{JsonSerializer.Serialize(userId)}{(info is null ? "" : ",\"user_info\":" + info)}}}");
                foreach (var other in state.Subscribers)
                    if (other != connection && (!other.PresenceUsers.TryGetValue(channel, out var ou) || ou != userId)) other.Send(payload);
            }
            if (state.IsCache)
                connection.Send(state.LastEvent ?? PusherMessages.CacheMiss(channel));
        }
    }

    private byte[] SucceededLocked(string app, ChannelState state)
    {
        if (state.Members is null) return PusherMessages.SubscriptionSucceeded(state.Name);
        var members = MembersLocked(app, state);
        var ids = members.Keys.ToList();
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartObject("presence");
            w.WriteStartArray("ids");
            foreach (var id in ids) w.WriteStringValue(id);
            w.WriteEndArray();
            w.WriteStartObject("hash");
            foreach (var id in ids)
            {
                w.WritePropertyName(id);
                if (members[id] is { } info) w.WriteRawValue(info, skipInputValidation: true);
                else w.WriteNullValue();
            }
            w.WriteEndObject();
            w.WriteNumber("count", ids.Count);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return PusherMessages.SubscriptionSucceeded(state.Name, System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    /// <summary>The members of a presence channel: the node's (as last reported) and this worker's own, by user id.</summary>
    private Dictionary<string, string?> MembersLocked(string app, ChannelState? state)
    {
        var members = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (_nodeMembers.TryGetValue((app, state?.Name ?? ""), out var node))
            foreach (var (id, info) in node) members[id] = info;
        if (state?.Members is { } local)
            foreach (var (id, m) in local) members[id] = m.InfoJson;
        return members;
    }

    /// <summary>
    /// A node-wide presence change (from the supervisor): a user's first connection on the node
    /// joined (<see cref="PresenceDelta.Joined"/>) or its last one left. Sends member_added or
    /// member_removed to this worker's subscribers of the channel, except the user's own
    /// connections; a <paramref name="snapshot"/> entry (a worker that just started) only records the member.
    /// </summary>
    public void ApplyPresenceChange(PresenceDelta change, bool snapshot = false)
    {
        lock (_lock)
        {
            var key = (change.AppId, change.Channel);
            if (change.Joined)
            {
                if (!_nodeMembers.TryGetValue(key, out var members)) _nodeMembers[key] = members = new(StringComparer.Ordinal);
                members[change.UserId] = change.InfoJson;
            }
            else if (_nodeMembers.TryGetValue(key, out var members))
            {
                members.Remove(change.UserId);
                if (members.Count == 0) _nodeMembers.Remove(key);
            }
            if (snapshot || !_apps.TryGetValue(change.AppId, out var channels) || !channels.TryGetValue(change.Channel, out var state)) return;
            var payload = change.Joined
                ? PusherMessages.EventWithEncodedData("pusher_internal:member_added", change.Channel,
                    $"{{\"user_id\":{JsonSerializer.Serialize(change.UserId)}{(change.InfoJson is null ? "" : ",\"user_info\":" + change.InfoJson)}}}")
                : PusherMessages.EventWithEncodedData("pusher_internal:member_removed", change.Channel, $"{{\"user_id\":{JsonSerializer.Serialize(change.UserId)}}}");
            foreach (var s in state.Subscribers)
                if (!s.PresenceUsers.TryGetValue(change.Channel, out var own) || own != change.UserId) s.Send(payload);
        }
    }

    private void UnsubscribeLocked(PusherConnection connection, string channel)
    {
        if (!connection.Channels.Remove(channel)) return;
        var channels = _apps[connection.App.Id];
        if (!channels.TryGetValue(channel, out var state)) return;
        state.Subscribers.Remove(connection);
        if (connection.PresenceUsers.Remove(channel, out var userId) && state.Members!.TryGetValue(userId, out var member) && --member.Connections == 0)
        {
            state.Members.Remove(userId);
            if (PresenceRelay is { } relay) relay(new PresenceDelta(connection.App.Id, channel, userId, null, Joined: false));
            else
            {
                var payload = PusherMessages.EventWithEncodedData("pusher_internal:member_removed", channel, $"{{\"user_id\":{JsonSerializer.Serialize(userId)}}}");
                foreach (var other in state.Subscribers) other.Send(payload);
            }
        }
        // After the member left: the node's member_removed comes before its channel_vacated (webhooks).
        OccupancyRelay?.Invoke(connection.App.Id, channel, state.Subscribers.Count);
        // A cache channel keeps its last event while it is empty (Pusher keeps it 30 minutes).
        if (state.Subscribers.Count == 0 && !state.IsCache) channels.Remove(channel);
    }

    private void ClientEvent(PusherConnection connection, string name, JsonElement root)
    {
        var channel = root.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : null;
        if (channel is null || !(IsPrivate(channel) || IsPresence(channel)))
        {
            connection.Send(PusherMessages.Error(4301, "Client events are only allowed on private and presence channels"));
            return;
        }
        if (channel.StartsWith("private-encrypted-", StringComparison.Ordinal))
        {
            connection.Send(PusherMessages.Error(4301, "Client events are not allowed on encrypted channels"));
            return;
        }
        string? userId;
        lock (_lock)
        {
            if (!connection.Channels.Contains(channel))
            {
                connection.Send(PusherMessages.Error(4301, "Client event rejected: not subscribed to the channel"));
                return;
            }
            connection.PresenceUsers.TryGetValue(channel, out userId);
        }
        if (!connection.TryTakeClientEvent(Limits.ClientEventsPerSecond))
        {
            connection.Close(4301, $"Client event rejected - only {Limits.ClientEventsPerSecond} accepted per second");
            return;
        }
        var data = root.TryGetProperty("data", out var d) ? d.GetRawText() : "null";
        Publish(new PusherEvent(connection.App.Id, [channel], name, data, connection.SocketId, userId, IsClientEvent: true));
    }

    /// <summary>Delivers an event that originated in this worker to its subscribers here, and hands it to <see cref="Relay"/>.</summary>
    public void Publish(PusherEvent e)
    {
        Deliver(e);
        Relay?.Invoke(e);
    }

    /// <summary>Delivers an event to the subscribers this worker holds (a relayed one, or one of its own).</summary>
    public void Deliver(PusherEvent e)
    {
        if (e.TerminateUserId is { } user)
        {
            TerminateUser(e.AppId, user);
            return;
        }
        lock (_lock)
        {
            if (!_apps.TryGetValue(e.AppId, out var channels)) return;
            foreach (var channel in e.Channels)
            {
                var exists = channels.TryGetValue(channel, out var state);
                if (!exists && !IsCache(channel)) continue;
                var payload = PusherMessages.Event(e.Name, channel, e.DataJson, e.UserId);
                if (!exists)
                {
                    state = new ChannelState(channel);
                    channels[channel] = state;
                }
                if (state!.IsCache) state.LastEvent = payload;
                foreach (var s in state.Subscribers)
                    if (s.SocketId != e.ExceptSocketId) s.Send(payload);
            }
        }
    }

    /// <summary>Pings connections silent for the activity timeout; closes with 4201 those that did not answer within the pong timeout. Called about once a second.</summary>
    public void Sweep()
    {
        var now = Environment.TickCount64;
        List<PusherConnection> connections;
        lock (_lock) connections = [.. _connections];
        foreach (var c in connections)
        {
            if (c.PingSent != 0)
            {
                if (now - c.PingSent >= Limits.PongTimeoutSeconds * 1000L) c.Close(4201, "Pong reply not received in time");
            }
            else if (now - c.LastSeen >= Limits.ActivityTimeoutSeconds * 1000L)
            {
                c.PingSent = now;
                c.Send(PusherMessages.Ping);
            }
        }
    }

    /// <summary>Closes every connection (server stopping): 4200, so clients reconnect at once, to another worker.</summary>
    public void CloseAll(int code = 4200, string reason = "Server is restarting")
    {
        List<PusherConnection> connections;
        lock (_lock) connections = [.. _connections];
        foreach (var c in connections) c.Close(code, reason);
    }

    // ---------- queries (HTTP API) ----------

    /// <summary>One occupied channel as this worker sees it.</summary>
    public readonly record struct ChannelInfo(string Name, int SubscriptionCount, int? UserCount);

    /// <summary>The occupied channels of an app (with <paramref name="prefix"/>), node-wide when <see cref="NodeQuery"/> is set.</summary>
    public async Task<List<ChannelInfo>> OccupiedAsync(string appId, string? prefix)
    {
        IReadOnlyList<(string Channel, int Subscriptions)> counts;
        if (NodeQuery is { } query) counts = await query(appId, null, prefix);
        else
            lock (_lock)
                counts = _apps.TryGetValue(appId, out var channels)
                    ? channels.Values.Where(c => c.Subscribers.Count > 0 && (prefix is null || c.Name.StartsWith(prefix, StringComparison.Ordinal)))
                        .Select(c => (c.Name, c.Subscribers.Count)).ToList()
                    : [];
        lock (_lock)
            return counts.Select(c => new ChannelInfo(c.Channel, c.Subscriptions,
                IsPresence(c.Channel) ? MembersLocked(appId, _apps.GetValueOrDefault(appId)?.GetValueOrDefault(c.Channel) ?? new ChannelState(c.Channel)).Count : null)).ToList();
    }

    /// <summary>One channel; null when no connection of the node (or of this worker, without <see cref="NodeQuery"/>) is subscribed.</summary>
    public async Task<ChannelInfo?> ChannelAsync(string appId, string channel)
    {
        if (NodeQuery is { } query)
        {
            var counts = await query(appId, channel, null);
            if (counts.Count == 0 || counts[0].Subscriptions == 0) return null;
            lock (_lock)
                return new ChannelInfo(channel, counts[0].Subscriptions,
                    IsPresence(channel) ? MembersLocked(appId, _apps.GetValueOrDefault(appId)?.GetValueOrDefault(channel) ?? new ChannelState(channel)).Count : null);
        }
        lock (_lock)
        {
            if (!_apps.TryGetValue(appId, out var channels) || !channels.TryGetValue(channel, out var s) || s.Subscribers.Count == 0) return null;
            return new ChannelInfo(s.Name, s.Subscribers.Count, s.Members is null ? null : MembersLocked(appId, s).Count);
        }
    }

    public List<string> Users(string appId, string channel)
    {
        lock (_lock)
        {
            if (!_apps.TryGetValue(appId, out var channels)) return [];
            channels.TryGetValue(channel, out var s);
            return [.. MembersLocked(appId, s ?? new ChannelState(channel)).Keys];
        }
    }

    /// <summary>Closes every connection of a user (signed in as it, or a presence member as it) on every worker of the node.</summary>
    public void TerminateUserEverywhere(string appId, string userId) =>
        Publish(new PusherEvent(appId, [], "", "null", TerminateUserId: userId));

    /// <summary>Closes this worker's connections of a user (signed in as it, or a presence member as it) with 4009; returns how many.</summary>
    public int TerminateUser(string appId, string userId)
    {
        List<PusherConnection> victims;
        lock (_lock)
            victims = _connections.Where(c => c.App.Id == appId && (c.UserId == userId || c.PresenceUsers.ContainsValue(userId))).ToList();
        foreach (var c in victims) c.Close(4009, "Connection terminated by the server");
        return victims.Count;
    }

    private sealed class ChannelState(string name)
    {
        public string Name { get; } = name;
        public HashSet<PusherConnection> Subscribers { get; } = [];
        public Dictionary<string, Member>? Members { get; } = IsPresence(name) ? new(StringComparer.Ordinal) : null;
        public bool IsCache { get; } = PusherServer.IsCache(name);
        public byte[]? LastEvent { get; set; }
    }

    private sealed class Member(string? infoJson)
    {
        public string? InfoJson { get; } = infoJson;
        public int Connections { get; set; }
    }
}
