using System.Text.Json;
using Askr.Tests.Cluster;
using Askr.Tests.Support;

namespace Askr.Tests.WebSockets;

/// <summary>
/// Pusher events across three nodes (network namespaces), with real pusher-js subscribers and the
/// `pusher` server library: a trigger on one node reaches the subscribers of every node once, in
/// order, minus the excluded socket; after a node is killed the others still fan out (issue 12).
/// </summary>
[Collection("cluster")]
public sealed class PusherClusterTests : IAsyncLifetime
{
    private NetnsCluster? _cluster;
    private NetnsCluster C => _cluster!;

    private static string? WhyUnsupported() =>
        NetnsCluster.WhyUnsupported() ?? (PusherClients.Find("node") is null ? "node is not installed: the Pusher protocol tests need Node.js 18+" : null);

    public async Task InitializeAsync()
    {
        if (WhyUnsupported() is not null) return;
        _cluster = await NetnsCluster.StartThreeAsync("router.php", "--pusher-app", PusherClients.AppArgument);
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private async Task<JsonElement> FanOutAsync(int events, params int[] nodes) =>
        await PusherClients.RunAsync("clusterFanOut", NetnsCluster.HttpPort, new { hosts = nodes.Select(C.Ip).ToArray(), events, waitMs = 15000 }, timeoutSeconds: 40);

    private static void AssertOnceInOrder(JsonElement result, int events, int subscribers)
    {
        var received = result.GetProperty("received").EnumerateArray().Select(a => a.EnumerateArray().Select(n => n.GetInt32()).ToList()).ToList();
        Assert.Equal(subscribers, received.Count);
        for (var i = 0; i < received.Count; i++)
            Assert.True(received[i].SequenceEqual(Enumerable.Range(1, events)), $"subscriber on node {i + 1} received [{string.Join(",", received[i])}], not 1..{events} once each in order");
        // The event sent with the first subscriber's socket_id: every other subscriber, not that one.
        Assert.Equal(Enumerable.Range(1, subscribers - 1), result.GetProperty("soloReceivedBy").EnumerateArray().Select(n => n.GetInt32()));
    }

    private static string Latency(JsonElement result, int node)
    {
        var l = result.GetProperty("latencyMs")[node].EnumerateArray().Select(x => x.GetDouble()).Order().ToList();
        return $"p50 {l[l.Count / 2]:0} ms, p99 {l[(int)(l.Count * 0.99)]:0} ms";
    }

    private static List<string> Ids(JsonElement r, string name) => r.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToList();

    [SkippableFact]
    public async Task Presence_members_are_the_clusters_and_a_user_on_two_nodes_is_added_and_removed_once()
    {
        Skip.If(WhyUnsupported() is not null, WhyUnsupported());
        var r = await PusherClients.RunAsync("clusterPresence", NetnsCluster.HttpPort, new { hosts = new[] { 1, 2, 3 }.Select(C.Ip).ToArray() }, timeoutSeconds: 40);
        Assert.Equal(["1", "2"], Ids(r, "firstCopySees"));   // user 2 is connected to another node
        Assert.Equal(["1", "2"], Ids(r, "secondCopySees"));
        Assert.Equal(["1"], Ids(r, "addedWhileBoth"));        // once, though user 1 is on two nodes
        Assert.Empty(Ids(r, "removedAfterFirst"));            // still on node 2
        Assert.Equal(["1"], Ids(r, "added"));
        Assert.Equal(["1"], Ids(r, "removed"));
    }

    [SkippableFact]
    public async Task The_http_api_of_one_node_counts_the_subscriptions_of_every_node()
    {
        Skip.If(WhyUnsupported() is not null, WhyUnsupported());
        // The scenario polls until node 1 reports both nodes' subscriptions; its deadline fails the test otherwise.
        var r = await PusherClients.RunAsync("clusterChannels", NetnsCluster.HttpPort, new { hosts = new[] { 1, 2, 3 }.Select(C.Ip).ToArray() }, timeoutSeconds: 30);
        var channels = r.GetProperty("channels").GetProperty("channels");
        Assert.Equal(2, channels.GetProperty("lobby").GetProperty("subscription_count").GetInt32());
        Assert.Equal(1, channels.GetProperty("other").GetProperty("subscription_count").GetInt32());
        Assert.True(r.GetProperty("lobby").GetProperty("occupied").GetBoolean());
    }

    [SkippableFact]
    public async Task The_members_of_a_killed_node_leave_the_presence_channels_of_the_others()
    {
        Skip.If(WhyUnsupported() is not null, WhyUnsupported());
        await PusherClients.EnsureInstalledAsync();
        var psi = new System.Diagnostics.ProcessStartInfo("node") { WorkingDirectory = PusherClients.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "clients.js", "clusterPresenceLoss", JsonSerializer.Serialize(new { appId = PusherClients.AppId, key = PusherClients.Key, secret = PusherClients.Secret, port = NetnsCluster.HttpPort, hosts = new[] { C.Ip(1), C.Ip(2) }, timeoutMs = 45000 }) })
            psi.ArgumentList.Add(a);
        using var node = System.Diagnostics.Process.Start(psi)!;
        try
        {
            var ready = await node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("{\"ready\":true}", ready);
            await C.KillAsync(2);
            var last = await node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(45));
            var result = JsonDocument.Parse(last!).RootElement;
            Assert.Contains("3", Ids(result, "removed"));
            Console.WriteLine($"presence: a killed node's member left the others' channels {result.GetProperty("removedAfterMs").GetInt32()} ms after the kill");
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
        }
    }

    [SkippableFact]
    public async Task A_trigger_on_one_node_reaches_every_nodes_subscribers_once_in_order_and_a_killed_node_does_not_stop_it()
    {
        Skip.If(WhyUnsupported() is not null, WhyUnsupported());
        var all = await FanOutAsync(100, 1, 2, 3);
        AssertOnceInOrder(all, 100, 3);
        Console.WriteLine($"Pusher fan-out, 100 events triggered on node 1: node 1 {Latency(all, 0)}; node 2 {Latency(all, 1)}; node 3 {Latency(all, 2)}");

        await C.KillAsync(3);
        var two = await FanOutAsync(30, 1, 2);
        AssertOnceInOrder(two, 30, 2);
    }
}
