using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Askr.Tasks;

namespace Askr.Control;

/// <summary>
/// A message on the control socket between the supervisor and its workers (a Unix domain
/// socket), and on a task worker's own socket (<see cref="DirectTaskListener"/>): one type per
/// kind of message, each with only its own fields. Framing: a 4-byte little-endian length, then
/// that many bytes of UTF-8 JSON whose "type" names the kind. Frames larger than
/// <see cref="MaxFrameBytes"/>, frames that are not JSON and kinds this runtime does not know are
/// a protocol error: <see cref="InvalidDataException"/>, and the reader closes that connection.
/// </summary>
/// <remarks>
/// Adding a control message: a sealed class deriving from this one, a <c>JsonDerivedType</c> line
/// below with its wire name, and its case in the receiver's switch (ControlServer for what goes
/// to the supervisor, the worker host's <c>OnMessage</c> for what goes to a worker).
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(HelloMessage), "hello")]
[JsonDerivedType(typeof(ReadyMessage), "ready")]
[JsonDerivedType(typeof(StatsMessage), "stats")]
[JsonDerivedType(typeof(RecycleMessage), "recycle")]
[JsonDerivedType(typeof(ShedConnectionsMessage), "shed-connections")]
[JsonDerivedType(typeof(SubmitTasksMessage), "tasks")]
[JsonDerivedType(typeof(RunTaskMessage), "task")]
[JsonDerivedType(typeof(TaskResultMessage), "task-result")]
[JsonDerivedType(typeof(TaskWorkerIdleMessage), "idle")]
[JsonDerivedType(typeof(Askr.WebSockets.PusherEventMessage), "pusher-event")]
[JsonDerivedType(typeof(Askr.WebSockets.PresenceMessage), "pusher-presence")]
[JsonDerivedType(typeof(Askr.WebSockets.ChannelCountMessage), "pusher-channel-count")]
[JsonDerivedType(typeof(Askr.WebSockets.ConnectionCountMessage), "pusher-connection-count")]
[JsonDerivedType(typeof(Askr.WebSockets.OtherConnectionsMessage), "pusher-other-connections")]
[JsonDerivedType(typeof(Askr.WebSockets.ChannelQueryMessage), "pusher-channel-query")]
[JsonDerivedType(typeof(Askr.WebSockets.ChannelQueryAnswerMessage), "pusher-channel-answer")]
[JsonDerivedType(typeof(Askr.Background.EnsureBackgroundMessage), "ensure-background")]
public abstract class ControlMessage
{
    /// <summary>Largest frame body, in bytes (a batch of big task payloads fits; a corrupt length does not).</summary>
    public const int MaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>The sending worker's slot (set by <see cref="ControlClient.Send"/>).</summary>
    [JsonPropertyName("slot")] public int Slot { get; set; }
    /// <summary>The sending worker's pid (set by <see cref="ControlClient.Send"/>): the supervisor finds the worker by it.</summary>
    [JsonPropertyName("pid")] public int Pid { get; set; }

    /// <summary>The message as JSON (the body of a frame; also a Pusher event ring record).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, ControlJsonContext.Default.ControlMessage);

    /// <summary>A message from its JSON; throws <see cref="InvalidDataException"/> when it is not one.</summary>
    public static ControlMessage FromJson(byte[] json) => Parse(json);

    public byte[] ToFrame()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(this, ControlJsonContext.Default.ControlMessage);
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
            return JsonSerializer.Deserialize(body, ControlJsonContext.Default.ControlMessage) ?? throw new InvalidDataException("empty control message");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"control frame is not a JSON message: {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            // An abstract message: no "type", or one that no derived type has.
            throw new InvalidDataException($"control message without a type this runtime knows: {e.Message}", e);
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

/// <summary>Worker → supervisor, first on a new connection: who is on it.</summary>
public sealed class HelloMessage : ControlMessage
{
    /// <summary>The worker's kind by name, "http" or "task" (ASKR_WORKER_KIND, Worker.WorkerKind).</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "http";
}

/// <summary>Worker → supervisor: the worker script asked for its first request or task (the app booted).</summary>
public sealed class ReadyMessage : ControlMessage;

/// <summary>Worker → supervisor, once a second: how many requests (or tasks and ticks) PHP answered.</summary>
public sealed class StatsMessage : ControlMessage
{
    [JsonPropertyName("requests")] public long Requests { get; init; }
    /// <summary>An HTTP worker's requests since its last report, for GET /metrics; null in a task worker.</summary>
    [JsonPropertyName("http")] public Metrics.HttpStatsDelta? Http { get; init; }
}

/// <summary>Worker → supervisor: it reached its --max-requests; replace it.</summary>
public sealed class RecycleMessage : ControlMessage;

/// <summary>
/// Supervisor → HTTP worker, on an autoscale up: end this many keep-alive connections, each after
/// its next response (<c>Connection: close</c>, HTTP/1.1 only), so that their clients connect again
/// and the BPF program spreads them over the workers now active (Worker.ConnectionShedding).
/// </summary>
public sealed class ShedConnectionsMessage : ControlMessage
{
    [JsonPropertyName("count")] public int Count { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ControlMessage))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;

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

    public static async Task<ControlClient> ConnectAsync(string path, int slot, Worker.WorkerKind kind = Worker.WorkerKind.Http)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var client = new ControlClient(socket, slot);
        client.Send(new HelloMessage { Kind = Worker.WorkerKinds.Name(kind) });
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
                catch (Exception e) { Askr.Logging.LogWriter.Current.Error($"control message {message.GetType().Name}: {e.Message}"); }
            }
        }
        catch (Exception) { }
        _closed.TrySetResult();
    }

    public void Dispose() => _stream.Dispose();
}
