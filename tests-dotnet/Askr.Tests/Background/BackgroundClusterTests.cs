using System.Diagnostics;
using System.Text.Json;
using Askr.Tests.Cluster;
using Askr.Tests.Support;

namespace Askr.Tests.Background;

/// <summary>
/// A scope=cluster background worker on three nodes (network namespaces): it runs on exactly one
/// node, its vars are read on all three, and it moves when its node is killed (issue 13).
/// </summary>
[Collection("cluster")]
public sealed class BackgroundClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);
    private NetnsCluster? _cluster;
    private NetnsCluster C => _cluster!;
    private readonly HashSet<int> _up = [1, 2, 3];

    public async Task InitializeAsync()
    {
        if (NetnsCluster.WhyUnsupported() is not null) return;
        var worker = Path.Combine(AskrServer.PhpDir, "background", "worker.php");
        _cluster = await NetnsCluster.StartThreeAsync(Path.Combine("background", "router.php"),
            "--background-worker", $"leader={worker}:scope=cluster", "--background-grace", "1");
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    /// <summary>Node i's view of the worker: the pid it runs it under (null: not here) and the node it says runs it.</summary>
    private (int? Pid, string State, string? Node, string Self) Placement(int i)
    {
        var status = C.Status(i);
        var self = status.GetProperty("cluster").GetProperty("node_id").GetString()!;
        var leader = status.GetProperty("background_workers").EnumerateArray().Where(b => b.GetProperty("name").GetString() == "leader").ToList();
        var running = leader.FirstOrDefault(b => b.GetProperty("pid").ValueKind == JsonValueKind.Number);
        if (running.ValueKind != JsonValueKind.Undefined)
            return (running.GetProperty("pid").GetInt32(), running.GetProperty("state").GetString()!, running.GetProperty("node").GetString(), self);
        var entry = leader.Single();
        return (null, entry.GetProperty("state").GetString()!, entry.TryGetProperty("node", out var n) ? n.GetString() : null, self);
    }

    /// <summary>What node i's HTTP worker reads: the publishing worker's pid and sequence number, and the copy's age in ms.</summary>
    private (int Pid, long Seq, double AgeMs)? Read(int i)
    {
        try
        {
            using var doc = JsonDocument.Parse(C.GetFromInside(i, "/age?name=leader"));
            if (!doc.RootElement.TryGetProperty("vars", out var vars)) return null;
            return (vars.GetProperty("pid").GetInt32(), vars.GetProperty("seq").GetInt64(), doc.RootElement.GetProperty("age_ms").GetDouble());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException) { return null; }
    }

    /// <summary>Waits until exactly one live node runs the worker, the others name it as the runner, and every live node reads that process's vars; returns the owner.</summary>
    private async Task<(int Node, int Pid)> SettledAsync()
    {
        (int Node, int Pid) found = default;
        var ok = await AskrServer.EventuallyAsync(() =>
        {
            var views = _up.ToDictionary(i => i, Placement);
            var runners = views.Where(v => v.Value.Pid is not null).ToList();
            if (runners.Count != 1) return Task.FromResult(false);
            var (node, view) = (runners[0].Key, runners[0].Value);
            if (views.Where(v => v.Key != node).Any(v => v.Value.State != "remote" || v.Value.Node != view.Self)) return Task.FromResult(false);
            if (_up.Any(i => Read(i) is not { } r || r.Pid != view.Pid)) return Task.FromResult(false);
            found = (node, view.Pid!.Value);
            return Task.FromResult(true);
        }, Deadline);
        Assert.True(ok, "the cluster worker did not settle on exactly one node read by all:\n" + string.Join("\n", _up.Select(i =>
        {
            try { return $"node {i}: {Placement(i)} reads {Read(i)}"; }
            catch (Exception e) { return $"node {i}: {e.Message}"; }
        })) + "\n" + C.Describe());
        return found;
    }

    [SkippableFact]
    public async Task A_cluster_worker_runs_on_one_node_is_read_on_all_and_moves_when_its_node_is_killed()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        var (owner, pid) = await SettledAsync();

        // Its vars keep arriving on the other nodes: the sequence number grows there, and the copy is young.
        var others = _up.Where(i => i != owner).ToList();
        var first = others.ToDictionary(i => i, i => Read(i)!.Value.Seq);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(others.All(i => Read(i) is { } r && r.Seq > first[i] + 5)), Deadline),
            "the remote nodes' copies did not advance:\n" + C.Describe());
        var ages = new List<double>();
        for (var k = 0; k < 40; k++)
            foreach (var i in others)
                if (Read(i) is { } r) ages.Add(r.AgeMs);
        var local = Enumerable.Range(0, 40).Select(_ => Read(owner)).Where(r => r is not null).Select(r => r!.Value.AgeMs).ToList();
        ages.Sort();
        local.Sort();
        Console.WriteLine($"cluster vars age (publish every 20 ms): remote p50 {ages[ages.Count / 2]:0.0} ms, max {ages[^1]:0.0} ms over {ages.Count} reads; on the owner p50 {local[local.Count / 2]:0.0}, max {local[^1]:0.0} ms");
        Assert.True(ages[ages.Count / 2] < 1000, $"a remote copy is {ages[ages.Count / 2]:0} ms old at the median");

        // SIGKILL the owner's node: a survivor starts the worker, and both read the new process.
        var killed = Stopwatch.StartNew();
        await C.KillAsync(owner);
        _up.Remove(owner);
        var (next, nextPid) = await SettledAsync();
        Console.WriteLine($"cluster worker moved from node {owner} to node {next} in {killed.ElapsedMilliseconds} ms after its node was killed");
        Assert.NotEqual(owner, next);
        Assert.NotEqual(pid, nextPid);
    }
}
