using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;
using Askr.Tasks;
using Askr.Worker;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;

namespace Askr.Benchmarks;

/// <summary>
/// Building the take_request() envelope of a typical browser request (10 headers, the CGI
/// variables, one HTTP_* per header) into the PHP thread's arena and publishing it to the shim's
/// struct, as the PHP thread does for every request; and a task's round trip through the control
/// frames (RunTaskMessage out, TaskResultMessage back) as the task path does for every task.
/// </summary>
[MemoryDiagnoser]
public unsafe class EnvelopeBenchmarks
{
    private readonly EnvelopeArena _arena = new();
    private PhpRequestHandler _handler = null!;
    private PhpRequest _request = null!;
    private ShimInterop.Envelope _envelope;
    private byte[] _payload = [];

    [GlobalSetup]
    public void Setup()
    {
        var root = Path.GetTempPath();
        var options = new ServeOptions { Root = root, WorkerScript = Path.Combine(root, "worker.php") };
        var log = new LogWriter(LogFormat.Text, LogLevel.Error);
        var php = new PhpThread(options.WorkerScript, root, 128, 60, [], log);
        _handler = new PhpRequestHandler(php, options, log);
        var context = new DefaultHttpContext();
        var r = context.Request;
        r.Method = "GET";
        r.Scheme = "http";
        r.Host = new HostString("example.test");
        r.Path = "/users/1234/orders";
        r.QueryString = new QueryString("?page=2&sort=date");
        r.Protocol = "HTTP/1.1";
        r.Headers.Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        r.Headers.AcceptEncoding = "gzip, deflate, br";
        r.Headers.AcceptLanguage = "en-GB,en;q=0.9";
        r.Headers.CacheControl = "no-cache";
        r.Headers.Connection = "keep-alive";
        r.Headers.Cookie = "laravel_session=eyJpdiI6IjEyMzQ1Njc4OTAiLCJ2YWx1ZSI6ImFiY2RlZiJ9; XSRF-TOKEN=abcdef0123456789";
        r.Headers.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        r.Headers.Referer = "http://example.test/users/1234";
        r.Headers["X-Requested-With"] = "XMLHttpRequest";
        r.Headers["Upgrade-Insecure-Requests"] = "1";
        context.Connection.RemoteIpAddress = System.Net.IPAddress.Loopback;
        context.Connection.LocalIpAddress = System.Net.IPAddress.Loopback;
        context.Connection.LocalPort = 8000;
        _request = new PhpRequest(context, null, 0);
        _payload = new byte[400];
        Random.Shared.NextBytes(_payload);
    }

    [GlobalCleanup]
    public void Cleanup() => _arena.Dispose();

    [Benchmark]
    public long BuildEnvelope()
    {
        _arena.Reset();
        _handler.FillEnvelope(_request, _arena);
        fixed (ShimInterop.Envelope* envelope = &_envelope) _arena.Publish(_request, envelope);
        return _envelope.ServerCount;
    }

    [Benchmark]
    public long TaskFramesRoundTrip()
    {
        var task = new RunTaskMessage { Id = 42, Kind = TaskKind.Task, Payload = _payload }.ToFrame();
        var received = (RunTaskMessage)ControlMessage.Read(new MemoryStream(task))!;
        var result = new TaskResultMessage { Id = received.Id, Status = TaskOutcomeStatus.Ok, Data = received.Payload }.ToFrame();
        return ((TaskResultMessage)ControlMessage.Read(new MemoryStream(result))!).Id;
    }
}
