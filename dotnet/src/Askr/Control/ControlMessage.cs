using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Askr.Control;

/// <summary>
/// A message on the control socket between the supervisor and its workers (a Unix domain
/// socket). Framing: a 4-byte little-endian length, then that many bytes of UTF-8 JSON.
/// Frames larger than <see cref="MaxFrameBytes"/> are a protocol error and close the connection.
/// </summary>
public sealed class ControlMessage
{
    public const string Hello = "hello";
    public const string Ready = "ready";
    public const string Stats = "stats";
    public const string Recycle = "recycle";
    public const int MaxFrameBytes = 16 * 1024 * 1024;

    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("slot")] public int Slot { get; set; }
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("requests")] public long Requests { get; set; }

    public byte[] ToFrame()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this);
        var frame = new byte[4 + json.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, json.Length);
        json.CopyTo(frame, 4);
        return frame;
    }

    /// <summary>Reads one frame; null at end of stream. Throws <see cref="InvalidDataException"/> on a bad frame.</summary>
    public static async Task<ControlMessage?> ReadAsync(Stream stream, CancellationToken ct)
    {
        var header = new byte[4];
        if (!await ReadExactlyOrEndAsync(stream, header, ct)) return null;
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length <= 0 || length > MaxFrameBytes)
            throw new InvalidDataException($"control frame of {length} bytes (allowed: 1..{MaxFrameBytes})");
        var body = new byte[length];
        if (!await ReadExactlyOrEndAsync(stream, body, ct))
            throw new InvalidDataException("control stream ended inside a frame");
        try
        {
            return JsonSerializer.Deserialize<ControlMessage>(body) ?? throw new InvalidDataException("empty control message");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"control frame is not a JSON message: {e.Message}", e);
        }
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                if (read == 0) return false;
                throw new InvalidDataException("control stream ended inside a frame");
            }
            read += n;
        }
        return true;
    }
}

/// <summary>The worker's end of the control socket.</summary>
public sealed class ControlClient : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly object _sendLock = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _slot;

    private ControlClient(Socket socket, int slot)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _slot = slot;
        _ = WatchAsync();
    }

    /// <summary>Completes when the supervisor closes the socket (it is gone: the worker stops).</summary>
    public Task Closed => _closed.Task;

    public static async Task<ControlClient> ConnectAsync(string path, int slot)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var client = new ControlClient(socket, slot);
        client.Send(new ControlMessage { Type = ControlMessage.Hello });
        return client;
    }

    public void Send(ControlMessage message)
    {
        message.Slot = _slot;
        message.Pid = Environment.ProcessId;
        var frame = message.ToFrame();
        lock (_sendLock)
        {
            try { _stream.Write(frame); }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { _closed.TrySetResult(); }
        }
    }

    private async Task WatchAsync()
    {
        try
        {
            while (await ControlMessage.ReadAsync(_stream, CancellationToken.None) is not null) { }
        }
        catch (Exception) { }
        _closed.TrySetResult();
    }

    public void Dispose() => _stream.Dispose();
}
