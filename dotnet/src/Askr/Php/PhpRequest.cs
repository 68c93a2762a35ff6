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
    /// <summary>True for an answer the runtime gave itself (<see cref="Error"/>), not PHP.</summary>
    public bool ByRuntime { get; init; }
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
            ByRuntime = true,
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

/// <summary>
/// What a worker's PHP thread is asked to do, from the queue to its answer: an HTTP request
/// (<see cref="PhpRequest"/>) in an HTTP worker, a task or tick (Askr.Tasks.TaskJob) in a task
/// worker. Answered exactly once, by PHP or by the runtime (<see cref="TryFail"/>).
/// </summary>
internal abstract class PhpJob
{
    /// <summary>For logs: "GET /path", "task 12", "tick".</summary>
    public abstract string Description { get; }
    /// <summary>For messages: "request", "task", "tick".</summary>
    public abstract string Noun { get; }
    /// <summary>True when whoever asked is gone before PHP took the job (it is then not run).</summary>
    public virtual bool Abandoned => false;
    public abstract bool Answered { get; }
    /// <summary>The runtime answers for PHP (500, 503, 504...): a request gets <paramref name="status"/> and <paramref name="message"/>, a task fails with the message. False if it was answered already.</summary>
    public abstract bool TryFail(int status, string message);

    /// <summary>Set by the PHP thread when it takes the job.</summary>
    public long Id { get; set; }
    /// <summary>Stopwatch timestamp of the moment PHP took the job; 0 while queued.</summary>
    public long TakenAt { get; set; }
    /// <summary>Set when the runtime answered for PHP because the job ran too long.</summary>
    public volatile bool TimedOut;

    public double ElapsedMilliseconds => TakenAt == 0 ? 0 : Stopwatch.GetElapsedTime(TakenAt).TotalMilliseconds;
}

/// <summary>
/// One request on its way through an HTTP worker: queued by Kestrel's handler, taken by the PHP
/// thread, answered exactly once (by PHP, or by the runtime with 500/503/504).
/// </summary>
internal sealed class PhpRequest : PhpJob
{
    private readonly TaskCompletionSource<ResponseHead> _head = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _answered;

    public PhpRequest(HttpContext context, byte[]? body, int bodyLength)
    {
        Context = context;
        Body = body;
        BodyLength = bodyLength;
        // Kept here because Kestrel recycles the context once the response is written: the PHP
        // thread and the timeout watchdog log the request after answering it, when reading
        // Context.Request would throw ObjectDisposedException (or see another request).
        _method = context.Request.Method;
        _path = context.Request.Path.Value;
    }

    private readonly string _method;
    private readonly string? _path;

    /// <summary>The HTTP exchange. Valid only until the request is answered (Kestrel then recycles it).</summary>
    public HttpContext Context { get; }
    /// <summary>"METHOD /path", readable after the answer too.</summary>
    public override string Description => $"{_method} {Logging.LogWriter.EscapeControl(_path ?? "")}";
    public override string Noun => "request";
    /// <summary>True when the client is gone before PHP took the request.</summary>
    public override bool Abandoned => Context.RequestAborted.IsCancellationRequested;
    /// <summary>The request body, in a pooled buffer returned by the handler after the response.</summary>
    public byte[]? Body { get; }
    public int BodyLength { get; }
    /// <summary>The writer of a streamed response, while PHP is still producing it.</summary>
    public Channel<Chunk>? Stream { get; set; }

    public Task<ResponseHead> Head => _head.Task;

    private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once Kestrel has ended the response on the wire (its OnCompleted: the body is
    /// flushed and the connection is free for the client's next request), or the exchange was
    /// aborted. Deferred callbacks (defer()) wait for it.
    /// </summary>
    public Task Sent => _sent.Task;

    /// <summary>Called from the response's OnCompleted (PhpRequestHandler).</summary>
    public void MarkSent() => _sent.TrySetResult();
    public override bool Answered => Volatile.Read(ref _answered) != 0;

    /// <summary>Answers the request unless it already was; false if someone answered first.</summary>
    public bool TryAnswer(ResponseHead head)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0) return false;
        _head.SetResult(head);
        return true;
    }

    public override bool TryFail(int status, string message) => TryAnswer(ResponseHead.Error(status, message));
}
