using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace Askr.Php;

/// <summary>
/// What PHP (or the runtime, for its own error answers) decided to answer: status, headers and
/// either a buffered body, a stream of chunks, or a file range.
/// </summary>
internal sealed class ResponseHead
{
    public required int Status { get; init; }
    public required List<KeyValuePair<string, string>> Headers { get; init; }
    /// <summary>Pooled buffer (ArrayPool&lt;byte&gt;.Shared) or null; the writer returns it.</summary>
    public byte[]? Body { get; init; }
    public int BodyLength { get; init; }
    /// <summary>Set for a streamed response: further chunks arrive here.</summary>
    public Channel<Chunk>? Stream { get; init; }
    /// <summary>An open file to send from (send_file()); the writer disposes it.</summary>
    public FileStream? File { get; init; }
    public long FileOffset { get; init; }
    public long FileLength { get; init; }
    /// <summary>PHP's memory_get_usage() when it answered, in bytes.</summary>
    public long Memory { get; init; }

    /// <summary>An answer the runtime gives itself (500, 503, 504...): plain text, in a pooled buffer like PHP's.</summary>
    public static ResponseHead Error(int status, string message)
    {
        var text = message + "\n";
        var buffer = ArrayPool<byte>.Shared.Rent(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
        var length = System.Text.Encoding.UTF8.GetBytes(text, buffer);
        return new ResponseHead
        {
            Status = status,
            Headers = [new("Content-Type", "text/plain; charset=utf-8")],
            Body = buffer,
            BodyLength = length,
        };
    }
}

/// <summary>A chunk of a streamed body, in a pooled buffer that the consumer returns.</summary>
internal readonly record struct Chunk(byte[] Buffer, int Length)
{
    public static Chunk Copy(ReadOnlySpan<byte> data)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(buffer);
        return new Chunk(buffer, data.Length);
    }
}

/// <summary>What a worker's PHP thread is asked to do (task workers get tasks and ticks).</summary>
internal enum JobKind { Http, Task, Tick }

/// <summary>
/// One request on its way through a worker: queued by Kestrel's handler, taken by the PHP
/// thread, answered exactly once (by PHP, or by the runtime with 500/503/504).
/// </summary>
internal sealed class PhpRequest
{
    private readonly TaskCompletionSource<ResponseHead> _head = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _answered;

    public PhpRequest(HttpContext context, byte[]? body, int bodyLength)
    {
        Context = context;
        Body = body;
        BodyLength = bodyLength;
        Kind = JobKind.Http;
    }

    /// <summary>A task or tick for a task worker; <paramref name="body"/> is the serialized task (not pooled).</summary>
    public PhpRequest(JobKind kind, byte[]? body)
    {
        Kind = kind;
        Body = body;
        BodyLength = body?.Length ?? 0;
    }

    public JobKind Kind { get; }
    /// <summary>The HTTP exchange; null for tasks and ticks.</summary>
    public HttpContext? Context { get; }
    /// <summary>For logs: "GET /path", "task", "tick".</summary>
    public string Description => Context is { } c ? $"{c.Request.Method} {c.Request.Path}" : Kind == JobKind.Task ? "task" : "tick";
    /// <summary>True when the client is gone before PHP took the request.</summary>
    public bool Abandoned => Context?.RequestAborted.IsCancellationRequested ?? false;
    /// <summary>The request body, in a pooled buffer returned by the handler after the response.</summary>
    public byte[]? Body { get; }
    public int BodyLength { get; }
    public long Id { get; set; }
    /// <summary>Stopwatch timestamp of the moment PHP took the request; 0 while queued.</summary>
    public long TakenAt { get; set; }
    /// <summary>Set when the runtime answered for PHP because the request ran too long.</summary>
    public volatile bool TimedOut;
    /// <summary>The writer of a streamed response, while PHP is still producing it.</summary>
    public Channel<Chunk>? Stream { get; set; }

    public Task<ResponseHead> Head => _head.Task;
    public bool Answered => Volatile.Read(ref _answered) != 0;

    /// <summary>Answers the request unless it already was; false if someone answered first.</summary>
    public bool TryAnswer(ResponseHead head)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0) return false;
        if (OnAnswer is { } answer)
        {
            // Tasks: the result leaves from the answering (PHP) thread, without a thread-pool hop.
            answer(head);
            return true;
        }
        _head.SetResult(head);
        return true;
    }

    /// <summary>When set, receives the answer synchronously instead of <see cref="Head"/>.</summary>
    public Action<ResponseHead>? OnAnswer { get; init; }

    public double ElapsedMilliseconds => TakenAt == 0 ? 0 : Stopwatch.GetElapsedTime(TakenAt).TotalMilliseconds;
}
