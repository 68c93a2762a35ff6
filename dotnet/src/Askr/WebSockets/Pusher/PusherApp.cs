namespace Askr.WebSockets.Pusher;

/// <summary>
/// One Pusher Channels application: its id (the HTTP API's <c>/apps/{id}</c>), its key (the
/// WebSocket path's <c>/app/{key}</c>, and <c>auth_key</c>) and its secret (HMAC-SHA256 key of
/// channel auth and request signatures). Given as <c>--pusher-app id:key:secret</c>.
/// </summary>
public sealed record PusherApp(string Id, string Key, string Secret)
{
    /// <summary>Parses <c>id:key:secret</c>; the secret may itself contain ':'. Throws <see cref="FormatException"/> with the reason.</summary>
    public static PusherApp Parse(string text)
    {
        var parts = text.Split(':', 3);
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
            throw new FormatException($"--pusher-app '{text}': expected id:key:secret, none of them empty");
        return new PusherApp(parts[0], parts[1], parts[2]);
    }

    public override string ToString() => $"{Id}:{Key}:{Secret}";
}

/// <summary>The node's Pusher apps, found by id (HTTP API) or by key (WebSocket path).</summary>
public sealed class PusherApps
{
    private readonly Dictionary<string, PusherApp> _byId;
    private readonly Dictionary<string, PusherApp> _byKey;

    public PusherApps(IEnumerable<PusherApp> apps)
    {
        All = apps.ToList();
        _byId = new Dictionary<string, PusherApp>(StringComparer.Ordinal);
        _byKey = new Dictionary<string, PusherApp>(StringComparer.Ordinal);
        foreach (var app in All)
        {
            if (!_byId.TryAdd(app.Id, app)) throw new FormatException($"--pusher-app: app id {app.Id} given twice");
            if (!_byKey.TryAdd(app.Key, app)) throw new FormatException($"--pusher-app: app key {app.Key} given twice");
        }
    }

    public IReadOnlyList<PusherApp> All { get; }

    public PusherApp? FindById(string id) => _byId.GetValueOrDefault(id);
    public PusherApp? FindByKey(string key) => _byKey.GetValueOrDefault(key);
}
