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

    public PusherNodeClient(PusherServer server, ControlClient control, EventRing? ring = null, Logging.LogWriter? log = null)
    {
        _server = server;
        _control = control;
        if (ring is null) server.Relay = e => control.Send(PusherEventMessage.From(e));
        else
        {
            // One append reaches every other worker (and the supervisor, for the cluster); an event
            // too large for the ring goes the old way, through the supervisor.
            server.Relay = e =>
            {
                var message = PusherEventMessage.From(e);
                var json = message.ToJson();
                if (json.Length <= ring.MaxPayloadBytes) ring.Append(json);
                else control.Send(message);
            };
            StartRingReader(ring, server, log);
        }
        server.PresenceRelay = d => control.Send(PresenceMessage.From(d));
        server.OccupancyRelay = (app, channel, count) => control.Send(new ChannelCountMessage { AppId = app, Channel = channel, Count = count });
        server.NodeQuery = QueryAsync;
        // Only a limited node needs the counts (two control frames per connection opened or closed).
        if (server.Limits.MaxConnectionsPerApp > 0)
            server.ConnectionCountRelay = (app, count) => control.Send(new ConnectionCountMessage { AppId = app, Count = count });
    }

    /// <summary>
    /// Starts the thread that delivers the other processes' ring records to this worker's subscribers
    /// (it sleeps in FUTEX_WAIT between appends, 100 ms at most).
    /// </summary>
    internal static Thread StartRingReader(EventRing ring, Action<PusherEventMessage> deliver, Logging.LogWriter? log, string name)
    {
        var reader = ring.NewReader();
        var thread = new Thread(() =>
        {
            long overruns = 0;
            while (true)
            {
                while (reader.TryRead(out var payload, out _))
                {
                    try
                    {
                        if (Control.ControlMessage.FromJson(payload) is PusherEventMessage e) deliver(e);
                    }
                    catch (Exception ex) { log?.Warning($"Pusher event ring: a record that is not an event: {ex.Message}"); }
                }
                if (reader.Overruns != overruns)
                {
                    overruns = reader.Overruns;
                    log?.Warning($"Pusher event ring: this process fell a whole ring behind and lost events ({overruns} time(s) so far; --pusher-ring-size)");
                }
                reader.Wait(100);
            }
        }) { IsBackground = true, Name = name };
        thread.Start();
        return thread;
    }

    private static void StartRingReader(EventRing ring, PusherServer server, Logging.LogWriter? log) =>
        StartRingReader(ring, e => server.Deliver(e.ToEvent()), log, "askr-pusher-ring");

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
