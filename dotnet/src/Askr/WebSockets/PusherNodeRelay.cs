using Askr.Control;
using Askr.Supervision;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// The supervisor's part of the Pusher endpoint: relays each event one HTTP worker originated to
/// the node's other HTTP workers (in the order it reads them from that worker's control socket),
/// and keeps presence node-wide (<see cref="PresenceRegistry"/>): a user connected to two workers
/// is one member, and a worker that exits takes its members with it.
/// </summary>
/// <remarks>
/// This is a node-local route over the control socket (one JSON frame per event and worker), not
/// the shared-memory ring the design names (docs/websockets.md, "Fan-out").
/// </remarks>
internal sealed class PusherNodeRelay(Func<IEnumerable<WorkerProcess>> workers, PusherWebhooks? webhooks = null)
{
    private readonly object _lock = new();
    private readonly PresenceRegistry _presence = new();
    // Subscriber counts per app and channel, per worker pid.
    private readonly Dictionary<(string App, string Channel), Dictionary<int, int>> _counts = new();

    /// <summary>Handles a Pusher message from <paramref name="from"/>; false if it is not one.</summary>
    public bool OnMessage(WorkerProcess from, ControlMessage message)
    {
        switch (message)
        {
            case PusherEventMessage e:
                foreach (var other in workers())
                    if (other != from && !other.IsTask) other.Connection?.TrySend(e);
                if (e.IsClientEvent && webhooks is not null)
                    foreach (var channel in e.Channels) webhooks.ClientEvent(e.AppId, channel, e.Name, e.DataJson, e.ExceptSocketId, e.UserId);
                return true;
            case PresenceMessage p:
                lock (_lock)
                {
                    if (_presence.Apply(from.Pid, p.ToDelta()) is { } change) NodeChanged(change);
                }
                return true;
            case ChannelCountMessage c:
                lock (_lock)
                {
                    var key = (c.AppId, c.Channel);
                    var wasOccupied = _counts.ContainsKey(key);
                    if (c.Count > 0)
                    {
                        if (!_counts.TryGetValue(key, out var perWorker)) _counts[key] = perWorker = [];
                        perWorker[from.Pid] = c.Count;
                    }
                    else if (_counts.TryGetValue(key, out var perWorker) && perWorker.Remove(from.Pid) && perWorker.Count == 0)
                        _counts.Remove(key);
                    // The node's first subscriber came, or its last one left (a count of 0 is never kept).
                    if (!wasOccupied && _counts.ContainsKey(key)) webhooks?.ChannelOccupied(c.AppId, c.Channel);
                    else if (wasOccupied && !_counts.ContainsKey(key)) webhooks?.ChannelVacated(c.AppId, c.Channel);
                }
                return true;
            case ConnectionCountMessage n:
                lock (_lock)
                {
                    if (!_connectionCounts.TryGetValue(n.AppId, out var perWorker)) _connectionCounts[n.AppId] = perWorker = [];
                    if (n.Count > 0) perWorker[from.Pid] = n.Count; else perWorker.Remove(from.Pid);
                    SendConnectionCountsLocked(n.AppId, except: from);
                }
                return true;
            case ChannelQueryMessage q:
                var local = LocalChannels(q.AppId, q.Channel, q.Prefix);
                if (_node is not { } node)
                {
                    from.Connection?.TrySend(Answer(q.Id, local));
                    return true;
                }
                // In a cluster: every reachable node's counts, summed (asked in parallel, 1 s each).
                _ = Task.Run(async () =>
                {
                    var sums = local.ToDictionary(c => c.Channel, c => c.Subscriptions, StringComparer.Ordinal);
                    try
                    {
                        foreach (var (channel, n) in await node.QueryChannelsAsync(q.AppId, q.Channel, q.Prefix))
                            sums[channel] = sums.GetValueOrDefault(channel) + n;
                    }
                    catch (Exception) { /* the node's own counts still answer */ }
                    from.Connection?.TrySend(Answer(q.Id, sums.Select(kv => (kv.Key, kv.Value)).ToList()));
                });
                return true;
            default:
                return false;
        }
    }

    // Open connections per app, per worker pid (reported only when --pusher-max-connections is set).
    private readonly Dictionary<string, Dictionary<int, int>> _connectionCounts = new(StringComparer.Ordinal);

    /// <summary>Tells each HTTP worker (but <paramref name="except"/>, whose own count changed) the app's connections on the others.</summary>
    private void SendConnectionCountsLocked(string app, WorkerProcess? except)
    {
        var perWorker = _connectionCounts.GetValueOrDefault(app) ?? [];
        var total = perWorker.Values.Sum();
        foreach (var w in workers())
            if (w != except && !w.IsTask)
                w.Connection?.TrySend(new OtherConnectionsMessage { AppId = app, Count = total - perWorker.GetValueOrDefault(w.Pid) });
    }

    /// <summary>The node's event ring (null: events are relayed over the control sockets).</summary>
    public EventRing? Ring { get; set; }

    /// <summary>
    /// Reads the workers' events from the ring when the supervisor has something to do with them:
    /// send them to the other nodes of the cluster (<see cref="AttachCluster"/> first), and the
    /// client_event webhook. Call once, after <see cref="Ring"/> and the cluster are set.
    /// </summary>
    public void StartRingReader()
    {
        if (Ring is not { } ring || (_node is null && webhooks is null)) return;
        PusherNodeClient.StartRingReader(ring, e =>
        {
            _node?.PublishPusher(e);
            if (e.IsClientEvent && webhooks is not null)
                foreach (var channel in e.Channels) webhooks.ClientEvent(e.AppId, channel, e.Name, e.DataJson, e.ExceptSocketId, e.UserId);
        }, null, "askr-pusher-ring-supervisor");
    }

