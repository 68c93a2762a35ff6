using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Askr.Logging;
using Askr.Tasks;
using Askr.Worker;

namespace Askr.Php;

/// <summary>
/// The one PHP interpreter of a worker process (Debian's libphp is NTS): a dedicated thread with
/// a 64 MB stack (PHP 8.2 has no stack guard) that runs the worker script again and again, and
/// the C# side of the natives, called by the shim through function pointers.
///
/// Rule of the seam (docs/architecture.md): the callbacks below never call into the Zend engine
/// and never let an exception escape; each catches everything and returns an error code.
/// </summary>
internal sealed unsafe partial class PhpThread
{
    /// <summary>The SAPI name: on OPcache's allowlist, and not "cli", so Laravel does not think it runs in a console.</summary>
    public const string SapiName = "cli-server";
    private const int PhpStackBytes = 64 * 1024 * 1024;
    /// <summary>EG(exit_status) after a fatal error or an uncaught exception (php_error_cb).</summary>
    private const int FatalExitStatus = 255;

    private static PhpThread? s_instance;

    private readonly ConcurrentQueue<PhpJob> _queue = new();
    // The PHP thread parks on this monitor when its queue is empty. Not a SemaphoreSlim: its
    // Wait spins (sched_yield) before it blocks, and on a loaded 2-core machine that spinning
    // took the CPU from Kestrel's threads, which produce the very request PHP waits for
    // (perf: sched_yield was the top symbol of a hello-world worker; docs/benchmarks.md).
    private readonly object _wake = new();
    /// <summary>1 while the PHP thread is (about to be) parked on <see cref="_wake"/>: producers pulse only then.</summary>
    private int _parked;
    private readonly EnvelopeArena _arena = new();
    private readonly object _currentLock = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LogWriter _log;
    private readonly string _scriptPath;
    private readonly string _documentRoot;
    private readonly string _extraIni;
    private readonly int _maxQueue;
    private readonly int _timeoutSeconds;
    private int _queued;
    private volatile bool _shutdown;
    private PhpJob? _current;
    private long _nextId;
    private long _served;
    private bool _tookInThisRun;
    private Timer? _watchdog;

    public PhpThread(string scriptPath, string documentRoot, int maxQueue, int timeoutSeconds, IEnumerable<string> extraIni, LogWriter log)
    {
        _scriptPath = Path.GetFullPath(scriptPath);
        _documentRoot = Path.GetFullPath(documentRoot);
        _maxQueue = maxQueue;
        _timeoutSeconds = timeoutSeconds;
        _extraIni = string.Join('\n', extraIni);
        _log = log;
    }

    /// <summary>Completes when the script first asks for a request: the app has booted.</summary>
    public Task Ready => _ready.Task;
    /// <summary>Completes with the process exit code the worker should use once PHP has stopped.</summary>
    public Task<int> Exited => _exited.Task;
    /// <summary>Requests PHP has answered.</summary>
    public long Served => Interlocked.Read(ref _served);
    /// <summary>Requests waiting for the PHP thread.</summary>
    public int Queued => Volatile.Read(ref _queued);
    /// <summary>Raised on the PHP thread after each answered request.</summary>
    public event Action<long>? RequestServed;

    /// <summary>Information the HTTP layer adds to each envelope (HTTP workers).</summary>
    public Func<PhpRequest, EnvelopeArena, bool>? FillEnvelope { get; init; }

    /// <summary>
    /// What this worker's script takes: requests (take_request(), <see cref="PhpRequest"/>) in an
    /// HTTP worker, tasks (take_task(), Askr.Tasks.TaskJob) in a task worker. Each kind of worker
    /// refuses the other kind's take with a clear PHP error.
    /// </summary>
    public WorkerKind Kind { get; init; } = WorkerKind.Http;

    /// <summary>Where dispatch_tasks() sends tasks (Askr.Tasks); null when this worker has no control socket.</summary>
    public TaskDispatcher? Tasks { get; init; }

    /// <summary>Where broadcast() publishes Pusher events (docs/websockets.md); null without --pusher-app.</summary>
    public WebSockets.Pusher.PusherServer? Pusher { get; init; }
    /// <summary>The node's background-worker snapshots (get_vars(), ensure_background_worker()); null when askr serve declares none.</summary>
    public Background.VarsStore? Vars { get; init; }

    /// <summary>This worker's end of the supervisor's control socket (ensure_background_worker() asks it to start workers); null when run alone.</summary>
    public Control.ControlClient? Control { get; init; }

