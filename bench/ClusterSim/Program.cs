// Discrete-event simulation of askr's cluster protocol, in virtual time:
//  - membership: the runtime's own SWIM state machine (Askr.Cluster.Membership.Swim), one per node,
//    probing every ProbeInterval with direct and indirect pings, gossip piggybacked;
//  - replication: the rules of Askr.Cluster.ClusterNode: a write is pushed to F random peers; a node
//    that a push changed forwards it to F random peers (when the cluster is larger than F); every
//    AntiEntropyInterval each node reconciles with one random peer (digest exchange, then the rows
//    that differ, both ways).
// The network delivers each message after a uniform random delay, or loses it with probability p.
// Output: per cluster size, the time until a write is visible on every node (p50, p99, max) and the
// messages each node sends per second (mean, max), as text and JSON.
using System.Diagnostics;
using System.Text.Json;
using Askr.Cluster.Membership;

var sizes = (Environment.GetEnvironmentVariable("SIM_NODES") ?? "100,1000").Split(',').Select(int.Parse).ToArray();
var loss = double.Parse(Environment.GetEnvironmentVariable("SIM_LOSS") ?? "0.01", System.Globalization.CultureInfo.InvariantCulture);
var writes = int.Parse(Environment.GetEnvironmentVariable("SIM_WRITES") ?? "200");
var seed = int.Parse(Environment.GetEnvironmentVariable("SIM_SEED") ?? "42");
var results = new List<object>();
foreach (var n in sizes)
{
    var clock = Stopwatch.StartNew();
    var r = new Simulation(n, loss, writes, seed).Run();
    Console.WriteLine($"nodes {n,5}  loss {loss:P0}  writes {writes}: visible everywhere p50 {r.P50Ms:0} ms, p99 {r.P99Ms:0} ms, max {r.MaxMs:0} ms; " +
                      $"unconverged {r.Unconverged}; messages/node/s mean {r.MeanRate:0.0}, max {r.MaxRate:0.0} (data {r.DataRate:0.0}, membership {r.MembershipRate:0.0}); " +
                      $"false deaths {r.FalseDeaths}; simulated in {clock.Elapsed.TotalSeconds:0.0} s");
    results.Add(new { nodes = n, loss, writes, p50_ms = r.P50Ms, p99_ms = r.P99Ms, max_ms = r.MaxMs, unconverged = r.Unconverged,
        messages_per_node_per_s_mean = r.MeanRate, messages_per_node_per_s_max = r.MaxRate, data_per_node_per_s = r.DataRate,
        membership_per_node_per_s = r.MembershipRate, false_deaths = r.FalseDeaths });
}
if (Environment.GetEnvironmentVariable("SIM_JSON") is { Length: > 0 } path)
    File.WriteAllText(path, JsonSerializer.Serialize(new { benchmark = "cluster-simulation", results }, new JsonSerializerOptions { WriteIndented = true }));

sealed record Result(double P50Ms, double P99Ms, double MaxMs, int Unconverged, double MeanRate, double MaxRate, double DataRate, double MembershipRate, int FalseDeaths);

sealed class Simulation
{
    const int Fanout = 6;
    const double MinDelayMs = 0.2, MaxDelayMs = 5;
    const long AntiEntropyMs = 2000;
    readonly int _n;
    readonly double _loss;
    readonly int _writes;
    readonly Random _rng;
    readonly PriorityQueue<Action, double> _events = new();
    double _now;
    readonly Swim[] _swim;
    readonly HashSet<int>[] _known;      // write ids each node has
    readonly long[] _sentData, _sentMembership;
    readonly double[] _writtenAt;
    readonly double[] _visibleEverywhereAt;
    readonly int[] _holders;

    public Simulation(int n, double loss, int writes, int seed)
    {
        _n = n;
        _loss = loss;
        _writes = writes;
        _rng = new Random(seed);
        var options = new SwimOptions();
        _swim = Enumerable.Range(0, n).Select(i => new Swim((ulong)i + 1, $"node{i}", options, new Random(seed + i))).ToArray();
        // Start from a formed cluster (the join phase is not what is measured).
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                if (i != j) _swim[i].Apply(new MemberUpdate((ulong)j + 1, $"node{j}", 0, MemberStatus.Alive), 0);
        foreach (var s in _swim) s.TakeGossip();
        _known = Enumerable.Range(0, n).Select(_ => new HashSet<int>()).ToArray();
        _sentData = new long[n];
        _sentMembership = new long[n];
        _writtenAt = new double[writes];
        _visibleEverywhereAt = Enumerable.Repeat(double.NaN, writes).ToArray();
        _holders = new int[writes];
    }

    void At(double time, Action action) => _events.Enqueue(action, time);

    /// <summary>Sends a message: delivered after a random delay, or lost.</summary>
    void Send(int from, int to, bool data, Action deliver)
    {
        if (data) _sentData[from]++; else _sentMembership[from]++;
        if (_rng.NextDouble() < _loss) return;
        At(_now + MinDelayMs + _rng.NextDouble() * (MaxDelayMs - MinDelayMs), deliver);
    }

