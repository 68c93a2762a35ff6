using System.Collections.Concurrent;
using System.Threading.Channels;
using Askr.Cluster.Membership;
using Askr.WebSockets;
using Askr.WebSockets.Pusher;
using Grpc.Core;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster;

// Pusher events and presence across the cluster (docs/websockets.md, "Cluster"): an event
// triggered on this node, and each change of the presence members this node holds, go to every
// reachable member through one ordered stream per peer (a bounded queue and a
// sender loop that sends batches, Broadcast.Publish, and sends a batch again until it is answered
// or the peer is no longer reachable). Sequence numbers per (sender, receiver) let the receiver
// deliver each item once even when a batch is sent again after a lost answer. What a peer
// receives goes to PusherReceived / PresenceReceived (the supervisor's PusherNodeRelay).
// Membership changes that presence needs (a member alive: send it our members; gone: forget its
// members) reach MemberChanged, one at a time and in order, off the membership lock.
internal sealed partial class ClusterNode
{
    /// <summary>Events queued for one peer before new ones are dropped (and counted).</summary>
    public const int PusherQueueLength = 10_000;
    /// <summary>Most events in one Publish call.</summary>
    public const int PusherBatchSize = 256;
    private static readonly TimeSpan PusherRetryDelay = TimeSpan.FromMilliseconds(100);

    private sealed class PeerStream
    {
        public required ulong PeerId;
        public required string Address;
        public readonly Channel<W.BroadcastItem> Queue = Channel.CreateBounded<W.BroadcastItem>(new BoundedChannelOptions(PusherQueueLength)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        public long Dropped;
    }

    private readonly ConcurrentDictionary<ulong, PeerStream> _pusherStreams = new();
    // Next sequence number per receiver: kept across a peer's streams (it may come back alive), never reused.
    private readonly ConcurrentDictionary<ulong, ulong> _pusherNextSequence = new();
    // Highest sequence number delivered here, per sender.
    private readonly Dictionary<ulong, ulong> _pusherDelivered = [];
    private long _pusherDroppedTotal;

    /// <summary>Serve and send Pusher events (set before <see cref="StartAsync"/>: the node has --pusher-app).</summary>
    public bool PusherEnabled { get; set; }

    /// <summary>An event another node sent; must not block (the supervisor queues it to its workers).</summary>
    public Action<PusherEventMessage>? PusherReceived { get; set; }

    /// <summary>Events this node could not queue for a peer (its queue was full), since start.</summary>
    public long PusherDropped => Interlocked.Read(ref _pusherDroppedTotal);

    /// <summary>A presence change of another node (<c>from</c>): a delta, or with <c>snapshot</c> all its members (the delta list).</summary>
    public Action<ulong, IReadOnlyList<PresenceDelta>, bool>? PresenceReceived { get; set; }

    /// <summary>A member became alive (true: send it this node's presence members) or dead or left (false: forget its members).</summary>
    public Action<ulong, bool>? MemberChanged { get; set; }

    /// <summary>Sends <paramref name="message"/> (an event of this node's workers) to every reachable member.</summary>
    public void PublishPusher(PusherEventMessage message) => PublishItem(new W.BroadcastItem { Event = ToWire(message) });

    /// <summary>Sends a change of this node's presence members to every reachable member (call in the order the changes happen).</summary>
    public void PublishPresence(PresenceDelta change) => PublishItem(new W.BroadcastItem { Presence = ToWire(change) });

    /// <summary>Sends all of this node's presence members to <paramref name="peer"/> (or to every reachable member), replacing what it knew of them.</summary>
    public void PublishPresenceSnapshot(IEnumerable<PresenceDelta> members, ulong? peer = null)
    {
        var snapshot = new W.PresenceSnapshot();
        snapshot.Members.AddRange(members.Select(ToWire));
        PublishItem(new W.BroadcastItem { PresenceSnapshot = snapshot }, peer);
    }

