using Askr.Cluster.Membership;

namespace Askr.Tests.Cluster;

/// <summary>The SWIM state machine without I/O.</summary>
public sealed class SwimTests
{
    [Fact]
    public void A_probe_tells_its_receiver_that_the_sender_is_alive()
    {
        // B joined through A while A knew only itself; C joined through A later and learned B from
        // A's answer. A's updates about C went to C alone. C's first probe of B must make B learn C
        // (a clean-clone run once saw B never learn C: every node sees the others alive, it did not).
        var b = new Swim(0xB, "10.0.0.2:7946");
        var c = new Swim(0xC, "10.0.0.3:7946");
        c.Apply(b.Self, 0);
        foreach (var update in c.TakeGossip()) b.Apply(update, 0);
        Assert.Contains(b.Members, m => m.Id == 0xC && m.Address == "10.0.0.3:7946" && m.Status == MemberStatus.Alive);
    }

    [Fact]
    public void A_node_gossips_itself_on_every_message_after_its_queue_ran_out()
    {
        var c = new Swim(0xC, "10.0.0.3:7946");
        c.Apply(new MemberUpdate(0xB, "10.0.0.2:7946", 1, MemberStatus.Alive), 0);
        for (var i = 0; i < 20; i++) c.TakeGossip();
        Assert.Equal([c.Self], c.TakeGossip());
    }
}
