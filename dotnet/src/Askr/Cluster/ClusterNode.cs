using System.Collections.Concurrent;
using System.Net;
using Askr.Cluster.Membership;
using Askr.Cluster.Transport;
using Askr.Logging;
using Askr.Tables;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster;

/// <summary>Settings of a node's cluster agent (askr serve --cluster-*).</summary>
public sealed record ClusterOptions
{
    /// <summary>Address the cluster endpoint binds.</summary>
    public required IPEndPoint Bind { get; init; }
    /// <summary>host:port other nodes reach this one at.</summary>
    public required string Advertise { get; init; }
    /// <summary>host:port of nodes to join through.</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];
    /// <summary>Shared secret every call must carry; a peer without it is refused (UNAUTHENTICATED).</summary>
    public required string Secret { get; init; }
    public SwimOptions Swim { get; init; } = new();
    /// <summary>Peers a write is pushed to; with more nodes, receivers forward what changed them (epidemic push).</summary>
    public int Fanout { get; init; } = 6;
    /// <summary>How often this node compares its tables with a random peer (anti-entropy).</summary>
    public TimeSpan AntiEntropyInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Ranges a table's key space is cut into for anti-entropy digests.</summary>
    public int DigestRanges { get; init; } = 64;
    /// <summary>Tombstones live at least this long, and until every reachable peer has converged with this node.</summary>
    public TimeSpan TombstoneRetention { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>How long a call to a peer may take.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// The cluster's TLS certificate (with its key), the same on every node: the endpoint serves
    /// TLS with it and peers are trusted when they present it (pinned by thumbprint). Null: h2c.
    /// </summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; init; }
}

/// <summary>
/// A supervisor's cluster agent: SWIM membership (<see cref="Swim"/>) and replication of the
/// node's tables to the other nodes over gRPC (proto/askr/cluster/v1/cluster.proto): its services
/// (ClusterNode.Services.cs) are served by <see cref="ClusterServer"/> (Grpc.AspNetCore), and
/// peers are called through <see cref="PeerChannels"/> (Grpc.Net.Client).
///
/// Writes: the agent tails the store's change ring and pushes the changed rows (their whole
/// replicated state, so a push is idempotent) to <see cref="ClusterOptions.Fanout"/> peers;
/// a node that a push changed forwards it to as many others when the cluster is larger than the
/// fan-out. Anti-entropy: every <see cref="ClusterOptions.AntiEntropyInterval"/>, digests of each
/// table's key ranges are compared with a random peer, and the rows of ranges that differ are
/// pulled (Repair) and pushed both ways. Remote rows are merged into the shared memory the
/// workers read (<see cref="SharedTable.Merge"/>). Design: docs/cluster.md.
/// </summary>
internal sealed partial class ClusterNode : IAsyncDisposable, Background.IBackgroundPlacement
{
    private readonly TableStore _store;
    private readonly ClusterOptions _options;
    private readonly LogWriter _log;
    private readonly Swim _swim;
    private readonly ShareBook _book = new();
    private readonly object _lock = new(); // guards _swim, _book and merges/exports
    private readonly PeerChannels _peers;
    private readonly ConcurrentDictionary<ulong, long> _inSyncSinceMs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly SemaphoreSlim _antiEntropyNow = new(0);
    private ClusterServer? _server;
    private long _ringCursor;
    private long _sequence;

    public ClusterNode(TableStore store, ClusterOptions options, LogWriter log)
    {
        _store = store;
        _options = options;
        _log = log;
        _swim = new Swim(store.NodeId, options.Advertise, options.Swim);
        _swim.Changed += m => _log.Info($"cluster: node {m.Id:x16} at {m.Address} is {m.Status.ToString().ToLowerInvariant()}");
        _swim.Changed += OnMemberStatus;
        _ringCursor = store.Changes.Head + 1;
        _peers = new PeerChannels(new PeerChannelOptions
        {
            Secret = options.Secret,
            PinnedCertificate = options.Certificate, // every node presents the cluster's certificate: trust exactly that one
            ConnectTimeout = options.CallTimeout,
            MaxReconnectBackoff = options.Swim.ProbeInterval,
        });
    }

    public ulong NodeId => _store.NodeId;
    public int Port => _server?.Port ?? 0;

    /// <summary>Members as this node sees them (for the admin endpoint).</summary>
    public List<MemberUpdate> Members()
    {
        lock (_lock) return _swim.Members.ToList();
    }

