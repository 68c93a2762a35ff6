using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// The transport of one Pusher connection: an ASP.NET Core <see cref="WebSocket"/> accepted by
/// Kestrel. One receive loop hands whole text messages (at most the limit's bytes; a larger one is
/// read to its end, dropped, and answered with <c>pusher:error</c>) to the protocol; one send loop
/// writes the bounded queue of frames, and the close frame last.
/// </summary>
internal sealed class PusherWebSocket : PusherConnection
{
    private readonly WebSocket _socket;
    private readonly Channel<byte[]> _queue;
    private int _closeCode;
    private string _closeReason = "";
    private readonly TaskCompletionSource _receiveEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Cancelled a moment after our close frame went out, so a peer that never answers it cannot hold the receive loop.
    private readonly CancellationTokenSource _receiveCancel = new();
    // Cancelled CloseGrace after a close is asked: a peer that does not read cannot keep the connection (and its subscriptions) open.
    private readonly CancellationTokenSource _sendCancel = new();

    /// <summary>How long the frames still queued and the close frame may take to be written once a close is asked; then the connection is dropped.</summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    public PusherWebSocket(WebSocket socket, PusherApp app, string socketId, int maxQueuedFrames) : base(app, socketId)
    {
        _socket = socket;
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(maxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public override bool Send(byte[] utf8Json)
    {
        if (_queue.Writer.TryWrite(utf8Json)) return true;
        // Full (a client that does not read) or already closing.
        Close(4100, "Over capacity: the client does not read its messages");
        return false;
    }

    public override void Close(int code, string reason)
    {
        if (Interlocked.CompareExchange(ref _closeCode, code, 0) != 0) return;
        _closeReason = reason;
        _queue.Writer.TryComplete();
        try { _sendCancel.CancelAfter(CloseGrace); } catch (ObjectDisposedException) { }
    }

    /// <summary>Runs the connection until either side closes it.</summary>
    public async Task RunAsync(PusherServer server, CancellationToken stopping)
    {
        var sending = SendLoopAsync();
        if (!server.Open(this))
        {
            // Refused (over the app's connection quota): the error and the close are queued; wait for the peer's close.
            await DrainReceiveAsync();
            await sending;
            _receiveCancel.Dispose();
            _sendCancel.Dispose();
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(stopping, _receiveCancel.Token);
        try
        {
            var limit = server.Limits.MaxMessageBytes;
            // After our close (_closeCode set) messages are read and dropped until the peer's close frame.
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
            {
                var length = 0;
                var tooLarge = false;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length && !tooLarge)
                    {
                        if (buffer.Length >= limit) tooLarge = true;
                        else
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, buffer.Length * 2));
                            buffer.AsSpan(0, length).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                        }
                    }
                    // Past the limit: keep reading into the buffer's start, discarding.
                    var target = tooLarge ? buffer.AsMemory() : buffer.AsMemory(length);
                    result = await _socket.ReceiveAsync(target, receiving.Token);
                    if (result.MessageType == WebSocketMessageType.Close) return;
                    if (!tooLarge)
                    {
                        length += result.Count;
                        if (length > limit) tooLarge = true;
                    }
                } while (!result.EndOfMessage);

                if (_closeCode != 0) continue;
                if (tooLarge)
                {
                    LastSeen = Environment.TickCount64;
                    Send(PusherMessages.Error(4200, $"Maximum message size exceeded ({limit} bytes)"));
                    continue;
                }
                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    Send(PusherMessages.Error(4200, "Invalid message format: binary frames are not part of the protocol"));
                    continue;
                }
                server.Receive(this, buffer.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            server.Closed(this);
            _receiveEnded.TrySetResult();
            Close(stopping.IsCancellationRequested ? 4200 : 1000, "");
            await sending;
            _receiveCancel.Dispose();
            _sendCancel.Dispose();
        }
    }

    /// <summary>For a connection refused before the protocol runs: sends what is queued and the close, then waits for the peer's close.</summary>
    public async Task DrainAsync()
    {
        var sending = SendLoopAsync();
        await DrainReceiveAsync();
        await sending;
        _receiveCancel.Dispose();
        _sendCancel.Dispose();
    }

    // Reads and drops what the peer sends until its close frame (at most 5 s).
    private async Task DrainReceiveAsync()
    {
        try
        {
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (_socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                if ((await _socket.ReceiveAsync(buffer.AsMemory(), timeout.Token)).MessageType == WebSocketMessageType.Close) break;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException) { }
        _receiveEnded.TrySetResult();
    }

    private async Task SendLoopAsync()
    {
        try
        {
            await foreach (var frame in _queue.Reader.ReadAllAsync())
                await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _sendCancel.Token);
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, _sendCancel.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException or TimeoutException) { }
        finally
        {
            // Give the peer a moment to answer the close (RFC 6455 §7.1.1), then stop waiting for it.
            try { _receiveCancel.CancelAfter(TimeSpan.FromSeconds(2)); } catch (ObjectDisposedException) { }
        }
    }
}
