using System.Collections.Concurrent;
using Askr.Control;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// An HTTP worker's link from its <see cref="PusherServer"/> to the rest of the node, over the
/// control socket: relays its events and presence changes to the supervisor, reports its channel
/// counts, asks the supervisor for the node-wide counts the HTTP API answers with, and applies
/// what the supervisor sends.
/// </summary>
internal sealed class PusherNodeClient
{
    /// <summary>How long a channel query waits for the supervisor before the HTTP API answers 503.</summary>
    public static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);

    private readonly PusherServer _server;
    private readonly ControlClient _control;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ChannelQueryAnswerMessage>> _pending = new();
    private long _nextId;

    public PusherNodeClient(PusherServer server, ControlClient control)
    {
        _server = server;
        _control = control;
        server.Relay = e => control.Send(PusherEventMessage.From(e));
        server.PresenceRelay = d => control.Send(PresenceMessage.From(d));
        server.OccupancyRelay = (app, channel, count) => control.Send(new ChannelCountMessage { AppId = app, Channel = channel, Count = count });
        server.NodeQuery = QueryAsync;
        // Only a limited node needs the counts (two control frames per connection opened or closed).
        if (server.Limits.MaxConnectionsPerApp > 0)
            server.ConnectionCountRelay = (app, count) => control.Send(new ConnectionCountMessage { AppId = app, Count = count });
    }

    /// <summary>Handles a Pusher message from the supervisor; false if it is not one.</summary>
    public bool OnMessage(ControlMessage message)
    {
        switch (message)
        {
            case PusherEventMessage e: _server.Deliver(e.ToEvent()); return true;
            case PresenceMessage p: _server.ApplyPresenceChange(p.ToDelta(), p.Snapshot); return true;
            case OtherConnectionsMessage o: _server.SetOtherWorkersConnections(o.AppId, o.Count); return true;
            case ChannelQueryAnswerMessage a:
                if (_pending.TryRemove(a.Id, out var waiter)) waiter.TrySetResult(a);
                return true;
            default: return false;
        }
    }

    private async Task<IReadOnlyList<(string Channel, int Subscriptions)>> QueryAsync(string app, string? channel, string? prefix)
    {
        var id = Interlocked.Increment(ref _nextId);
        var waiter = new TaskCompletionSource<ChannelQueryAnswerMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = waiter;
        try
        {
            _control.Send(new ChannelQueryMessage { Id = id, AppId = app, Channel = channel, Prefix = prefix });
            var answer = await waiter.Task.WaitAsync(QueryTimeout);
            return answer.Channels.Zip(answer.Counts).ToList();
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the supervisor did not answer the channel query within {QueryTimeout.TotalSeconds} s");
        }
        finally { _pending.TryRemove(id, out _); }
    }
}
