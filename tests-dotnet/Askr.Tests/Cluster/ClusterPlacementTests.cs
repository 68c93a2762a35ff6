using Askr.Background;
using Askr.Cluster;

namespace Askr.Tests.Cluster;

/// <summary>Rendezvous placement of scope=cluster background workers, and the option that declares them.</summary>
public sealed class ClusterPlacementTests
{
    private static readonly ulong[] Nodes = [0x1111_2222_3333_4444, 0x9999_aaaa_bbbb_cccc, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210];
    private static readonly string[] Names = Enumerable.Range(0, 400).Select(i => $"worker-{i}").ToArray();

    [Fact]
    public void Every_order_of_the_same_members_picks_the_same_owner()
    {
        foreach (var name in Names.Take(50))
        {
            var owner = ClusterPlacement.Owner(name, Nodes);
            Assert.Equal(owner, ClusterPlacement.Owner(name, Nodes.Reverse()));
            Assert.Equal(owner, ClusterPlacement.Owner(name, Nodes.OrderBy(n => n % 7)));
            Assert.Contains(owner, Nodes);
        }
    }

    [Fact]
    public void When_a_member_leaves_only_the_names_it_owned_move()
    {
        var gone = Nodes[1];
        var rest = Nodes.Where(n => n != gone).ToArray();
        var moved = 0;
        foreach (var name in Names)
        {
            var before = ClusterPlacement.Owner(name, Nodes);
            var after = ClusterPlacement.Owner(name, rest);
            if (before == gone) moved++;
            else Assert.Equal(before, after);
        }
        // About a quarter of the names were on the node that left (4 nodes): spread, not all on one.
        Assert.InRange(moved, 400 / 4 / 2, 400 / 4 * 2);
    }

    [Fact]
    public void No_member_no_owner_and_one_member_owns_everything()
    {
        Assert.Equal(0UL, ClusterPlacement.Owner("x", []));
        Assert.All(Names.Take(20), n => Assert.Equal(Nodes[2], ClusterPlacement.Owner(n, [Nodes[2]])));
    }

    [Fact]
    public void The_option_takes_scope_cluster_and_refuses_it_with_lazy()
    {
        var spec = BackgroundWorkerSpec.Parse("leader=/app/w.php:num=2:scope=cluster");
        Assert.True(spec.Cluster);
        Assert.Equal(2, spec.Count);
        Assert.Equal("leader=/app/w.php:num=2:scope=cluster", spec.ToString());
        Assert.False(BackgroundWorkerSpec.Parse("a=/w.php:scope=node").Cluster);
        var e = Assert.Throws<FormatException>(() => BackgroundWorkerSpec.Parse("a=/w.php:lazy:scope=cluster"));
        Assert.Contains("cannot be lazy", e.Message);
        Assert.Throws<FormatException>(() => BackgroundWorkerSpec.Parse("a=/w.php:scope=galaxy"));
    }
}
