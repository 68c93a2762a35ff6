using System.Diagnostics;
using System.Net;
using Askr.Tests.Support;

namespace Askr.Tests.Php;

public sealed class FaultServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;
    public async Task InitializeAsync() =>
        Server = await AskrServer.StartAsync("router.php", workers: 1, "--request-timeout", "2", "--max-body-size", "1024", "--max-queue", "1");
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Each fault answers its own request with an error; the worker goes on or is replaced; other requests are unaffected.</summary>
public sealed class FaultTests : IClassFixture<FaultServer>
{
    private readonly AskrServer _server;

    public FaultTests(FaultServer fixture) => _server = fixture.Server;

    private async Task AssertServesAgain()
    {
        var ok = await AskrServer.EventuallyAsync(async () => (await _server.Client.GetAsync("/")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        Assert.True(ok, "the server did not answer 200 after the fault:\n" + string.Join('\n', _server.Lines.TakeLast(20)));
    }

    [Theory]
    [InlineData("/fatal", "Call to undefined function")]
    [InlineData("/exception", "uncaught on purpose")]
    [InlineData("/oom", "Allowed memory size")]
    public async Task A_php_fatal_error_gives_that_request_500_and_the_worker_goes_on(string path, string logged)
    {
        var response = await _server.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.True(await _server.WaitForLineAsync(l => l.Contains(logged), TimeSpan.FromSeconds(5)), string.Join('\n', _server.Lines.TakeLast(20)));
        await AssertServesAgain();
    }

    [Fact]
    public async Task Exit_in_a_request_gives_500_and_the_worker_script_runs_again_in_the_same_process()
    {
        var before = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        var response = await _server.Client.GetAsync("/exit");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        await AssertServesAgain();
        var after = await _server.GetJsonAsync("/");
        Assert.Equal(before, after.GetProperty("pid").GetInt32());
    }

    [Theory]
    [InlineData("/fatal")]
    [InlineData("/exception")]
    [InlineData("/exit")]
    public async Task Repeated_faults_rerun_the_script_in_the_same_process_without_leaking_open_files(string path)
    {
        var pid = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        int OpenFiles() => Directory.GetFiles($"/proc/{pid}/fd").Length;
        var before = OpenFiles();
        // Connection: close, so each fault races Kestrel's end of the exchange with the PHP
        // thread's log line about it (the context it read was already recycled).
        using var client = new HttpClient { BaseAddress = _server.Client.BaseAddress };
        for (var i = 0; i < 40; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.ConnectionClose = true;
            Assert.Equal(HttpStatusCode.InternalServerError, (await client.SendAsync(request)).StatusCode);
        }
        await AssertServesAgain();
        Assert.Equal(pid, (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32());
        // Each re-run used to leak three descriptors (dups of fds 0-2): 120 here.
        var settled = await AskrServer.EventuallyAsync(() => Task.FromResult(OpenFiles() <= before + 5), TimeSpan.FromSeconds(10));
        Assert.True(settled, $"worker {pid}: {before} open files before 40 faults, {OpenFiles()} after");
        Assert.DoesNotContain(_server.Lines, l => l.Contains("PHP thread failed") || l.Contains("ObjectDisposedException"));
    }

    [Fact]
    public async Task Exit_with_a_failure_status_gives_500_and_the_supervisor_replaces_the_worker()
    {
        var before = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        var response = await _server.Client.GetAsync("/exit-status");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        await AssertServesAgain();
        var after = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        Assert.NotEqual(before, after);
    }

    [Fact]
    public async Task A_request_that_takes_the_next_one_without_answering_gets_500()
    {
        var response = await _server.Client.GetAsync("/no-answer");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        await AssertServesAgain();
    }

    [Fact]
    public async Task An_infinite_loop_past_the_request_timeout_gets_504_and_the_worker_goes_on()
    {
        var clock = Stopwatch.StartNew();
        var response = await _server.Client.GetAsync("/loop");
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.9, 10);
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("Maximum execution time of 2 seconds exceeded"), TimeSpan.FromSeconds(10)),
            string.Join('\n', _server.Lines.TakeLast(20)));
        await AssertServesAgain();
    }

    [Fact]
    public async Task A_body_larger_than_max_body_size_gets_413()
    {
        var response = await _server.Client.PostAsync("/echo", new ByteArrayContent(new byte[4096]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        // Without Content-Length (chunked), the limit holds while reading.
        var chunked = new StreamContent(new MemoryStream(new byte[4096]));
        var request = new HttpRequestMessage(HttpMethod.Post, "/echo") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var second = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, second.StatusCode);
        await AssertServesAgain();
    }

    [Fact]
    public async Task A_full_worker_queue_gets_503_and_the_queued_requests_still_succeed()
    {
        var started = Path.Combine(Path.GetTempPath(), $"askr-started-{Guid.NewGuid():N}");
        try
        {
            var slow = _server.Client.GetAsync($"/sleep?ms=1500&started={Uri.EscapeDataString(started)}");
            Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(File.Exists(started)), TimeSpan.FromSeconds(10)));
            // PHP is busy: one request fits in the queue (--max-queue 1), the rest are refused.
            var more = Enumerable.Range(0, 4).Select(_ => _server.Client.GetAsync("/")).ToArray();
            var statuses = (await Task.WhenAll(more)).Select(r => r.StatusCode).ToList();
            Assert.Equal(HttpStatusCode.OK, (await slow).StatusCode);
            Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.OK));
            Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.ServiceUnavailable));
        }
        finally
        {
            File.Delete(started);
        }
    }

    [Fact]
    public async Task A_malformed_request_gets_400_and_the_server_keeps_serving()
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", _server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n"u8.ToArray());
        var buffer = new byte[1024];
        var n = await stream.ReadAsync(buffer);
        Assert.StartsWith("HTTP/1.1 400", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        await AssertServesAgain();
    }
}
