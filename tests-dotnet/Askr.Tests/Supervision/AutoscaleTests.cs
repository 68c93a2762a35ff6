using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Supervision;

/// <summary>
/// askr serve --workers-min 1 --workers-max 3 on a real server: a load step of concurrent requests
/// to a route that sleeps scales the workers up (new connections reach more than one worker pid),
/// a quiet period scales them down, and neither loses a request, keep-alive ones included.
/// The quiet period is shortened to 2 s through ASKR_AUTOSCALE_QUIET_MS.
/// </summary>
public sealed class AutoscaleTests
{
    private static readonly Dictionary<string, string> ShortQuiet = new() { ["ASKR_AUTOSCALE_QUIET_MS"] = "2000" };

    private static Task<AskrServer> StartAsync() =>
        AskrServer.StartAsync("router.php", 0, ShortQuiet, "--workers-min", "1", "--workers-max", "3", "--no-access-log");

    /// <summary>One request on a new connection (Connection: close); the pid that answered.</summary>
    private static async Task<int> SleepOnNewConnectionAsync(HttpClient client, int ms)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/sleep?ms={ms}");
        request.Headers.ConnectionClose = true;
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/sleep: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("pid").GetInt32();
    }

    private static bool IsScaleLine(string line, string direction) => line.Contains($"autoscale {direction} busy=") && line.Contains("→ workers=");

    [Fact]
    public async Task A_load_step_scales_up_to_more_workers_and_a_quiet_period_scales_down_with_no_failed_request()
    {
        await using var server = await StartAsync();
        var status = await server.StatusAsync();
        Assert.True(status.GetProperty("autoscale").GetBoolean());
        Assert.Equal(1, status.GetProperty("workers_active").GetInt32());
        Assert.Equal(3, status.GetProperty("workers_max").GetInt32());

        using var client = new HttpClient { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var pids = new ConcurrentBag<int>();
        // Waves of 32 concurrent requests of 200 ms, each on a new connection, until a scale up has spread them.
        for (var wave = 0; wave < 6 && (wave < 2 || pids.Distinct().Count() < 2); wave++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => SleepOnNewConnectionAsync(client, 200)));
            foreach (var pid in answers) pids.Add(pid);
        }
        Assert.Contains(server.Lines, l => IsScaleLine(l, "up"));
        Assert.True(pids.Distinct().Count() > 1, $"every answer came from pid {pids.First()}");
        Assert.True((await server.StatusAsync()).GetProperty("workers_active").GetInt32() > 1);

        Assert.True(await server.WaitForLineAsync(l => IsScaleLine(l, "down"), TimeSpan.FromSeconds(30)), "no autoscale down after the load stopped");
        Assert.True(await AskrServer.EventuallyAsync(async () => (await server.StatusAsync()).GetProperty("workers_active").GetInt32() == 1, TimeSpan.FromSeconds(30)));
        var metrics = await server.Admin.GetStringAsync("/metrics");
        Assert.Contains("askr_workers_active 1", metrics);
        Assert.Contains("askr_workers_max 3", metrics);
        // Idle workers above the spare are stopped once nothing is left on them.
        Assert.True(await server.WaitForLineAsync(l => l.Contains("idle, stopped"), TimeSpan.FromSeconds(30)), "no idle worker was stopped");
        Assert.True(await AskrServer.EventuallyAsync(async () => (await server.WorkerPidsAsync()).Length == 2, TimeSpan.FromSeconds(30)), "one active worker and one spare should be left");
        Assert.Equal(200, (int)(await server.Client.GetAsync("/echo")).StatusCode);
    }

    [Fact]
    public async Task A_scale_down_while_keep_alive_connections_are_open_loses_no_request()
    {
        await using var server = await StartAsync();
        using var loadClient = new HttpClient { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        for (var wave = 0; wave < 8 && (await server.StatusAsync()).GetProperty("workers_active").GetInt32() < 3; wave++)
            await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => SleepOnNewConnectionAsync(loadClient, 200)));
        Assert.Equal(3, (await server.StatusAsync()).GetProperty("workers_active").GetInt32());

        // Six keep-alive connections opened while three workers are active: two on each (round-robin).
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 6, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        using var keepAlive = new HttpClient(handler) { BaseAddress = server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var failures = new ConcurrentQueue<string>();
        var pids = new ConcurrentDictionary<int, int>();
        var answered = 0;
        using var stop = new CancellationTokenSource();
        var opened = new CountdownEvent(6);
        var loops = Enumerable.Range(0, 6).Select(async i =>
        {
            var first = true;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await keepAlive.GetAsync(first ? "/sleep?ms=300" : "/echo");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK) failures.Enqueue($"{(int)response.StatusCode} {body}");
                    else pids.AddOrUpdate(JsonDocument.Parse(body).RootElement.GetProperty("pid").GetInt32(), 1, (_, n) => n + 1);
                    Interlocked.Increment(ref answered);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    failures.Enqueue(e.Message);
                }
                if (first) { opened.Signal(); first = false; }
                await Task.Delay(100);
            }
        }).ToArray();
        Assert.True(opened.Wait(TimeSpan.FromSeconds(30)), "the keep-alive connections did not open");
        Assert.True(await server.WaitForLineAsync(l => IsScaleLine(l, "down"), TimeSpan.FromSeconds(60)), "no autoscale down under light keep-alive traffic");
        var atDown = Volatile.Read(ref answered);
        // Past the down and another quiet period: the inactive workers keep their connections and answer on them.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var stillAnswering = Volatile.Read(ref answered) - atDown;
        stop.Cancel();
        await Task.WhenAll(loops);
        Assert.True(failures.IsEmpty, $"{failures.Count} failed: {string.Join("; ", failures.Take(5))}");
        Assert.True(stillAnswering > 30, $"only {stillAnswering} answers after the scale down");
        Assert.Equal(3, pids.Count);
        Assert.Equal(1, (await server.StatusAsync()).GetProperty("workers_active").GetInt32());
        Assert.DoesNotContain(server.Lines, l => l.Contains("idle, stopped"));
        // Once the client lets its connections go, the worker above the spare is stopped.
        keepAlive.Dispose();
        Assert.True(await server.WaitForLineAsync(l => l.Contains("idle, stopped"), TimeSpan.FromSeconds(30)), "the idle worker was not stopped after its connections closed");
    }

    [Theory]
    [InlineData(new[] { "--workers-min", "3", "--workers-max", "2" }, "--workers-min 3 is more than --workers-max 2")]
    [InlineData(new[] { "--workers-max", "2" }, "autoscaling needs both --workers-min N and --workers-max M")]
    [InlineData(new[] { "--workers-min", "1", "--workers-max", "2", "--spread", "hash" }, "cannot run with --spread hash")]
    [InlineData(new[] { "--workers", "2", "--workers-min", "1", "--workers-max", "2" }, "not both")]
    public async Task Bad_autoscaling_options_are_refused_at_start(string[] arguments, string message)
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => AskrServer.StartAsync("router.php", 0, arguments));
        Assert.Contains(message, exception.Message);
    }
}
