using System.Text;
using Askr.Background;
using Askr.Cluster.Membership;
using Grpc.Core;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster;

/// <summary>
/// Where a scope=cluster background worker runs: rendezvous (highest random weight) hashing of
/// its name over the cluster's members (Thaler and Ravishankar, "Using name-based mappings to
/// increase hit rates", IEEE/ACM ToN 1998). Every node that sees the same members picks the same
/// owner; when a member leaves, only the names it owned move, and a join takes about 1/N of them.
/// </summary>
public static class ClusterPlacement
{
    /// <summary>The member of <paramref name="members"/> (node ids) that runs <paramref name="name"/>; 0 when there is none.</summary>
    public static ulong Owner(string name, IEnumerable<ulong> members)
    {
        var key = Fnv1a64(Encoding.UTF8.GetBytes(name));
        ulong best = 0, bestWeight = 0;
        var any = false;
        foreach (var id in members)
        {
            var weight = Mix(key ^ Mix(id));
            if (!any || weight > bestWeight || (weight == bestWeight && id < best))
            {
                best = id;
                bestWeight = weight;
                any = true;
            }
        }
        return best;
    }

    private static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes) h = (h ^ b) * 1099511628211UL;
        return h;
    }

    /// <summary>SplitMix64's finalizer (Steele, Lea, Flood 2014): spreads every input bit over the output.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

// The cluster side of scope=cluster background workers (docs/background-workers.md, "Cluster"):
// which node runs each one (OwnerOf), and the replication of its vars. The owner's supervisor
// watches the name's slot in the node's VarsStore; each new generation its worker publishes is
// read once, given a version (microseconds since the epoch, raised past every version seen) and
// pushed to every reachable member (BackgroundVars.Publish). A receiver keeps the newest version
// (origin breaks ties) and writes it into its own VarsStore, where its HTTP workers read it as a
// local snapshot. The owner sends again, every VarsResendInterval, to each member that has not
// acknowledged the version it holds: a member that joins late or missed a push catches up.
internal sealed partial class ClusterNode
{
    private static readonly TimeSpan VarsPollInterval = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan VarsResendInterval = TimeSpan.FromMilliseconds(500);
    /// <summary>How long a node that cannot reach any seed waits before it places cluster workers among the members it knows.</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private sealed class VarsEntry(int slot)
    {
        public int Slot { get; } = slot;
        public long Version;
        public ulong Origin;
        public byte[]? Snapshot;
        /// <summary>The local generation that is already accounted for (pushed, or written from a peer).</summary>
        public long SeenGeneration;
        /// <summary>Per member: the version it acknowledged.</summary>
        public readonly Dictionary<ulong, long> Acked = [];
    }

    private VarsStore? _vars;
    private readonly Dictionary<string, VarsEntry> _varsEntries = new(StringComparer.Ordinal);
    private readonly object _varsLock = new();
    private volatile bool _settled;
    private long _startedAtMs;

    /// <summary>
    /// Whether this node knows the cluster well enough to place cluster workers: it joined through
    /// a seed, has no seed but itself, or has waited <see cref="SettleTimeout"/> for one.
    /// </summary>
    public bool Settled => _settled || (_startedAtMs > 0 && NowMs - _startedAtMs > SettleTimeout.TotalMilliseconds);

    /// <summary>Ids of the members placement counts: this node and every other that is alive or suspect.</summary>
    public List<ulong> PlacementMembers()
    {
        lock (_lock) return _swim.Reachable.Select(m => m.Id).Append(NodeId).Distinct().ToList();
    }

    /// <summary>The node that runs the cluster worker <paramref name="name"/>; null until <see cref="Settled"/>.</summary>
    public ulong? OwnerOf(string name) => Settled ? ClusterPlacement.Owner(name, PlacementMembers()) : null;

    /// <summary>
    /// Replicates the snapshots of <paramref name="names"/> (declared scope=cluster) through
    /// <paramref name="vars"/>; called before <see cref="StartAsync"/>, which then serves BackgroundVars.
    /// </summary>
    public void AttachVars(VarsStore vars, IEnumerable<string> names)
    {
        _vars = vars;
        foreach (var name in names)
        {
            var slot = vars.Find(name);
            if (slot >= 0) _varsEntries[name] = new VarsEntry(slot);
        }
    }

    private long VarsVersion(long atLeast) => Math.Max(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000, atLeast + 1);

