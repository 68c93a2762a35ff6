namespace Askr.WebSockets.Pusher;

/// <summary>
/// A presence membership change: a user's first connection (on a worker, or on the node) to a
/// presence channel joined, or its last one left. <paramref name="InfoJson"/>: the user_info JSON of a join.
/// </summary>
public sealed record PresenceDelta(string AppId, string Channel, string UserId, string? InfoJson, bool Joined);

/// <summary>
/// The node's presence members, kept by the supervisor from its HTTP workers' <see cref="PresenceDelta"/>s:
/// a user is a member while at least one worker holds one of its connections. Returns the
/// node-wide changes to report to every worker. Not thread-safe: the supervisor calls it under its lock.
/// </summary>
public sealed class PresenceRegistry
{
    private readonly Dictionary<(string App, string Channel, string User), (string? Info, HashSet<int> Workers)> _members = new();

    /// <summary>Applies worker <paramref name="worker"/>'s delta; the node-wide change, or null when there is none.</summary>
    public PresenceDelta? Apply(int worker, PresenceDelta delta)
    {
        var key = (delta.AppId, delta.Channel, delta.UserId);
        if (delta.Joined)
        {
            if (_members.TryGetValue(key, out var m)) { m.Workers.Add(worker); return null; }
            _members[key] = (delta.InfoJson, [worker]);
            return delta;
        }
        if (!_members.TryGetValue(key, out var member) || !member.Workers.Remove(worker) || member.Workers.Count > 0) return null;
        _members.Remove(key);
        return delta with { InfoJson = null };
    }

    /// <summary>A worker is gone: its members leave; the node-wide changes (users it alone held).</summary>
    public List<PresenceDelta> RemoveWorker(int worker)
    {
        var changes = new List<PresenceDelta>();
        foreach (var (key, member) in _members.ToList())
            if (member.Workers.Remove(worker) && member.Workers.Count == 0)
            {
                _members.Remove(key);
                changes.Add(new PresenceDelta(key.App, key.Channel, key.User, null, Joined: false));
            }
        return changes;
    }

    /// <summary>Every member now, as joins (for a worker that just started).</summary>
    public List<PresenceDelta> Snapshot() =>
        _members.Select(m => new PresenceDelta(m.Key.App, m.Key.Channel, m.Key.User, m.Value.Info, Joined: true)).ToList();
}
