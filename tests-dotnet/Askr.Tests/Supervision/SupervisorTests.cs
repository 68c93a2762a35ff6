using System.Net;
using System.Diagnostics;
using Askr.Tests.Support;

namespace Askr.Tests.Supervision;

/// <summary>Recycling, reloads, crashes and shutdown, each on its own askr serve.</summary>
public sealed class SupervisorTests
{
    /// <summary>Requests from <paramref name="clients"/> parallel loops until stopped; counts what failed.</summary>
    private sealed class Load
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _loops = [];
        public int Ok;
        public int Failed;
        public readonly System.Collections.Concurrent.ConcurrentBag<string> Failures = [];

        public Load(AskrServer server, int clients)
        {
            for (var i = 0; i < clients; i++)
            {
                _loops.Add(Task.Run(async () =>
                {
                    using var client = new HttpClient { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
                    while (!_stop.IsCancellationRequested)
                    {
                        try
                        {
                            var r = await client.GetAsync("/");
                            if (r.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref Ok);
                            else { Interlocked.Increment(ref Failed); Failures.Add(((int)r.StatusCode).ToString()); }
                        }
                        catch (Exception e)
                        {
                            Interlocked.Increment(ref Failed);
                            Failures.Add(e.GetBaseException().Message);
                        }
                    }
                }));
            }
        }

        public async Task StopAsync()
        {
            _stop.Cancel();
            await Task.WhenAll(_loops);
        }
    }

    [Fact]
    public async Task A_worker_is_recycled_after_max_requests_without_a_failed_request()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 1, "--max-requests", "20");
        var pids = new HashSet<int>();
        var requests = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        // Keep asking until a second process has answered: the replacement needs a moment to boot,
        // and the old worker serves on until it is ready.
        while (pids.Count < 2 && DateTime.UtcNow < deadline)
        {
            var response = await server.Client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            requests++;
            pids.Add(System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("pid").GetInt32());
        }
        Assert.True(pids.Count >= 2, $"expected the worker to be recycled, saw pids {string.Join(',', pids)} over {requests} requests");
        Assert.True(await server.WaitForLineAsync(l => l.Contains("reached --max-requests"), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_rolling_reload_under_load_replaces_every_worker_with_zero_failed_requests()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 2);
        var before = await server.WorkerPidsAsync();
        var load = new Load(server, clients: 8);
        await Task.Delay(300);
        var reload = await server.Admin.PostAsync("/reload", null);
        Assert.Equal(HttpStatusCode.Accepted, reload.StatusCode);
        Assert.True(await AskrServer.EventuallyAsync(async () =>
            (await server.WorkerPidsAsync()).Intersect(before).Count() == 0 && server.Lines.Any(l => l.Contains("reload complete")), TimeSpan.FromSeconds(60)));
        await Task.Delay(300);
        await load.StopAsync();
        Assert.True(load.Ok > 100, $"only {load.Ok} requests succeeded");
        Assert.True(load.Failed == 0, $"{load.Failed} failed: {string.Join("; ", load.Failures.Take(5))}");
    }

    [Fact]
    public async Task Sighup_reloads_the_workers()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 1);
        var before = await server.WorkerPidsAsync();
        server.Signal(AskrServer.SigHup);
        Assert.True(await AskrServer.EventuallyAsync(async () => !(await server.WorkerPidsAsync()).SequenceEqual(before), TimeSpan.FromSeconds(60)));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Kill_9_of_a_worker_under_load_loses_only_its_in_flight_requests_and_the_worker_is_replaced()
    {
        const int clients = 4;
        await using var server = await AskrServer.StartAsync("router.php", workers: 2);
        var victim = (await server.WorkerPidsAsync())[0];
        var load = new Load(server, clients);
        await AskrServer.EventuallyAsync(() => Task.FromResult(load.Ok > 200), TimeSpan.FromSeconds(10));
        AskrServer.SignalPid(victim, AskrServer.SigKill);
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var status = await server.StatusAsync();
            var pids = status.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32()).ToArray();
            return !pids.Contains(victim) && status.GetProperty("restarts").GetInt64() == 1
                && status.GetProperty("workers").EnumerateArray().All(w => w.GetProperty("state").GetString() == "ready");
        }, TimeSpan.FromSeconds(30)));
        var okAtReplacement = load.Ok;
        await AskrServer.EventuallyAsync(() => Task.FromResult(load.Ok > okAtReplacement + 200), TimeSpan.FromSeconds(10));
        await load.StopAsync();
        // At most one request per client connection can have been in flight on the killed worker.
        Assert.True(load.Failed <= clients, $"{load.Failed} requests failed (at most {clients} were in flight): {string.Join("; ", load.Failures.Take(5))}");
        Assert.True(await server.WaitForLineAsync(l => l.Contains($"worker {victim}") && l.Contains("killed by signal 9"), TimeSpan.FromSeconds(5)),
            string.Join('\n', server.Lines.TakeLast(10)));
    }

    [Fact]
    public async Task Sigterm_drains_the_in_flight_request_and_exits_0()
    {
        var server = await AskrServer.StartAsync("router.php", workers: 1);
        var started = Path.Combine(Path.GetTempPath(), $"askr-started-{Guid.NewGuid():N}");
        try
        {
            var slow = server.Client.GetAsync($"/sleep?ms=1000&started={Uri.EscapeDataString(started)}");
            Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(File.Exists(started)), TimeSpan.FromSeconds(10)));
            server.Signal(AskrServer.SigTerm);
            var response = await slow;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(started);
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_admin_stop_endpoint_stops_the_server_gracefully()
    {
        var server = await AskrServer.StartAsync("router.php", workers: 2);
        try
        {
            var status = await server.StatusAsync();
            Assert.Equal(2, status.GetProperty("workers").GetArrayLength());
            Assert.True(status.GetProperty("workers")[0].GetProperty("rss_bytes").GetInt64() > 0);
            var stop = await server.Admin.PostAsync("/stop", null);
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("boot-fatal.php", "undefined_boot_function", "boot failure")]
    [InlineData("ends-at-once.php", "this script never takes a request", "ended before taking a request")]
    public async Task A_worker_that_fails_to_boot_is_reported_and_restarted_with_backoff_while_the_supervisor_stays_up(string script, string output, string reported)
    {
        var port = AskrServer.FreePort();
        var psi = new ProcessStartInfo(AskrServer.Binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, script), "--port", port.ToString(), "--workers", "1" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        try
        {
            Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(lines.Count(l => l.Contains("restarting in")) >= 2), TimeSpan.FromSeconds(30)),
                string.Join('\n', lines));
            Assert.Contains(lines, l => l.Contains(output));
            Assert.Contains(lines, l => l.Contains(reported));
            Assert.False(process.HasExited);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
