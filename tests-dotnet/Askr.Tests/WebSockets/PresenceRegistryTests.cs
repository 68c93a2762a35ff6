using Askr.WebSockets.Pusher;

namespace Askr.Tests.WebSockets;

/// <summary>The supervisor's node-wide presence count (a unit: the end-to-end case is in PusherProtocolTests).</summary>
public sealed class PresenceRegistryTests
{
    private static PresenceDelta Join(string user) => new("1", "presence-room", user, "{\"n\":1}", Joined: true);
    private static PresenceDelta Leave(string user) => new("1", "presence-room", user, null, Joined: false);

    [Fact]
    public void A_user_on_two_workers_joins_once_and_leaves_when_its_last_worker_does()
    {
        var registry = new PresenceRegistry();
        Assert.Equal(Join("u"), registry.Apply(100, Join("u")));
        Assert.Null(registry.Apply(200, Join("u")));
        Assert.Null(registry.Apply(100, Leave("u")));
        Assert.Equal(Leave("u"), registry.Apply(200, Leave("u")));
        Assert.Null(registry.Apply(200, Leave("u")));
    }

    [Fact]
    public void A_worker_that_exits_takes_the_users_only_it_held()
    {
        var registry = new PresenceRegistry();
        registry.Apply(100, Join("alone"));
        registry.Apply(100, Join("shared"));
        registry.Apply(200, Join("shared"));
        Assert.Equal([Leave("alone")], registry.RemoveWorker(100));
        Assert.Equal(["shared"], registry.Snapshot().Select(m => m.UserId));
    }

    [Fact]
    public void A_nodes_snapshot_replaces_what_was_known_of_it_with_only_the_differences_reported()
    {
        // Holders are nodes here: node 1's snapshot after a gap in its stream.
        var registry = new PresenceRegistry<ulong>();
        registry.Apply(1, Join("stale"));
        registry.Apply(1, Join("kept"));
        registry.Apply(2, Join("elsewhere"));
        var changes = registry.Replace(1, [Join("kept"), Join("new")]);
        Assert.Equal([Leave("stale"), Join("new")], changes);
        Assert.Equal(["elsewhere", "kept", "new"], registry.Snapshot().Select(m => m.UserId).Order());
        Assert.Empty(registry.Replace(1, [Join("kept"), Join("new")])); // the same again: nothing
    }
}