    int RandomPeer(int self, int except = -1)
    {
        while (true)
        {
            var p = _rng.Next(_n);
            if (p != self && p != except) return p;
        }
    }

    void Receive(int node, int write)
    {
        if (!_known[node].Add(write)) return;
        if (++_holders[write] == _n) _visibleEverywhereAt[write] = _now;
    }

    void Push(int from, List<int> ws, int except)
    {
        var targets = _n - 1 <= Fanout ? Enumerable.Range(0, _n).Where(p => p != from).ToList()
                                       : Enumerable.Range(0, Fanout).Select(_ => RandomPeer(from, except)).Distinct().ToList();
        foreach (var t in targets)
        {
            var to = t;
            Send(from, to, data: true, () =>
            {
                var changed = ws.Where(w => !_known[to].Contains(w)).ToList();
                foreach (var w in changed) Receive(to, w);
                if (changed.Count > 0 && _n - 1 > Fanout) Push(to, changed, from);
            });
        }
    }

    void AntiEntropy(int node)
    {
        var peer = RandomPeer(node);
        // Digest request and answer, then (if they differ) the rows both ways.
        Send(node, peer, data: true, () => Send(peer, node, data: true, () =>
        {
            if (_known[node].SetEquals(_known[peer])) return;
            var theirs = _known[peer].Except(_known[node]).ToList();
            var ours = _known[node].Except(_known[peer]).ToList();
            if (theirs.Count > 0) Send(node, peer, data: true, () => Send(peer, node, data: true, () => { foreach (var w in theirs) Receive(node, w); }));
            if (ours.Count > 0) Send(node, peer, data: true, () => { foreach (var w in ours) Receive(peer, w); });
        }));
        At(_now + AntiEntropyMs, () => AntiEntropy(node));
    }

    void Probe(int node)
    {
        var swim = _swim[node];
        var nowMs = (long)_now;
        swim.Tick(nowMs);
        if (swim.NextProbeTarget() is { } target)
        {
            var t = (int)target.Id - 1;
            var acked = false;
            var gossip = swim.TakeGossip();
            Send(node, t, data: false, () =>
            {
                foreach (var g in gossip) _swim[t].Apply(g, (long)_now);
                var back = _swim[t].TakeGossip();
                Send(t, node, data: false, () => { acked = true; foreach (var g in back) swim.Apply(g, (long)_now); });
            });
            At(_now + swim.Options.ProbeTimeout.TotalMilliseconds, () =>
            {
                if (acked) return;
                var helpers = swim.PickHelpers(target.Id, swim.Options.IndirectProbes);
                foreach (var h in helpers)
                {
                    var hi = (int)h.Id - 1;
                    Send(node, hi, data: false, () => Send(hi, t, data: false, () => Send(t, hi, data: false, () => Send(hi, node, data: false, () => acked = true))));
                }
                At(_now + swim.Options.ProbeInterval.TotalMilliseconds - swim.Options.ProbeTimeout.TotalMilliseconds, () =>
                {
                    if (!acked) swim.ProbeFailed(target.Id, (long)_now);
                });
            });
        }
        At(_now + swim.Options.ProbeInterval.TotalMilliseconds, () => Probe(node));
    }

    public Result Run()
    {
        for (var i = 0; i < _n; i++)
        {
            var node = i;
            At(_rng.NextDouble() * 500, () => Probe(node));
            At(_rng.NextDouble() * AntiEntropyMs, () => AntiEntropy(node));
        }
        const double warmup = 2000, spacing = 50;
        for (var w = 0; w < _writes; w++)
        {
            var write = w;
            At(warmup + w * spacing, () =>
            {
                var origin = _rng.Next(_n);
                _writtenAt[write] = _now;
                Receive(origin, write);
                Push(origin, [write], -1);
            });
        }
        var end = warmup + _writes * spacing + 30_000;
        while (_events.TryDequeue(out var action, out var time))
        {
            if (time > end) break;
            _now = time;
            action();
        }
        var latencies = Enumerable.Range(0, _writes).Where(w => !double.IsNaN(_visibleEverywhereAt[w])).Select(w => _visibleEverywhereAt[w] - _writtenAt[w]).Order().ToArray();
        double Pct(double p) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)];
        var seconds = _now / 1000;
        var rates = Enumerable.Range(0, _n).Select(i => (_sentData[i] + _sentMembership[i]) / seconds).ToArray();
        var falseDeaths = _swim.Sum(s => s.Members.Count(m => m.Status == MemberStatus.Dead));
        return new Result(Pct(0.5), Pct(0.99), latencies.LastOrDefault(), _writes - latencies.Length, rates.Average(), rates.Max(),
            _sentData.Average() / seconds, _sentMembership.Average() / seconds, falseDeaths);
    }
}
