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
    /// <summary>HTTP worker → supervisor: run <see cref="Payloads"/> on task workers (batch <see cref="Batch"/>).</summary>
    public const string Tasks = "tasks";
    /// <summary>Supervisor → task worker: run one task or tick (<see cref="Kind"/>), id <see cref="TaskId"/>.</summary>
    public const string Task = "task";
    /// <summary>Task worker → supervisor: the outcome of task <see cref="TaskId"/>.</summary>
    public const string Result = "result";
    /// <summary>Supervisor → HTTP worker: the outcome of task <see cref="Index"/> of batch <see cref="Batch"/>.</summary>
    public const string TaskResult = "task-result";
    /// <summary>Task worker → supervisor: it is idle again and the supervisor's queue is not empty (see <see cref="TaskBoard"/>).</summary>
    public const string Idle = "idle";
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    [JsonPropertyName("type")] public string Type { get; set; } = "";
    [JsonPropertyName("slot")] public int Slot { get; set; }
    [JsonPropertyName("pid")] public int Pid { get; set; }
    [JsonPropertyName("requests")] public long Requests { get; set; }
    /// <summary>"http" or "task" in a hello; "task" or "tick" in a task message.</summary>
    [JsonPropertyName("kind")] public string? Kind { get; set; }
    [JsonPropertyName("batch")] public long Batch { get; set; }
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("task_id")] public long TaskId { get; set; }
    [JsonPropertyName("wait")] public bool Wait { get; set; }
    /// <summary>"ok" (the task worker answered 200), "error" (it failed: fatal error, crash), "unavailable" (no task workers).</summary>
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("payload")] public byte[]? Payload { get; set; }
    [JsonPropertyName("payloads")] public List<byte[]>? Payloads { get; set; }
    /// <summary>In a "tasks" message: the index in the caller's batch of each payload (absent: 0, 1, 2, ...).</summary>
    [JsonPropertyName("indices")] public List<int>? Indices { get; set; }

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
        var body = new byte[FrameLength(header)];
        if (!await ReadExactlyOrEndAsync(stream, body, ct))
            throw new InvalidDataException("control stream ended inside a frame");
        return Parse(body);
    }

    private static int FrameLength(ReadOnlySpan<byte> header)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        if (length <= 0 || length > MaxFrameBytes)
            throw new InvalidDataException($"control frame of {length} bytes (allowed: 1..{MaxFrameBytes})");
        return length;
    }

    private static ControlMessage Parse(byte[] body)
    {
        try
        {
            return JsonSerializer.Deserialize<ControlMessage>(body) ?? throw new InvalidDataException("empty control message");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"control frame is not a JSON message: {e.Message}", e);
        }
    }

    /// <summary>As <see cref="ReadAsync"/>, blocking (for a dedicated reader thread).</summary>
    public static ControlMessage? Read(Stream stream)
    {
        Span<byte> header = stackalloc byte[4];
        var read = stream.ReadAtLeast(header, 4, throwOnEndOfStream: false);
        if (read == 0) return null;
        if (read < 4) throw new InvalidDataException("control stream ended inside a frame");
        var body = new byte[FrameLength(header)];
        if (stream.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) < body.Length)
            throw new InvalidDataException("control stream ended inside a frame");
        return Parse(body);
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
    }

    /// <summary>
    /// Starts reading the supervisor's messages (after <see cref="OnMessage"/> is set) on a
    /// dedicated thread with blocking reads: one wake-up per message, no thread-pool hop.
    /// </summary>
    public void Start() => new Thread(Watch) { IsBackground = true, Name = "askr-control" }.Start();

    /// <summary>Completes when the supervisor closes the socket (it is gone: the worker stops).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Called on the receive loop for each message from the supervisor.</summary>
    public Action<ControlMessage>? OnMessage { get; set; }

    public static async Task<ControlClient> ConnectAsync(string path, int slot, string kind = "http")
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var client = new ControlClient(socket, slot);
        client.Send(new ControlMessage { Type = ControlMessage.Hello, Kind = kind });
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

    private void Watch()
    {
        try
        {
            while (ControlMessage.Read(_stream) is { } message)
            {
                try { OnMessage?.Invoke(message); }
                catch (Exception e) { Askr.Logging.LogWriter.Current.Error($"control message {message.Type}: {e.Message}"); }
            }
        }
        catch (Exception) { }
        _closed.TrySetResult();
    }

    public void Dispose() => _stream.Dispose();
}