    /// <summary>In a background worker: called on the PHP thread when its script ended, with the exit status and PHP's last error (message, file, line).</summary>
    public Action<int, string, string, long>? BackgroundRunEnded { get; init; }

    /// <summary>The PHP thread of this process (one interpreter per process), for the natives' callbacks.</summary>
    internal static PhpThread Current => s_instance!;

    public void Start()
    {
        if (Interlocked.CompareExchange(ref s_instance, this, null) != null)
            throw new InvalidOperationException("A process runs one PHP interpreter (NTS): a PhpThread already exists.");
        var thread = new Thread(Main, PhpStackBytes) { Name = "php", IsBackground = true };
        thread.Start();
        if (_timeoutSeconds > 0)
            _watchdog = new Timer(_ => CheckTimeout(), null, 250, 250);
    }

    /// <summary>Queues a request (or, in a task worker, a task) for PHP; false when the queue is full (the caller answers 503).</summary>
    public bool TryEnqueue(PhpJob request)
    {
        if (Interlocked.Increment(ref _queued) > _maxQueue || _shutdown)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }
        _queue.Enqueue(request);
        Wake();
        return true;
    }

    /// <summary>Wakes the PHP thread if it is parked. The enqueue before it and the PHP thread's Interlocked.Exchange of _parked are both full fences, so either it sees the new job or we see it parked.</summary>
    private void Wake()
    {
        if (Volatile.Read(ref _parked) == 0) return;
        lock (_wake) Monitor.Pulse(_wake);
    }

    /// <summary>Parks the PHP thread until a job is queued, shutdown is asked, or <paramref name="milliseconds"/> pass (-1: no limit). False on timeout.</summary>
    private bool Park(int milliseconds)
    {
        lock (_wake)
        {
            Interlocked.Exchange(ref _parked, 1);
            try
            {
                if (!_queue.IsEmpty || _shutdown) return true;
                return Monitor.Wait(_wake, milliseconds);
            }
            finally
            {
                Volatile.Write(ref _parked, 0);
            }
        }
    }

    /// <summary>Lets PHP finish what is queued, then makes take_request() return null.</summary>
    public void RequestShutdown()
    {
        _shutdown = true;
        Wake();
    }

    private void Main()
    {
        int exitCode;
        try
        {
            exitCode = RunInterpreter();
        }
        catch (Exception e)
        {
            _log.Error($"PHP thread failed: {e}");
            exitCode = 70;
        }
        _watchdog?.Dispose();
        AnswerQueued(503, "Service Unavailable: the worker is stopping");
        _ready.TrySetResult();
        _exited.TrySetResult(exitCode);
    }

    private int RunInterpreter()
    {
        var differences = ShimContract.Differences();
        if (differences.Count > 0)
        {
            _log.Error($"libaskrshim was built from another askr_shim.h or constants.json than this runtime ({differences.Count} differences; first: {differences[0]}): rebuild with scripts/build.sh");
            return 78;
        }
        var callbacks = new ShimInterop.Callbacks
        {
            Take = &OnTake,
            Send = &OnSend,
            Chunk = &OnChunk,
            File = &OnFile,
            Output = &OnOutput,
            Log = &OnLog,
            TableOpen = &OnTableOpen,
            TableGet = &OnTableGet,
            TableSet = &OnTableSet,
            TableDel = &OnTableDel,
            TableExists = &OnTableExists,
            TableIncr = &OnTableIncr,
            TableCount = &OnTableCount,
            TableScan = &OnTableScan,
            TableNames = &OnTableNames,
            AwaitSent = &OnAwaitSent,
        };
        TaskNatives.Register(&callbacks);
        Askr.ResponseCache.CacheNatives.Register(&callbacks);
        WebSockets.BroadcastNatives.Register(&callbacks);
        Background.BackgroundNatives.Register(&callbacks);
        if (ShimInterop.NullCallbacks(callbacks) is { Count: > 0 } missing)
        {
            _log.Error($"the runtime registers no callback for {string.Join(", ", missing)} (ShimInterop.Callbacks): a native calling it would crash the worker");
            return 70;
        }
        var rc = ShimInterop.Startup(&callbacks, SapiName, _extraIni);
        if (rc != 0)
        {
            _log.Error($"PHP failed to start (askr_php_startup returned {rc}); run `askr doctor`");
            return 78;
        }
        Directory.SetCurrentDirectory(_documentRoot);
        try
        {
            while (true)
            {
                _tookInThisRun = false;
                var result = ShimInterop.Run(_scriptPath, out var status);
                // An uncaught exception ends the script without a bailout, with PHP's fatal exit status.
                if (result == ShimInterop.RunOk && status == FatalExitStatus) result = ShimInterop.RunBailout;
                var request = EndRun(result, status);
                if (Kind == WorkerKind.Background) return EndBackgroundRun(result, status);
                if (_shutdown && _queue.IsEmpty) return 0;
                if (result == ShimInterop.RunStartupFailed)
                {
                    _log.Error($"PHP request startup failed for {_scriptPath}");
                    return 70;
                }
                if (result == ShimInterop.RunOk && status != 0)
                {
                    _log.Error($"worker script exited with status {status}{(request ? " while answering a request" : "")}; the worker stops");
                    return status;
                }
                if (!_tookInThisRun)
                {
                    // Running it again would fail the same way, in a tight loop: let the supervisor
                    // restart the process with backoff instead.
                    _log.Error(result == ShimInterop.RunBailout
                        ? "worker script failed with a fatal error before taking a request (boot failure); the worker stops"
                        : "worker script ended before taking a request (boot failure?); the worker stops");
                    return 70;
                }
                // A fatal error, an exception or exit() in a request: run the script again.
            }
        }
        finally
        {
            ShimInterop.Shutdown();
        }
    }

    /// <summary>A background worker's script runs once: its end is the process's (the supervisor restarts it).</summary>
    private int EndBackgroundRun(int result, int status)
    {
        var code = result == ShimInterop.RunOk ? status : status != 0 ? status : FatalExitStatus;
        ShimInterop.LastError(out var message, out var file, out var line);
        BackgroundRunEnded?.Invoke(code, Encoding.UTF8.GetString(message.Ptr, (int)message.Len), Encoding.UTF8.GetString(file.Ptr, (int)file.Len), line);
        return code;
    }

    /// <summary>Answers what the finished run left open. Returns true if a request was in flight.</summary>
    private bool EndRun(int result, int status)
    {
        PhpJob? job;
        lock (_currentLock)
        {
            job = _current;
            _current = null;
        }
        if (job is null) return false;
        if (!job.Answered)
        {
            var why = result == ShimInterop.RunBailout ? "a PHP fatal error" : $"the worker script ending (exit status {status})";
            job.TryFail(500, job is PhpRequest ? "Internal Server Error" : $"the task worker's script failed: {why}");
            _log.Error($"{job.Description}: {(job is PhpRequest ? "answered 500" : "failed")} after {why}");
            return true;
        }
        if (job is PhpRequest { Stream: { } stream })
        {
            // A streamed response that PHP could not finish: the client must see it fail.
            stream.Writer.TryComplete(new IOException("the PHP script ended in the middle of a streamed response"));
            return true;
        }
        return false;
    }

    private void AnswerQueued(int status, string message)
    {
        while (_queue.TryDequeue(out var r))
        {
            Interlocked.Decrement(ref _queued);
            r.TryFail(status, message);
        }
    }

    private void CheckTimeout()
    {
        try
        {
            PhpJob? r;
            lock (_currentLock) r = _current;
            if (r is null || r.TakenAt == 0) return;
            var elapsed = Stopwatch.GetElapsedTime(r.TakenAt).TotalSeconds;
            if (elapsed < _timeoutSeconds) return;
            if (!r.TimedOut)
            {
                bool answered;
                lock (_currentLock)
                {
                    if (!ReferenceEquals(_current, r)) return;
                    r.TimedOut = true;
                    answered = !r.TryFail(504, $"Gateway Timeout: the {r.Noun} ran longer than {_timeoutSeconds} s");
                    if (answered && r is PhpRequest { Stream: { } stream })
                        stream.Writer.TryComplete(new TimeoutException("request timeout"));
                    ShimInterop.Interrupt(_timeoutSeconds);
                }
                // Answered already: what runs after the response (deferred callbacks, terminate) is cut.
                _log.Error(answered
                    ? $"{r.Description}: ran past --request-timeout ({_timeoutSeconds} s) after its response (deferred callbacks?); interrupted PHP"
                    : $"{r.Description}: ran past --request-timeout ({_timeoutSeconds} s); answered 504 and interrupted PHP");
            }
            else if (elapsed > _timeoutSeconds + 5)
            {
                // Blocked in a system call, where PHP's interrupt cannot reach: replace the process.
                _log.Error($"PHP did not stop within 5 s of the interrupt (blocked in a system call?); the worker exits to be replaced");
                _shutdown = true;
                AnswerQueued(503, "Service Unavailable: the worker is being replaced");
                _watchdog?.Dispose();
                _exited.TrySetResult(75);
            }
        }
        catch (Exception e)
        {
            _log.Error($"watchdog: {e.Message}");
        }
    }

    // ---------- callbacks from the shim (PHP thread) ----------

    [UnmanagedCallersOnly]
    private static int OnTake(long timeoutMs, ShimInterop.Envelope* envelope)
    {
        try { return s_instance!.Take(timeoutMs, envelope); }
        catch (Exception e) { return Fail(e); }
    }

    private int Take(long timeoutMs, ShimInterop.Envelope* envelope)
    {
        if (Kind != WorkerKind.Http) return ShimInterop.TakeWrongKind;
        while (true)
        {
            var rc = Next(timeoutMs, out var job);
            if (rc != ShimInterop.TakeRequest) return rc;
            var request = (PhpRequest)job!;
            _arena.Reset();
            if (FillEnvelope is null || !FillEnvelope(request, _arena))
            {
                request.TryFail(400, "Bad Request");
                continue;
            }
            _arena.Publish(request, envelope);
            Begin(request);
            return ShimInterop.TakeRequest;
        }
    }

    /// <summary>
    /// The common part of take_request() and take_task(): answers what the script left
    /// unanswered, signals readiness, and waits up to <paramref name="timeoutMs"/> (-1: no limit)
    /// for the next job that is still wanted. The caller hands it to PHP, then calls <see cref="Begin"/>.
    /// </summary>
    internal int Next(long timeoutMs, out PhpJob? job)
    {
        PhpJob? previous;
        lock (_currentLock)
        {
            previous = _current;
            _current = null;
        }
        if (previous is not null && !previous.Answered)
        {
            previous.TryFail(500, previous is PhpRequest ? "Internal Server Error" : $"the worker script took the next {previous.Noun} without answering this one");
            _log.Error($"{previous.Description}: the worker script took the next {previous.Noun} without answering this one; {(previous is PhpRequest ? "answered 500" : "failed it")}");
        }
        _ready.TrySetResult();
        while (true)
        {
            if (_queue.TryDequeue(out job))
            {
                Interlocked.Decrement(ref _queued);
                if (job.Abandoned)
                {
                    job.TryFail(499, "Client Closed Request");
                    continue;
                }
                job.Id = ++_nextId;
                return ShimInterop.TakeRequest;
            }
            if (_shutdown) return ShimInterop.TakeShutdown;
            var wait = timeoutMs < 0 ? Timeout.Infinite : (int)Math.Min(timeoutMs, int.MaxValue);
            if (!Park(wait)) return ShimInterop.TakeTimeout;
        }
    }

    /// <summary>PHP has <paramref name="job"/> in hand: the request timeout runs from now.</summary>
    internal void Begin(PhpJob job)
    {
        lock (_currentLock)
        {
            job.TakenAt = Stopwatch.GetTimestamp();
            _current = job;
        }
        _tookInThisRun = true;
    }

    /// <summary>The job PHP has in hand, if it is a <typeparamref name="T"/>.</summary>
    internal T? CurrentJob<T>() where T : PhpJob => _current as T;

    /// <summary>Counts an answer of PHP's (for --max-requests and the supervisor's stats).</summary>
    internal void CountServed()
    {
        var n = Interlocked.Increment(ref _served);
        RequestServed?.Invoke(n);
    }

    [UnmanagedCallersOnly]
    private static int OnSend(int status, ShimInterop.Str* headers, long headerCount, byte* body, long bodyLength, int flags)
    {
        try { return s_instance!.Send(status, headers, headerCount, body, bodyLength, flags); }
        catch (Exception e) { return Fail(e); }
    }

    private int Send(int status, ShimInterop.Str* headers, long headerCount, byte* body, long bodyLength, int flags)
    {
        var request = _current as PhpRequest;
        if (request is null) return ShimInterop.SendNoRequest;
        if (request.Answered) return request.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        var buffer = ArrayPool<byte>.Shared.Rent((int)bodyLength);
        new ReadOnlySpan<byte>(body, (int)bodyLength).CopyTo(buffer);
        Channel<Chunk>? stream = null;
        if ((flags & ShimInterop.SendFlagStream) != 0)
        {
            stream = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });
            request.Stream = stream;
        }
        var head = new ResponseHead
        {
            Status = status,
            Headers = ReadHeaders(headers, headerCount),
            Body = buffer,
            BodyLength = (int)bodyLength,
            Stream = stream,
            Memory = ShimInterop.MemoryUsage(),
        };
        if (!request.TryAnswer(head))
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return request.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        }
        CountServed();
        return ShimInterop.SendOk;
    }

    [UnmanagedCallersOnly]
    private static int OnChunk(byte* data, long length, int final)
    {
        try { return s_instance!.WriteChunk(data, length, final != 0); }
        catch (Exception e) { return Fail(e); }
    }

    private int WriteChunk(byte* data, long length, bool final)
    {
        var request = _current as PhpRequest;
        var stream = request?.Stream;
        if (stream is null) return ShimInterop.SendNoRequest;
        if (length > 0)
        {
            var chunk = Chunk.Copy(new ReadOnlySpan<byte>(data, (int)length));
            // Back-pressure: PHP waits while the client is slower than the app.
            while (!stream.Writer.TryWrite(chunk))
            {
                if (!stream.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult())
                {
                    ArrayPool<byte>.Shared.Return(chunk.Buffer);
                    return ShimInterop.SendClientGone;
                }
            }
        }
        if (final)
        {
            stream.Writer.TryComplete();
            request!.Stream = null;
        }
        return ShimInterop.SendOk;
    }

    [UnmanagedCallersOnly]
    private static int OnFile(int status, ShimInterop.Str* headers, long headerCount, byte* path, long pathLength, long offset, long length)
    {
        try { return s_instance!.SendFile(status, headers, headerCount, Encoding.UTF8.GetString(path, (int)pathLength), offset, length); }
        catch (Exception e) { return Fail(e); }
    }

    private int SendFile(int status, ShimInterop.Str* headers, long headerCount, string path, long offset, long length)
    {
        var request = _current as PhpRequest;
        if (request is null) return ShimInterop.SendNoRequest;
        if (request.Answered) return request.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        // The file is opened here, before send_file() returns, so the app may delete it at once
        // (Symfony's deleteFileAfterSend()): an open file stays readable on Linux.
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ShimInterop.SendFileError;
        }
        var size = stream.Length;
        if (length < 0) length = size - offset;
        if (offset > size || offset + length > size)
        {
            stream.Dispose();
            return ShimInterop.SendFileError;
        }
        var head = new ResponseHead
        {
            Status = status,
            Headers = ReadHeaders(headers, headerCount),
            File = stream,
            FileOffset = offset,
            FileLength = length,
            Memory = ShimInterop.MemoryUsage(),
        };
        if (!request.TryAnswer(head))
        {
            stream.Dispose();
            return request.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        }
        CountServed();
        return ShimInterop.SendOk;
    }

    [UnmanagedCallersOnly]
    private static void OnOutput(byte* data, long length)
    {
        try { s_instance!._log.Output(new ReadOnlySpan<byte>(data, (int)length)); }
        catch { /* nothing may escape into C */ }
    }

    [UnmanagedCallersOnly]
    private static void OnLog(int level, byte* message, long length)
    {
        try
        {
            var text = Encoding.UTF8.GetString(message, (int)length);
            var mapped = level <= 3 ? LogLevel.Error : level == 4 ? LogLevel.Warning : LogLevel.Info;
            // PHP reports errors through log_message with the syslog level of the log, not of the
            // error: read the severity from PHP's own prefix.
            if (text.Contains("PHP Fatal error") || text.Contains("PHP Parse error")) mapped = LogLevel.Error;
            else if (text.Contains("PHP Warning")) mapped = LogLevel.Warning;
            s_instance!._log.Log(mapped, text);
        }
        catch { /* nothing may escape into C */ }
    }

    internal static int Fail(Exception e)
    {
        try { s_instance?._log.Error($"runtime callback failed: {e}"); } catch { }
        return ShimInterop.SendFailed;
    }

    private static List<KeyValuePair<string, string>> ReadHeaders(ShimInterop.Str* pairs, long count)
    {
        var list = new List<KeyValuePair<string, string>>((int)count);
        for (long i = 0; i < count; i++)
        {
            var name = pairs[2 * i];
            var value = pairs[2 * i + 1];
            list.Add(new(Latin1(name), Encoding.UTF8.GetString(value.Ptr, (int)value.Len)));
        }
        return list;
    }

    private static string Latin1(ShimInterop.Str s) => Encoding.Latin1.GetString(s.Ptr, (int)s.Len);
}