    public async Task StartAsync()
    {
        _store.Replicated = true;
        _startedAtMs = NowMs;
        _settled = _options.Seeds.All(s => s == _options.Advertise);
        var serverOptions = new ClusterServerOptions { Secret = _options.Secret, Certificate = _options.Certificate, Log = (level, m) => _log.Log(level, $"cluster: {m}") };
        // A snapshot of a cluster worker's vars travels in one message: room for the largest one.
        if (_vars is { } vars && _varsEntries.Count > 0)
            serverOptions = new ClusterServerOptions
            {
                Secret = serverOptions.Secret, Certificate = serverOptions.Certificate, Log = serverOptions.Log,
                MaxReceiveMessageBytes = (int)Math.Min(int.MaxValue, Math.Max(serverOptions.MaxReceiveMessageBytes, vars.Capacity + 65536)),
            };
        _server = await ClusterServer.StartAsync(_options.Bind, serverOptions,
            new MembershipService(this), new ReplicationService(this),
            services =>
            {
                if (_varsEntries.Count > 0) services.AddSingleton(new VarsService(this));
                if (PusherEnabled) services.AddSingleton(new BroadcastService(this));
            },
            app =>
            {
                if (_varsEntries.Count > 0) app.MapGrpcService<VarsService>();
                if (PusherEnabled) app.MapGrpcService<BroadcastService>();
            });
        _log.Info($"cluster: node {NodeId:x16} listening on {_options.Bind.Address}:{_server.Port} ({(_options.Certificate is null ? "h2c, unencrypted" : "TLS")}), advertised as {_options.Advertise}");
        _loops.Add(Task.Run(JoinLoopAsync));
        _loops.Add(Task.Run(ProbeLoopAsync));
        _loops.Add(Task.Run(PushLoopAsync));
        _loops.Add(Task.Run(AntiEntropyLoopAsync));
        if (_varsEntries.Count > 0) _loops.Add(Task.Run(VarsLoopAsync));
        if (PusherEnabled) _loops.Add(Task.Run(MemberChangeLoopAsync));
    }

    private static long NowMs => Environment.TickCount64;

    /// <summary>Options of a call to a peer: the secret, a deadline (default <see cref="ClusterOptions.CallTimeout"/>), the agent's stop token.</summary>
    private CallOptions Call(TimeSpan? timeout = null) => _peers.Call(timeout ?? _options.CallTimeout, _stop.Token);

    /// <summary>A call that failed, or was cut short by the agent's stop: the peer is unreachable or refused.</summary>
    private static bool CallFailed(Exception e) => e is RpcException or OperationCanceledException or ObjectDisposedException;

    // ---------- membership ----------

