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
}