    private async Task VarsLoopAsync()
    {
        var vars = _vars!;
        var lastResend = NowMs;
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(VarsPollInterval, _stop.Token); } catch (OperationCanceledException) { return; }
            var resend = NowMs - lastResend >= VarsResendInterval.TotalMilliseconds;
            if (resend) lastResend = NowMs;
            foreach (var (name, entry) in _varsEntries)
            {
                var owner = OwnerOf(name);
                var generation = vars.Generation(entry.Slot);
                W.VarsSnapshot? send = null;
                lock (_varsLock)
                {
                    if (generation != entry.SeenGeneration && generation > 0)
                    {
                        if (owner == NodeId && vars.Read(entry.Slot, 0, out var read, out var bytes) == VarsRead.Ok)
                        {
                            entry.SeenGeneration = read;
                            entry.Version = VarsVersion(entry.Version);
                            entry.Origin = NodeId;
                            entry.Snapshot = bytes;
                            entry.Acked.Clear();
                            send = Snapshot(name, entry);
                        }
                        else if (owner != NodeId)
                        {
                            // A worker still running here after its name moved: its vars stay local.
                            entry.SeenGeneration = generation;
                        }
                    }
                    else if (resend && owner == NodeId && entry.Snapshot is not null)
                        send = Snapshot(name, entry);
                }
                if (send is not null) PublishToPeers(name, entry, send);
            }
        }
    }

    private static W.VarsSnapshot Snapshot(string name, VarsEntry entry) => new()
    {
        Name = name,
        Origin = entry.Origin,
        Version = entry.Version,
        Snapshot = Google.Protobuf.ByteString.CopyFrom(entry.Snapshot),
    };

    /// <summary>Sends <paramref name="snapshot"/> to every reachable member that has not acknowledged its version.</summary>
    private void PublishToPeers(string name, VarsEntry entry, W.VarsSnapshot snapshot)
    {
        List<MemberUpdate> peers;
        lock (_lock) peers = _swim.Reachable.Where(m => m.Id != NodeId).ToList();
        foreach (var peer in peers)
        {
            lock (_varsLock)
                if (entry.Acked.TryGetValue(peer.Id, out var acked) && acked >= snapshot.Version) continue;
            _ = Task.Run(async () =>
            {
                try
                {
                    var ack = await _peers.Vars(peer.Address).PublishAsync(snapshot, Call());
                    if (!ack.Known)
                    {
                        _log.Warning($"cluster: node {peer.Id:x16} does not declare background worker \"{name}\" with scope=cluster: its vars are not replicated there");
                        ack.Version = long.MaxValue; // do not send again
                    }
                    lock (_varsLock)
                        if (!entry.Acked.TryGetValue(peer.Id, out var had) || had < ack.Version) entry.Acked[peer.Id] = ack.Version;
                }
                catch (Exception e) when (CallFailed(e)) { /* sent again at the next resend */ }
            });
        }
    }

    private W.VarsAck OnVarsPublish(W.VarsSnapshot snapshot)
    {
        if (_vars is not { } vars || !_varsEntries.TryGetValue(snapshot.Name, out var entry)) return new W.VarsAck { Known = false };
        lock (_varsLock)
        {
            var newer = snapshot.Version > entry.Version || (snapshot.Version == entry.Version && snapshot.Origin > entry.Origin);
            if (newer)
            {
                if (snapshot.Snapshot.Length > vars.Capacity)
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, $"a snapshot of {snapshot.Snapshot.Length} bytes is larger than this node's --background-vars-limit {vars.Capacity}"));
                var bytes = snapshot.Snapshot.ToByteArray();
                vars.Write(entry.Slot, bytes);
                entry.SeenGeneration = vars.Generation(entry.Slot);
                entry.Version = snapshot.Version;
                entry.Origin = snapshot.Origin;
                entry.Snapshot = bytes;
                entry.Acked.Clear();
            }
            return new W.VarsAck { Known = true, Version = entry.Version };
        }
    }

    /// <summary>For /status: each cluster worker's owner, version and origin as this node knows them.</summary>
    public List<ClusterVarsStatus> VarsStatus()
    {
        var list = new List<ClusterVarsStatus>();
        foreach (var (name, entry) in _varsEntries)
        {
            var owner = OwnerOf(name);
            lock (_varsLock)
                list.Add(new ClusterVarsStatus(name, owner is { } o ? o.ToString("x16") : null, entry.Version, entry.Origin == 0 ? null : entry.Origin.ToString("x16")));
        }
        return list;
    }

    /// <summary>The BackgroundVars service.</summary>
    private sealed class VarsService(ClusterNode node) : W.BackgroundVars.BackgroundVarsBase
    {
        public override Task<W.VarsAck> Publish(W.VarsSnapshot request, ServerCallContext context) => Task.FromResult(node.OnVarsPublish(request));
    }
}

/// <summary>A scope=cluster background worker in <c>GET /status</c>'s cluster section.</summary>
public sealed record ClusterVarsStatus(
    [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
    [property: System.Text.Json.Serialization.JsonPropertyName("owner")] string? Owner,
    [property: System.Text.Json.Serialization.JsonPropertyName("version")] long Version,
    [property: System.Text.Json.Serialization.JsonPropertyName("origin")] string? Origin);