    private async Task JoinLoopAsync()
    {
        if (_options.Seeds.Count == 0) return;
        var delay = TimeSpan.FromMilliseconds(200);
        while (!_stop.IsCancellationRequested)
        {
            foreach (var seed in _options.Seeds)
            {
                if (seed == _options.Advertise) continue;
                try
                {
                    W.Member self;
                    lock (_lock) self = WireConvert.ToWire(_swim.Self);
                    var answer = await _peers.Membership(seed).JoinAsync(new W.JoinRequest { Self = self }, Call());
                    lock (_lock)
                        foreach (var m in answer.Members) _swim.Apply(WireConvert.FromWire(m), NowMs);
                    _log.Info($"cluster: joined through {seed}; {answer.Members.Count} member(s) known");
                    _settled = true;
                    _antiEntropyNow.Release();
                    return;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
                {
                    _log.Error($"cluster: seed {seed} refused this node: the cluster secrets differ");
                }
                catch (Exception e) when (CallFailed(e))
                {
                    if (_stop.IsCancellationRequested) return;
                    _log.Debug($"cluster: seed {seed} not reachable yet: {e.Message}");
                }
            }
            try { await Task.Delay(delay, _stop.Token); } catch (OperationCanceledException) { return; }
            delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
        }
    }

    private W.JoinResponse OnJoin(W.JoinRequest request)
    {
        var response = new W.JoinResponse();
        lock (_lock)
        {
            if (request.Self is not null) _swim.Apply(WireConvert.FromWire(request.Self) with { Status = MemberStatus.Alive }, NowMs);
            response.Members.Add(WireConvert.ToWire(_swim.Self));
            response.Members.AddRange(_swim.Members.Where(m => m.Id != request.Self?.Id).Select(WireConvert.ToWire));
        }
        return response;
    }

    private W.Ack OnPing(W.PingMessage ping)
    {
        lock (_lock)
        {
            ApplyGossip(ping.Gossip);
            return new W.Ack { From = NodeId, Sequence = ping.Sequence, Ok = true, Gossip = WireConvert.ToWire(_swim.TakeGossip()) };
        }
    }

    private async Task<W.Ack> OnPingReq(W.PingRequest request)
    {
        lock (_lock) ApplyGossip(request.Gossip);
        var ok = request.Target is not null && await PingAsync(WireConvert.FromWire(request.Target), _options.Swim.ProbeTimeout);
        lock (_lock) return new W.Ack { From = NodeId, Sequence = request.Sequence, Ok = ok, Gossip = WireConvert.ToWire(_swim.TakeGossip()) };
    }

    private W.Ack OnLeave(W.LeaveNotice notice)
    {
        lock (_lock)
        {
            if (notice.Self is not null) _swim.Apply(WireConvert.FromWire(notice.Self) with { Status = MemberStatus.Left }, NowMs);
        }
        return new W.Ack { From = NodeId, Ok = true };
    }

    private void ApplyGossip(W.Gossip? gossip)
    {
        if (gossip is null) return;
        foreach (var m in gossip.Members) _swim.Apply(WireConvert.FromWire(m), NowMs);
    }

    private async Task<bool> PingAsync(MemberUpdate target, TimeSpan timeout)
    {
        W.PingMessage ping;
        lock (_lock) ping = new W.PingMessage { From = NodeId, Sequence = (ulong)Interlocked.Increment(ref _sequence), Gossip = WireConvert.ToWire(_swim.TakeGossip()) };
        try
        {
            var ack = await _peers.Membership(target.Address).PingAsync(ping, Call(timeout));
            lock (_lock) ApplyGossip(ack.Gossip);
            return true;
        }
        catch (Exception e) when (CallFailed(e))
        {
            return false;
        }
    }

    private async Task ProbeLoopAsync()
    {
        var options = _options.Swim;
        while (!_stop.IsCancellationRequested)
        {
            try { await Task.Delay(options.ProbeInterval, _stop.Token); } catch (OperationCanceledException) { return; }
            MemberUpdate? target;
            lock (_lock)
            {
                _swim.Tick(NowMs);
                target = _swim.NextProbeTarget();
            }
            if (target is not { } t) continue;
            var ok = await PingAsync(t, options.ProbeTimeout);
            if (!ok)
            {
                List<MemberUpdate> helpers;
                lock (_lock) helpers = _swim.PickHelpers(t.Id, options.IndirectProbes);
                var indirect = helpers.Select(async h =>
                {
                    try
                    {
                        W.PingRequest request;
                        lock (_lock) request = new W.PingRequest { From = NodeId, Sequence = (ulong)Interlocked.Increment(ref _sequence), Target = WireConvert.ToWire(t), Gossip = WireConvert.ToWire(_swim.TakeGossip()) };
                        var ack = await _peers.Membership(h.Address).PingReqAsync(request, Call(options.ProbeInterval));
                        lock (_lock) ApplyGossip(ack.Gossip);
                        return ack.Ok;
                    }
                    catch (Exception e) when (CallFailed(e))
                    {
                        return false;
                    }
                }).ToList();
                ok = indirect.Count > 0 && (await Task.WhenAll(indirect)).Any(x => x);
            }
            if (!ok)
                lock (_lock) _swim.ProbeFailed(t.Id, NowMs);
        }
    }

    // ---------- replication: push ----------

    private async Task PushLoopAsync()
    {
        var pending = new Dictionary<(int, string), byte[]>();
        while (!_stop.IsCancellationRequested)
        {
            pending.Clear();
            var lost = false;
            while (pending.Count < 512)
            {
                if (!_store.Changes.TryRead(_ringCursor, out var change, out var overrun))
                {
                    if (overrun)
                    {
                        lost = true;
                        _ringCursor = _store.Changes.Head + 1;
                    }
                    break;
                }
                _ringCursor++;
                pending[(change.Table, Convert.ToBase64String(change.Key))] = change.Key;
            }
            if (lost)
            {
                _log.Warning("cluster: the change ring overran the replicator; anti-entropy will repair");
                _antiEntropyNow.Release();
            }
            if (pending.Count == 0)
            {
                try { await Task.Delay(5, _stop.Token); } catch (OperationCanceledException) { return; }
                continue;
            }
            var batch = new W.DeltaBatch { From = NodeId };
            List<MemberUpdate> targets;
            lock (_lock)
            {
                foreach (var ((table, _), key) in pending)
                {
                    var t = _store.Tables[table];
                    if (t.Export(key, _book, NodeId) is { } row) batch.Rows.Add(WireConvert.ToWire(t.Schema.Name, row));
                }
                targets = _swim.RandomReachable(_options.Fanout);
            }
            Send(targets, batch);
        }
    }

    private void Send(List<MemberUpdate> targets, W.DeltaBatch batch)
    {
        if (batch.Rows.Count == 0) return;
        foreach (var peer in targets)
        {
            _ = Task.Run(async () =>
            {
                try { await _peers.Replication(peer.Address).PushAsync(batch, Call()); }
                catch (Exception e) when (CallFailed(e)) { /* anti-entropy repairs */ }
            });
        }
    }

    /// <summary>
    /// Called after a peer's row changed a table here (a push or an anti-entropy repair), with the
    /// table's name and the row's key; the response cache applies replicated purges through it.
    /// Must not block; an exception is logged.
    /// </summary>
    public Action<string, byte[]>? RowMerged { get; set; }

    private void OnRowMerged(SharedTable table, byte[] key)
    {
        if (RowMerged is not { } hook) return;
        try { hook(table.Schema.Name, key); }
        catch (Exception e) { _log.Warning($"cluster: after merging a row of {table.Schema.Name}: {e.Message}"); }
    }

    private W.PushAck OnPush(W.DeltaBatch batch)
    {
        var forward = new W.DeltaBatch { From = NodeId };
        uint applied = 0;
        List<MemberUpdate> targets = [];
        lock (_lock)
        {
            foreach (var wire in batch.Rows)
            {
                var table = _store.Find(wire.Table);
                if (table is null || WireConvert.FromWire(wire, table.Schema) is not { } row)
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"row of unknown table or malformed: {wire.Table}"));
                var outcome = table.Merge(row, _book, NodeId);
                if (outcome == SharedTable.MergeOutcome.Full)
                    _log.Error($"cluster: table {wire.Table} is full; a row from node {batch.From:x16} was not applied (anti-entropy will retry)");
                if (outcome != SharedTable.MergeOutcome.Changed) continue;
                applied++;
                OnRowMerged(table, row.Key);
                if (table.Export(row.Key, _book, NodeId) is { } merged) forward.Rows.Add(WireConvert.ToWire(table.Schema.Name, merged));
            }
            // Small clusters got the push from its origin directly; larger ones spread it epidemically.
            if (forward.Rows.Count > 0 && _swim.ReachableCount > _options.Fanout)
                targets = _swim.RandomReachable(_options.Fanout, except: batch.From);
        }
        Send(targets, forward);
        return new W.PushAck { Applied = applied };
    }

