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
internal sealed class PusherNodeRelay(Func<IEnumerable<WorkerProcess>> workers)
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
                return true;
            case PresenceMessage p:
                lock (_lock)
                {
                    if (_presence.Apply(from.Pid, p.ToDelta()) is { } change) SendToAll(PresenceMessage.From(change));
                }
                return true;
            case ChannelCountMessage c:
                lock (_lock)
                {
                    var key = (c.AppId, c.Channel);
                    if (c.Count > 0)
                    {
                        if (!_counts.TryGetValue(key, out var perWorker)) _counts[key] = perWorker = [];
                        perWorker[from.Pid] = c.Count;
                    }
                    else if (_counts.TryGetValue(key, out var perWorker) && perWorker.Remove(from.Pid) && perWorker.Count == 0)
                        _counts.Remove(key);
                }
                return true;
            case ChannelQueryMessage q:
                var answer = new ChannelQueryAnswerMessage { Id = q.Id };
                lock (_lock)
                    foreach (var ((app, channel), perWorker) in _counts)
                        if (app == q.AppId && (q.Channel is null || channel == q.Channel) && (q.Prefix is null || channel.StartsWith(q.Prefix, StringComparison.Ordinal)))
                        {
                            answer.Channels.Add(channel);
                            answer.Counts.Add(perWorker.Values.Sum());
                        }
                from.Connection?.TrySend(answer);
                return true;
            default:
                return false;
        }
    }

    /// <summary>An event another node of the cluster sent: to every HTTP worker of this node.</summary>
    public void FromCluster(PusherEventMessage e) => SendToAll(e);

    /// <summary>An HTTP worker is ready: it learns the node's members.</summary>
    public void WorkerReady(WorkerProcess worker)
    {
        if (worker.IsTask) return;
        lock (_lock)
            foreach (var member in _presence.Snapshot()) worker.Connection?.TrySend(PresenceMessage.From(member, snapshot: true));
    }

    /// <summary>A worker exited: the users only it held leave every presence channel.</summary>
    public void WorkerGone(WorkerProcess worker)
    {
        if (worker.IsTask) return;
        lock (_lock)
        {
            foreach (var change in _presence.RemoveWorker(worker.Pid)) SendToAll(PresenceMessage.From(change));
            foreach (var (key, perWorker) in _counts.ToList())
                if (perWorker.Remove(worker.Pid) && perWorker.Count == 0) _counts.Remove(key);
        }
    }

    private void SendToAll(ControlMessage message)
    {
        foreach (var w in workers())
            if (!w.IsTask) w.Connection?.TrySend(message);
    }
}