    private void PublishItem(W.BroadcastItem item, ulong? only = null)
    {
        if (!PusherEnabled || _stop.IsCancellationRequested) return;
        List<MemberUpdate> peers;
        lock (_lock) peers = _swim.Reachable.Where(m => m.Id != NodeId && (only is null || m.Id == only)).ToList();
        foreach (var peer in peers)
        {
            var stream = _pusherStreams.GetOrAdd(peer.Id, id =>
            {
                var s = new PeerStream { PeerId = id, Address = peer.Address };
                _ = Task.Run(() => PusherSendLoopAsync(s));
                return s;
            });
            if (!stream.Queue.Writer.TryWrite(item))
            {
                Interlocked.Increment(ref _pusherDroppedTotal);
                if (Interlocked.Increment(ref stream.Dropped) is 1 or 1000 or 100_000)
                    _log.Warning($"cluster: Pusher events for node {peer.Id:x16} dropped: its queue of {PusherQueueLength} is full ({stream.Dropped} so far)");
            }
        }
    }

    private readonly Channel<(ulong Id, bool Alive)> _memberChanges = Channel.CreateUnbounded<(ulong, bool)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Called by the membership (under its lock) on every status change: queued for <see cref="MemberChangeLoopAsync"/>.</summary>
    private void OnMemberStatus(MemberUpdate m)
    {
        if (!PusherEnabled || m.Id == NodeId) return;
        if (m.Status == MemberStatus.Suspect) return; // still a member
        _memberChanges.Writer.TryWrite((m.Id, m.Status == MemberStatus.Alive));
    }