    /// <summary>An event another node of the cluster sent: to every HTTP worker of this node (one ring append).</summary>
    public void FromCluster(PusherEventMessage e)
    {
        if (Ring is { } ring && e.ToJson() is var json && json.Length <= ring.MaxPayloadBytes) ring.Append(json);
        else SendToAll(e);
    }

    // ---------- presence across a cluster ----------
    // Two levels: _presence (holders: this node's workers) gives the node's members; in a cluster
    // _cluster (holders: nodes, this one included) gives the cluster's, and only its changes reach
    // the workers. Each change of the node's members is sent to the other nodes, in order, on the
    // same stream as the events; a full snapshot goes to a node that becomes alive and to all every
    // SnapshotInterval (which repairs what a dropped stream lost).

    private readonly PresenceRegistry<ulong> _cluster = new();
    private Cluster.ClusterNode? _node;

    /// <summary>How often this node sends all its presence members to every other node.</summary>
    public static readonly TimeSpan SnapshotInterval = TimeSpan.FromSeconds(5);

    /// <summary>Shares presence through <paramref name="node"/> (its Pusher hooks are set here).</summary>
    public void AttachCluster(Cluster.ClusterNode node)
    {
        _node = node;
        node.PusherReceived = FromCluster;
        node.LocalChannels = LocalChannels;
        node.PresenceReceived = (from, changes, snapshot) =>
        {
            lock (_lock)
            {
                var up = snapshot ? _cluster.Replace(from, changes) : changes.Select(c => _cluster.Apply(from, c)).OfType<PresenceDelta>().ToList();
                foreach (var c in up) SendToAll(PresenceMessage.From(c));
            }
        };
        node.MemberChanged = (id, alive) =>
        {
            lock (_lock)
            {
                if (alive) node.PublishPresenceSnapshot(_presence.Snapshot(), id);
                else foreach (var c in _cluster.RemoveWorker(id)) SendToAll(PresenceMessage.From(c));
            }
        };
        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(SnapshotInterval);
            while (await timer.WaitForNextTickAsync())
                lock (_lock) node.PublishPresenceSnapshot(_presence.Snapshot());
        });
    }

    /// <summary>A change of this node's members: to the workers (alone) or through the cluster level.</summary>
    private void NodeChanged(PresenceDelta change)
    {
        if (_node is not { } node)
        {
            SendToAll(PresenceMessage.From(change));
            MemberWebhook(change);
            return;
        }
        node.PublishPresence(change);
        if (_cluster.Apply(node.NodeId, change) is { } up)
        {
            SendToAll(PresenceMessage.From(up));
            // The cluster's change was made here: this node alone sends its webhook.
            MemberWebhook(up);
        }
    }

    private void MemberWebhook(PresenceDelta change)
    {
        if (change.Joined) webhooks?.MemberAdded(change.AppId, change.Channel, change.UserId);
        else webhooks?.MemberRemoved(change.AppId, change.Channel, change.UserId);
    }

    /// <summary>This node's subscription counts of one channel (<paramref name="channel"/>) or of the occupied channels (with <paramref name="prefix"/>).</summary>
    private List<(string Channel, int Subscriptions)> LocalChannels(string app, string? channel, string? prefix)
    {
        var list = new List<(string, int)>();
        lock (_lock)
            foreach (var ((a, c), perWorker) in _counts)
                if (a == app && (channel is null || c == channel) && (prefix is null || c.StartsWith(prefix, StringComparison.Ordinal)))
                    list.Add((c, perWorker.Values.Sum()));
        return list;
    }

    private static ChannelQueryAnswerMessage Answer(long id, List<(string Channel, int Subscriptions)> counts)
    {
        var answer = new ChannelQueryAnswerMessage { Id = id };
        foreach (var (channel, n) in counts)
        {
            answer.Channels.Add(channel);
            answer.Counts.Add(n);
        }
        return answer;
    }

    /// <summary>An HTTP worker is ready: it learns the node's members (the cluster's, in a cluster).</summary>
    public void WorkerReady(WorkerProcess worker)
    {
        if (worker.IsTask) return;
        lock (_lock)
        {
            foreach (var member in _node is null ? _presence.Snapshot() : _cluster.Snapshot()) worker.Connection?.TrySend(PresenceMessage.From(member, snapshot: true));
            foreach (var (app, perWorker) in _connectionCounts)
                worker.Connection?.TrySend(new OtherConnectionsMessage { AppId = app, Count = perWorker.Values.Sum() - perWorker.GetValueOrDefault(worker.Pid) });
        }
    }

    /// <summary>A worker exited: the users only it held leave every presence channel.</summary>
    public void WorkerGone(WorkerProcess worker)
    {
        if (worker.IsTask) return;
        lock (_lock)
        {
            foreach (var change in _presence.RemoveWorker(worker.Pid)) NodeChanged(change);
            foreach (var (key, perWorker) in _counts.ToList())
                if (perWorker.Remove(worker.Pid) && perWorker.Count == 0)
                {
                    _counts.Remove(key);
                    webhooks?.ChannelVacated(key.App, key.Channel);
                }
            foreach (var (app, perWorker) in _connectionCounts)
                if (perWorker.Remove(worker.Pid)) SendConnectionCountsLocked(app, except: worker);
        }
    }

    private void SendToAll(ControlMessage message)
    {
        foreach (var w in workers())
            if (!w.IsTask) w.Connection?.TrySend(message);
    }
}
