namespace Askr.WebSockets.Pusher;

/// <summary>
/// A presence membership change: a user's first connection (on a worker, or on the node) to a
/// presence channel joined, or its last one left. <paramref name="InfoJson"/>: the user_info JSON of a join.
/// </summary>
public sealed record PresenceDelta(string AppId, string Channel, string UserId, string? InfoJson, bool Joined);

/// <summary>
/// The node's presence members, kept by the supervisor from its HTTP workers' <see cref="PresenceDelta"/>s:
/// a user is a member while at least one worker (pid) holds one of its connections.
/// </summary>
public sealed class PresenceRegistry : PresenceRegistry<int>;

/// <summary>
/// Presence members by holder: a user is a member of a channel while at least one holder (a
/// worker of the node, or in a cluster a node) holds one of its connections. Each method returns
/// the changes one level up (a user's first holder joined, or its last left). Not thread-safe:
/// the supervisor calls it under its lock.
/// </summary>
public class PresenceRegistry<THolder> where THolder : notnull
{
    private readonly Dictionary<(string App, string Channel, string User), (string? Info, HashSet<THolder> Holders)> _members = new();

    /// <summary>Applies holder <paramref name="holder"/>'s delta; the change one level up, or null when there is none.</summary>
    public PresenceDelta? Apply(THolder holder, PresenceDelta delta)
    {
        var key = (delta.AppId, delta.Channel, delta.UserId);
        if (delta.Joined)
        {
            if (_members.TryGetValue(key, out var m)) { m.Holders.Add(holder); return null; }
            _members[key] = (delta.InfoJson, [holder]);
            return delta;
        }
        if (!_members.TryGetValue(key, out var member) || !member.Holders.Remove(holder) || member.Holders.Count > 0) return null;
        _members.Remove(key);
        return delta with { InfoJson = null };
    }

    /// <summary>A holder is gone: its members leave; the changes (users it alone held).</summary>
    public List<PresenceDelta> RemoveWorker(THolder holder) => Replace(holder, []);

    /// <summary>
    /// <paramref name="holder"/> now holds exactly <paramref name="members"/> (joins): the users it
    /// held and no longer lists leave, the new ones join; the changes one level up.
    /// </summary>
    public List<PresenceDelta> Replace(THolder holder, IReadOnlyCollection<PresenceDelta> members)
    {
        var changes = new List<PresenceDelta>();
        var keep = members.Select(m => (m.AppId, m.Channel, m.UserId)).ToHashSet();
        foreach (var (key, member) in _members.ToList())
            if (!keep.Contains(key) && member.Holders.Remove(holder) && member.Holders.Count == 0)
            {
                _members.Remove(key);
                changes.Add(new PresenceDelta(key.App, key.Channel, key.User, null, Joined: false));
            }
        foreach (var m in members)
            if (Apply(holder, m with { Joined = true }) is { } joined) changes.Add(joined);
        return changes;
    }

    /// <summary>Every member now, as joins (for a worker that just started, or a node that just joined).</summary>
    public List<PresenceDelta> Snapshot() =>
        _members.Select(m => new PresenceDelta(m.Key.App, m.Key.Channel, m.Key.User, m.Value.Info, Joined: true)).ToList();
}