    private async Task MemberChangeLoopAsync()
    {
        try
        {
            await foreach (var (id, alive) in _memberChanges.Reader.ReadAllAsync(_stop.Token))
            {
                try { MemberChanged?.Invoke(id, alive); }
                catch (Exception e) { _log.Warning($"cluster: after node {id:x16} became {(alive ? "alive" : "gone")}: {e.Message}"); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private bool Reachable(ulong id)
    {
        lock (_lock) return _swim.Reachable.Any(m => m.Id == id);
    }

    private async Task PusherSendLoopAsync(PeerStream stream)
    {
        var reader = stream.Queue.Reader;
        var batch = new List<W.BroadcastItem>(PusherBatchSize);
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                batch.Clear();
                while (batch.Count < PusherBatchSize && reader.TryRead(out var e)) batch.Add(e);
                var first = _pusherNextSequence.AddOrUpdate(stream.PeerId, 1UL + (ulong)batch.Count, (_, next) => next + (ulong)batch.Count) - (ulong)batch.Count;
                var request = new W.EventBatch { From = NodeId, FirstSequence = first };
                request.Items.AddRange(batch);
                while (true)
                {
                    try
                    {
                        await _peers.Broadcast(stream.Address).PublishAsync(request, Call());
                        break;
                    }
                    catch (Exception e) when (CallFailed(e))
                    {
                        if (_stop.IsCancellationRequested) return;
                        if (e is RpcException { StatusCode: StatusCode.Unimplemented })
                        {
                            _log.Warning($"cluster: node {stream.PeerId:x16} does not serve Pusher events (no --pusher-app there): {batch.Count} event(s) not delivered there");
                            break;
                        }
                        if (!Reachable(stream.PeerId))
                        {
                            // Dead or left: what is queued for it is dropped with its stream.
                            _pusherStreams.TryRemove(stream.PeerId, out _);
                            var lost = batch.Count + reader.Count;
                            _log.Warning($"cluster: node {stream.PeerId:x16} is not reachable: {lost} Pusher event(s) for it dropped");
                            return;
                        }
                        await Task.Delay(PusherRetryDelay, _stop.Token);
                    }
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private W.EventAck OnPusherPublish(W.EventBatch batch)
    {
        ulong through;
        lock (_pusherDelivered)
        {
            _pusherDelivered.TryGetValue(batch.From, out var delivered);
            for (var i = 0; i < batch.Items.Count; i++)
            {
                var sequence = batch.FirstSequence + (ulong)i;
                if (sequence <= delivered) continue; // sent again after a lost answer
                delivered = sequence;
                // Delivered in the lock: two batches of one sender cannot overtake each other.
                try
                {
                    var item = batch.Items[i];
                    switch (item.ItemCase)
                    {
                        case W.BroadcastItem.ItemOneofCase.Event:
                            PusherReceived?.Invoke(FromWire(item.Event));
                            break;
                        case W.BroadcastItem.ItemOneofCase.Presence:
                            PresenceReceived?.Invoke(batch.From, [FromWire(item.Presence)], false);
                            break;
                        case W.BroadcastItem.ItemOneofCase.PresenceSnapshot:
                            PresenceReceived?.Invoke(batch.From, item.PresenceSnapshot.Members.Select(FromWire).ToList(), true);
                            break;
                    }
                }
                catch (Exception ex) { _log.Warning($"cluster: delivering a Pusher item from node {batch.From:x16}: {ex.Message}"); }
            }
            _pusherDelivered[batch.From] = delivered;
            through = delivered;
        }
        return new W.EventAck { DeliveredThrough = through };
    }

    private static W.PresenceChange ToWire(PresenceDelta d) => new()
    {
        App = d.AppId, Channel = d.Channel, UserId = d.UserId, UserInfoJson = d.InfoJson ?? "", Joined = d.Joined,
    };

    private static PresenceDelta FromWire(W.PresenceChange c) =>
        new(c.App, c.Channel, c.UserId, c.UserInfoJson.Length == 0 ? null : c.UserInfoJson, c.Joined);

    private static W.PusherEvent ToWire(PusherEventMessage m)
    {
        var e = new W.PusherEvent
        {
            App = m.AppId,
            Name = m.Name,
            DataJson = m.DataJson,
            ExceptSocketId = m.ExceptSocketId ?? "",
            UserId = m.UserId ?? "",
            TerminateUserId = m.TerminateUserId ?? "",
        };
        e.Channels.AddRange(m.Channels);
        return e;
    }

    private static PusherEventMessage FromWire(W.PusherEvent e) => new()
    {
        AppId = e.App,
        Channels = [.. e.Channels],
        Name = e.Name,
        DataJson = e.DataJson,
        ExceptSocketId = e.ExceptSocketId.Length == 0 ? null : e.ExceptSocketId,
        UserId = e.UserId.Length == 0 ? null : e.UserId,
        TerminateUserId = e.TerminateUserId.Length == 0 ? null : e.TerminateUserId,
    };

    /// <summary>This node's subscription counts (app, channel or null, prefix or null), for a peer's channel query.</summary>
    public Func<string, string?, string?, List<(string Channel, int Subscriptions)>>? LocalChannels { get; set; }

    /// <summary>How long a channel query waits for each peer; a peer that does not answer in time is left out.</summary>
    public static readonly TimeSpan ChannelQueryTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The other reachable nodes' subscription counts, summed per channel (a node that fails to answer is left out).</summary>
    public async Task<Dictionary<string, int>> QueryChannelsAsync(string app, string? channel, string? prefix)
    {
        List<MemberUpdate> peers;
        lock (_lock) peers = _swim.Reachable.Where(m => m.Id != NodeId).ToList();
        var query = new W.ChannelQuery { App = app, Channel = channel ?? "", Prefix = prefix ?? "" };
        var answers = await Task.WhenAll(peers.Select(async peer =>
        {
            try { return await _peers.Broadcast(peer.Address).ChannelsAsync(query, Call(ChannelQueryTimeout)); }
            catch (Exception e) when (CallFailed(e)) { return null; }
        }));
        var sums = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var a in answers.OfType<W.ChannelCounts>())
            for (var i = 0; i < a.Channels.Count && i < a.Subscriptions.Count; i++)
                sums[a.Channels[i]] = sums.GetValueOrDefault(a.Channels[i]) + (int)a.Subscriptions[i];
        return sums;
    }

    private W.ChannelCounts OnChannels(W.ChannelQuery q)
    {
        var counts = new W.ChannelCounts();
        foreach (var (channel, n) in LocalChannels?.Invoke(q.App, q.Channel.Length == 0 ? null : q.Channel, q.Prefix.Length == 0 ? null : q.Prefix) ?? [])
        {
            counts.Channels.Add(channel);
            counts.Subscriptions.Add((uint)n);
        }
        return counts;
    }

    /// <summary>The Broadcast service.</summary>
    private sealed class BroadcastService(ClusterNode node) : W.Broadcast.BroadcastBase
    {
        public override Task<W.EventAck> Publish(W.EventBatch request, ServerCallContext context) => Task.FromResult(node.OnPusherPublish(request));

        public override Task<W.ChannelCounts> Channels(W.ChannelQuery request, ServerCallContext context) => Task.FromResult(node.OnChannels(request));
    }
}
