using System.Diagnostics;
using Askr.Tests.Cluster;
using Askr.Tests.Support;

namespace Askr.Tests.ResponseCache;

/// <summary>Three nodes (network namespaces) with --response-cache: a purge on one node reaches the others through the table replication.</summary>
[Collection("cluster")]
public sealed class ResponseCacheClusterTests : IAsyncLifetime
{
    private NetnsCluster? _cluster;
    private NetnsCluster C => _cluster!;

    public async Task InitializeAsync()
    {
        if (NetnsCluster.WhyUnsupported() is not null) return;
        _cluster = await NetnsCluster.StartThreeAsync("cache.php", "--response-cache", "4M");
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private async Task<string> State(int node, string target)
    {
        using var http = C.Http(node);
        using var r = await http.GetAsync(target);
        return r.Headers.TryGetValues("X-Askr-Cache", out var v) ? string.Join(",", v) : "(none)";
    }

    [SkippableFact]
    public async Task A_tag_purge_on_one_node_makes_the_entry_stale_on_every_node()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        var tag = "cluster-" + Guid.NewGuid().ToString("N");
        var target = $"/c-{Guid.NewGuid():N}?h=" + Uri.EscapeDataString($"60, tags={tag}");
        var other = $"/c-other-{Guid.NewGuid():N}?h=60";
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal("MISS", await State(i, target));
            Assert.Equal("HIT", await State(i, target));
            Assert.Equal("MISS", await State(i, other));
        }
        using (var a = C.Http(1)) Assert.True((await a.GetAsync("/purge?tag=" + tag)).IsSuccessStatusCode);
        var started = Stopwatch.StartNew();
        // Stale on A at once; on B and C within the replication delay. Probing a node stores the
        // entry again, so each node is probed until its first MISS, then left alone.
        Assert.Equal("MISS", await State(1, target));
        var missed = new HashSet<int>();
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            foreach (var i in new[] { 2, 3 }.Where(i => !missed.Contains(i)))
                if (await State(i, target) == "MISS") missed.Add(i);
            return missed.Count == 2;
        }, TimeSpan.FromSeconds(10)), $"after {started.Elapsed} nodes {string.Join(",", missed)} saw the purge:\n{C.Describe()}");
        var convergence = started.Elapsed;
        for (var i = 1; i <= 3; i++) Assert.Equal("HIT", await State(i, other));
        Console.WriteLine($"response cache: tag purge converged on 3 nodes in {convergence.TotalMilliseconds:0} ms");
    }

    [SkippableFact]
    public async Task A_flush_on_one_node_reaches_every_node()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        var target = $"/f-{Guid.NewGuid():N}?h=60";
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal("MISS", await State(i, target));
            Assert.Equal("HIT", await State(i, target));
        }
        using (var b = C.Http(2)) Assert.True((await b.GetAsync("/purge?flush=1")).IsSuccessStatusCode);
        var missed = new HashSet<int>();
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            foreach (var i in new[] { 1, 2, 3 }.Where(i => !missed.Contains(i)))
                if (await State(i, target) == "MISS") missed.Add(i);
            return missed.Count == 3;
        }, TimeSpan.FromSeconds(10)), C.Describe());
    }
}
