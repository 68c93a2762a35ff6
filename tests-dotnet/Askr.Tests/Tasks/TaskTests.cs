using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Tasks;

public sealed class TaskServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;
    public async Task InitializeAsync() =>
        Server = await AskrServer.StartAsync("tasks.php", workers: 1, "--task-workers", "3", "--tables", Path.Combine(AskrServer.PhpDir, "tasks.json"));
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>dispatch_tasks() from an HTTP worker, run by task workers; ticks once a second per node.</summary>
public sealed class TaskTests : IClassFixture<TaskServer>
{
    private readonly AskrServer _server;

    public TaskTests(TaskServer fixture) => _server = fixture.Server;

    private async Task<JsonElement> Concurrently(object tasks, int timeoutMs = 3000, bool wait = true)
    {
        var json = Uri.EscapeDataString(JsonSerializer.Serialize(tasks));
        return await _server.GetJsonAsync($"/concurrently?tasks={json}&timeout={timeoutMs}&wait={(wait ? 1 : 0)}");
    }

    /// <summary>
    /// Waits (polling the server's task board, with a deadline) until every task worker is idle:
    /// a test that counts the workers its tasks ran on must not start while an earlier test's
    /// fire-and-forget task still holds one (xunit orders the tests of a class by their ids).
    /// </summary>
    private async Task AllTaskWorkersIdleAsync()
    {
        var path = Directory.GetFiles(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-{_server.Pid}-*.tasks").Single();
        using var board = Askr.Tasks.TaskBoard.Open(path);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(Enumerable.Range(0, board.Slots).All(s => board.State(s) == Askr.Tasks.TaskSlotState.Idle)), TimeSpan.FromSeconds(30)),
            "the task workers did not all become idle");
    }

    [Fact]
    public async Task Tasks_run_in_parallel_in_other_processes_and_keep_their_keys_and_order()
    {
        await AllTaskWorkersIdleAsync();
        var body = await Concurrently(new Dictionary<string, object>
        {
            ["first"] = new { sleep_ms = 300, value = 1 },
            ["second"] = new { sleep_ms = 300, value = 2 },
            ["third"] = new { sleep_ms = 300, value = 3 },
        });
        var results = body.GetProperty("results");
        Assert.Equal(["first", "second", "third"], results.EnumerateObject().Select(p => p.Name));
        Assert.Equal([1, 2, 3], results.EnumerateObject().Select(p => p.Value.GetProperty("data").GetProperty("value").GetInt32()));
        var pids = results.EnumerateObject().Select(p => p.Value.GetProperty("data").GetProperty("pid").GetInt32()).ToHashSet();
        Assert.Equal(3, pids.Count);
        var httpPid = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        Assert.DoesNotContain(httpPid, pids);
        // Sequentially this is 900 ms; in parallel, close to the slowest task.
        Assert.InRange(body.GetProperty("elapsed_ms").GetDouble(), 290, 800);
    }

    [Fact]
    public async Task Each_kind_of_worker_refuses_the_other_kinds_natives_with_a_clear_error()
    {
        var http = await _server.GetJsonAsync("/take-task");
        Assert.Equal("Error: Ephpm\\Octane\\take_task(): this is an HTTP worker (ASKR_WORKER_KIND=http), which gets no tasks: take its requests with Ephpm\\Octane\\take_request()",
            http.GetProperty("error").GetString());

        var results = (await Concurrently(new { request = new { probe = "take_request" }, status = new { probe = "bad_status" } })).GetProperty("results");
        Assert.Equal("Error: Ephpm\\Octane\\take_request(): this is a task worker (ASKR_WORKER_KIND=task), which gets no requests: take its tasks with Ephpm\\Octane\\take_task()",
            results.GetProperty("request").GetProperty("data").GetProperty("value").GetString());
        Assert.Equal("ValueError: Ephpm\\Octane\\send_task_result(): Argument #2 ($status) must be \"ok\" or \"error\", \"fine\" given",
            results.GetProperty("status").GetProperty("data").GetProperty("value").GetString());
    }

    [Fact]
    public async Task More_tasks_than_task_workers_wait_their_turn_and_all_come_back_in_order()
    {
        await AllTaskWorkersIdleAsync();
        // Three go straight to the three idle task workers; the other four queue at the supervisor.
        var tasks = Enumerable.Range(0, 7).ToDictionary(i => $"t{i}", i => (object)new { sleep_ms = 150, value = i });
        var body = await Concurrently(tasks, timeoutMs: 5000);
        var results = body.GetProperty("results");
        Assert.Equal(tasks.Keys, results.EnumerateObject().Select(p => p.Name));
        Assert.All(results.EnumerateObject(), p => Assert.Equal("ok", p.Value.GetProperty("status").GetString()));
        Assert.Equal(Enumerable.Range(0, 7), results.EnumerateObject().Select(p => p.Value.GetProperty("data").GetProperty("value").GetInt32()));
        Assert.InRange(results.EnumerateObject().Select(p => p.Value.GetProperty("data").GetProperty("pid").GetInt32()).Distinct().Count(), 1, 3);
        // Three rounds of 150 ms on three workers; sequentially it would be 1050 ms.
        Assert.InRange(body.GetProperty("elapsed_ms").GetDouble(), 440, 1000);
    }

    [Fact]
    public async Task Tasks_dispatched_throughout_a_rolling_reload_all_come_back()
    {
        await using var server = await AskrServer.StartAsync("tasks.php", workers: 1, "--task-workers", "2", "--tables", Path.Combine(AskrServer.PhpDir, "tasks.json"));
        var before = await server.WorkerPidsAsync();
        var tasks = Uri.EscapeDataString(JsonSerializer.Serialize(new object[] { new { sleep_ms = 5, value = 1 }, new { value = 2 }, new { sleep_ms = 10, value = 3 } }));
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await server.Admin.PostAsync("/reload", null)).StatusCode);
        var statuses = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!server.Lines.Any(l => l.Contains("reload complete")) && DateTime.UtcNow < deadline)
        {
            var results = (await server.GetJsonAsync($"/concurrently?tasks={tasks}&timeout=5000")).GetProperty("results");
            statuses.AddRange(results.EnumerateArray().Select(r => r.GetProperty("status").GetString()!));
        }
        Assert.Contains(server.Lines, l => l.Contains("reload complete"));
        Assert.Empty((await server.WorkerPidsAsync()).Intersect(before));
        Assert.NotEmpty(statuses);
        Assert.All(statuses, s => Assert.Equal("ok", s));
    }

    [Fact]
    public async Task A_bad_frame_on_a_task_workers_socket_closes_that_connection_only()
    {
        var sockets = Directory.GetFiles(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-{_server.Pid}-*.tasks-*.sock");
        Assert.NotEmpty(sockets);
        var before = await _server.WorkerPidsAsync();
        foreach (var path in sockets)
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
            // A length of 2 GiB, then garbage: the worker refuses the frame and closes this connection.
            await socket.SendAsync(new byte[] { 0xff, 0xff, 0xff, 0x7f, (byte)'x', (byte)'y' });
            // Closed: end of stream, or a reset (the unread garbage makes the close a reset).
            int received;
            try { received = await socket.ReceiveAsync(new byte[16]).WaitAsync(TimeSpan.FromSeconds(10)); }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset) { received = 0; }
            Assert.Equal(0, received);
        }
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("task socket: control frame of"), TimeSpan.FromSeconds(5)));
        var after = (await Concurrently(new object[] { new { value = 1 }, new { value = 2 }, new { value = 3 } })).GetProperty("results");
        Assert.All(after.EnumerateArray(), r => Assert.Equal("ok", r.GetProperty("status").GetString()));
        Assert.Equal(before.Order(), (await _server.WorkerPidsAsync()).Order());
    }

    [Fact]
    public async Task A_task_that_fails_reports_an_error_and_the_others_still_succeed()
    {
        var results = (await Concurrently(new object[] { new { value = 1 }, new { fail = true } })).GetProperty("results");
        Assert.Equal("ok", results[0].GetProperty("status").GetString());
        Assert.Equal("error", results[1].GetProperty("status").GetString());
    }

    [Fact]
    public async Task Tasks_past_the_deadline_time_out_without_holding_the_caller()
    {
        var body = await Concurrently(new object[] { new { value = 1 }, new { sleep_ms = 2000 } }, timeoutMs: 300);
        var results = body.GetProperty("results");
        Assert.Equal("ok", results[0].GetProperty("status").GetString());
        Assert.Equal("timeout", results[1].GetProperty("status").GetString());
        Assert.InRange(body.GetProperty("elapsed_ms").GetDouble(), 290, 1000);
    }

    [Fact]
    public async Task Dispatch_without_waiting_returns_at_once_and_the_task_still_runs()
    {
        var before = (await _server.GetJsonAsync("/")).GetProperty("pid");
        var body = await Concurrently(new object[] { new { sleep_ms = 500 } }, wait: false);
        Assert.Empty(body.GetProperty("results").EnumerateArray());
        Assert.True(body.GetProperty("elapsed_ms").GetDouble() < 300);
    }

    [Fact]
    public async Task A_task_worker_crash_mid_task_gives_the_caller_an_error_and_the_pool_recovers()
    {
        var results = (await Concurrently(new object[] { new { crash = true, sleep_ms = 20 } })).GetProperty("results");
        Assert.Equal("error", results[0].GetProperty("status").GetString());
        Assert.Contains("exited", results[0].GetProperty("data").GetString());
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var status = await _server.StatusAsync();
            return status.GetProperty("workers").EnumerateArray().Count(w => w.GetProperty("kind").GetString() == "task" && w.GetProperty("state").GetString() == "ready") == 3;
        }, TimeSpan.FromSeconds(30)));
        var after = (await Concurrently(new object[] { new { value = 7 }, new { value = 8 }, new { value = 9 } })).GetProperty("results");
        Assert.All(after.EnumerateArray(), r => Assert.Equal("ok", r.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Ticks_fire_about_once_a_second_for_the_node_not_once_per_worker()
    {
        var first = await _server.GetJsonAsync("/ticks");
        var start = DateTime.UtcNow;
        var firstCount = first.GetProperty("count").GetInt32();
        Assert.True(await AskrServer.EventuallyAsync(async () =>
            (await _server.GetJsonAsync("/ticks")).GetProperty("count").GetInt32() >= firstCount + 3, TimeSpan.FromSeconds(10)));
        var later = await _server.GetJsonAsync("/ticks");
        var ticks = later.GetProperty("count").GetInt32() - firstCount;
        var seconds = (DateTime.UtcNow - start).TotalSeconds;
        // With 3 task workers, once per worker would be 3 a second.
        Assert.InRange(ticks / seconds, 0.5, 1.6);
    }
}