    // ---------- replication: anti-entropy ----------

    private async Task AntiEntropyLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try { await _antiEntropyNow.WaitAsync(_options.AntiEntropyInterval, _stop.Token); }
            catch (OperationCanceledException) { return; }
            List<MemberUpdate> peers;
            lock (_lock) peers = _swim.RandomReachable(1);
            foreach (var peer in peers)
            {
                try
                {
                    if (await ExchangeAsync(peer)) _inSyncSinceMs[peer.Id] = NowMs;
                }
                catch (Exception e) when (CallFailed(e))
                {
                    _log.Debug($"cluster: anti-entropy with {peer.Address} failed: {e.Message}");
                }
            }
            CollectTombstones();
        }
    }

    /// <summary>Compares every table with one peer and repairs the ranges that differ, both ways. True if they all matched.</summary>
    private async Task<bool> ExchangeAsync(MemberUpdate peer)
    {
        var allMatched = true;
        var ranges = _options.DigestRanges;
        foreach (var table in _store.Tables)
        {
            var theirs = await _peers.Replication(peer.Address).DigestAsync(
                new W.DigestRequest { From = NodeId, Table = table.Schema.Name, Ranges = (uint)ranges }, Call());
            var ours = Digest(table, ranges);
            var differing = Enumerable.Range(0, ranges).Where(r => r >= theirs.Hashes.Count || theirs.Hashes[r] != ours[r]).Select(r => (uint)r).ToList();
            if (differing.Count == 0) continue;
            allMatched = false;
            // Pull their rows of those ranges...
            var request = new W.RepairRequest { From = NodeId, Table = table.Schema.Name, RangeCount = (uint)ranges };
            request.Ranges.AddRange(differing);
            using (var repair = _peers.Replication(peer.Address).Repair(request, Call(TimeSpan.FromSeconds(30))))
            {
                await foreach (var wire in repair.ResponseStream.ReadAllAsync(_stop.Token))
                {
                    if (WireConvert.FromWire(wire, table.Schema) is not { } row) continue;
                    SharedTable.MergeOutcome outcome;
                    lock (_lock) outcome = table.Merge(row, _book, NodeId);
                    if (outcome == SharedTable.MergeOutcome.Changed) OnRowMerged(table, row.Key);
                }
            }
            // ...and push ours, so the peer gets what it lacks (deletes included).
            var set = differing.ToHashSet();
            var push = new W.DeltaBatch { From = NodeId };
            foreach (var row in RowsIn(table, ranges, set)) push.Rows.Add(WireConvert.ToWire(table.Schema.Name, row));
            for (var i = 0; i < push.Rows.Count; i += 256)
            {
                var part = new W.DeltaBatch { From = NodeId };
                part.Rows.AddRange(push.Rows.Skip(i).Take(256));
                await _peers.Replication(peer.Address).PushAsync(part, Call(TimeSpan.FromSeconds(10)));
            }
        }
        return allMatched;
    }

    private static uint RangeOf(ulong keyHash, int ranges) => (uint)(keyHash % (ulong)ranges);

    private List<RowState> RowsIn(SharedTable table, int ranges, HashSet<uint>? wanted)
    {
        var rows = new List<RowState>();
        lock (_lock)
        {
            var cursor = 0;
            do cursor = table.ExportScan(cursor, 1024, _book, NodeId, rows, wanted is null ? null : h => wanted.Contains(RangeOf(h, ranges)));
            while (cursor != 0);
        }
        return rows;
    }

    private ulong[] Digest(SharedTable table, int ranges)
    {
        var hashes = new ulong[ranges];
        foreach (var row in RowsIn(table, ranges, null))
        {
            if (row.Deleted) continue;
            hashes[RangeOf(SharedTable.KeyHash(row.Key), ranges)] ^= SharedTable.ContentHash(row);
        }
        return hashes;
    }

    private W.DigestResponse OnDigest(W.DigestRequest request)
    {
        var table = _store.Find(request.Table) ?? throw new RpcException(new Status(StatusCode.NotFound, $"no table {request.Table} on this node"));
        if (request.Ranges is 0 or > 65536) throw new RpcException(new Status(StatusCode.InvalidArgument, "ranges must be 1 to 65536"));
        var response = new W.DigestResponse();
        response.Hashes.AddRange(Digest(table, (int)request.Ranges));
        return response;
    }

    private async Task OnRepair(W.RepairRequest request, IServerStreamWriter<W.RowState> stream)
    {
        var table = _store.Find(request.Table) ?? throw new RpcException(new Status(StatusCode.NotFound, $"no table {request.Table} on this node"));
        if (request.RangeCount is 0 or > 65536) throw new RpcException(new Status(StatusCode.InvalidArgument, "range_count must be 1 to 65536"));
        foreach (var row in RowsIn(table, (int)request.RangeCount, request.Ranges.ToHashSet()))
            await stream.WriteAsync(WireConvert.ToWire(table.Schema.Name, row));
    }

    /// <summary>
    /// Frees tombstones older than the retention and than the moment every reachable peer was last
    /// found in sync with this node: by then each of them has the delete.
    /// </summary>
    private void CollectTombstones()
    {
        var now = NowMs;
        long horizonMs = now - (long)_options.TombstoneRetention.TotalMilliseconds;
        lock (_lock)
        {
            foreach (var peer in _swim.Reachable)
                horizonMs = Math.Min(horizonMs, _inSyncSinceMs.TryGetValue(peer.Id, out var t) ? t : long.MinValue);
        }
        if (horizonMs == long.MinValue) return;
        var horizonClock = (HybridClock.PhysicalMilliseconds - (now - horizonMs)) << 16;
        foreach (var table in _store.Tables)
        {
            List<byte[]> collected;
            lock (_lock)
            {
                collected = table.CollectTombstones(horizonClock);
                foreach (var key in collected) _book.Forget(table.Id, key, table.Schema.Columns.Count);
            }
            if (collected.Count > 0) _log.Debug($"cluster: collected {collected.Count} tombstone(s) of {table.Schema.Name}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Graceful leave: tell the others, so they need not detect it.
        List<MemberUpdate> peers;
        W.LeaveNotice notice;
        lock (_lock)
        {
            peers = _swim.Reachable.ToList();
            notice = new W.LeaveNotice { Self = WireConvert.ToWire(_swim.Leaving()) };
        }
        await Task.WhenAll(peers.Select(async p =>
        {
            try { await _peers.Membership(p.Address).LeaveAsync(notice, Call(TimeSpan.FromSeconds(1))); }
            catch (Exception e) when (CallFailed(e)) { /* it will be detected instead */ }
        }));
        _stop.Cancel();
        try { await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        if (_server is not null) await _server.DisposeAsync();
        _peers.Dispose();
    }
}
