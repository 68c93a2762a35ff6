using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Background;

/// <summary>One askr serve with the background workers most tests read (php/background/worker.php, by name).</summary>
public sealed class BackgroundServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;

    public static string Script => Path.Combine(AskrServer.PhpDir, "background", "worker.php");

    public async Task InitializeAsync() =>
        Server = await AskrServer.StartAsync(Path.Combine("background", "router.php"), workers: 1,
            "--background-worker", $"alpha={Script}",
            "--background-worker", $"beta={Script}",
            "--background-worker", $"types={Script}",
            "--background-worker", $"same={Script}",
            "--background-worker", $"bad={Script}",
            "--background-worker", $"crasher={Script}",
            "--background-worker", $"pool={Script}:num=3",
            "--background-worker", $"slow={Script}:lazy",
            "--background-worker", $"boom={Script}:lazy",
            "--background-entrypoint", Script,
            "--background-entrypoint-cap", "2",
            "--background-vars-limit", "1048576",
            "--background-grace", "1");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>
/// Background workers on the real runtime (docs/background-workers.md), after FrankenPHP's test
/// list for the same feature (php/frankenphp PRs #2287, #2393): lifecycle, restarts, pools,
/// lazy start, catch-all, the vars round trip and the bad inputs.
/// </summary>
public sealed class BackgroundWorkerTests : IClassFixture<BackgroundServer>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly AskrServer _server;

    public BackgroundWorkerTests(BackgroundServer fixture) => _server = fixture.Server;

    private async Task<List<JsonElement>> BackgroundStatusAsync(string name) =>
        (await _server.StatusAsync()).GetProperty("background_workers").EnumerateArray().Where(b => b.GetProperty("name").GetString() == name).ToList();

    private async Task<JsonElement> PublishedAsync(string name)
    {
        Assert.True(await AskrServer.EventuallyAsync(async () => (await BackgroundStatusAsync(name)).Any(b => b.GetProperty("generation").GetInt64() > 0), Deadline),
            $"background worker {name} did not publish");
        return (await _server.GetJsonAsync($"/vars?name={name}")).GetProperty("vars");
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path)
    {
        var response = await _server.Client.GetAsync(path);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task A_background_worker_publishes_without_any_request_with_its_kind_and_name_in_SERVER_and_argv()
    {
        // No request reaches the HTTP worker until the supervisor's status shows the snapshot.
        Assert.True(await AskrServer.EventuallyAsync(async () => (await BackgroundStatusAsync("alpha")).Single().GetProperty("generation").GetInt64() == 1, Deadline));
        var alpha = await PublishedAsync("alpha");
        Assert.Equal("background", alpha.GetProperty("kind").GetString());
        Assert.Equal("alpha", alpha.GetProperty("env_name").GetString());
        Assert.Equal("alpha", alpha.GetProperty("argv1").GetString());
        Assert.Equal((await BackgroundStatusAsync("alpha")).Single().GetProperty("pid").GetInt32(), alpha.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task Two_names_share_one_script_and_each_process_sees_its_own_name()
    {
        var alpha = await PublishedAsync("alpha");
        var beta = await PublishedAsync("beta");
        Assert.Equal("beta", beta.GetProperty("argv1").GetString());
        Assert.NotEqual(alpha.GetProperty("pid").GetInt32(), beta.GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task Every_value_type_round_trips_from_set_vars_to_get_vars()
    {
        await PublishedAsync("types");
        var body = await _server.GetJsonAsync("/types");
        Assert.True(body.GetProperty("equal").GetBoolean(), body.ToString());
        Assert.Equal("00ff0162696e00", body.GetProperty("binary_hex").GetString());
        Assert.True(body.GetProperty("enum_is_same_case").GetBoolean());
        Assert.Equal(long.MaxValue, body.GetProperty("int").GetInt64());
    }

    [Fact]
    public async Task The_same_generation_gives_the_identical_array_within_a_request()
    {
        await PublishedAsync("types");
        Assert.True((await _server.GetJsonAsync("/identical?name=types")).GetProperty("identical").GetBoolean());
    }

    [Fact]
    public async Task An_identical_snapshot_is_not_written_again()
    {
        // "same" publishes one snapshot 50 times, then a different one once: two generations.
        Assert.True(await AskrServer.EventuallyAsync(async () => (await _server.GetJsonAsync("/vars?name=same")).GetProperty("vars").TryGetProperty("done", out _), Deadline));
        Assert.Equal(2, (await BackgroundStatusAsync("same")).Single().GetProperty("generation").GetInt64());
    }

    [Fact]
    public async Task A_crashing_background_worker_is_restarted_with_backoff_and_http_keeps_serving()
    {
        var first = (await PublishedAsync("crasher")).GetProperty("pid").GetInt32();
        Assert.True(await AskrServer.EventuallyAsync(async () => (await BackgroundStatusAsync("crasher")).Single().GetProperty("restarts").GetInt64() >= 2, Deadline));
        Assert.True(await AskrServer.EventuallyAsync(async () => (await _server.GetJsonAsync("/vars?name=crasher")).GetProperty("vars").GetProperty("pid").GetInt32() != first, Deadline));
        Assert.True(_server.Lines.Any(l => l.Contains("background worker \"crasher\"") && l.Contains("exited with status 3") && l.Contains("restarting in")), "no backoff logged");
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task A_pool_runs_num_processes_under_one_name_and_one_snapshot()
    {
        Assert.True(await AskrServer.EventuallyAsync(async () => (await BackgroundStatusAsync("pool")).Count(b => b.GetProperty("state").GetString() == "ready") == 3, Deadline));
        var pids = (await BackgroundStatusAsync("pool")).Select(b => b.GetProperty("pid").GetInt32()).ToHashSet();
        Assert.Equal(3, pids.Count);
        var vars = await PublishedAsync("pool");
        Assert.Contains(vars.GetProperty("pid").GetInt32(), pids);
        Assert.Equal("pool", vars.GetProperty("argv1").GetString());
    }

    [Fact]
    public async Task A_lazy_worker_is_not_running_until_ensure_which_blocks_until_its_first_set_vars()
    {
        Assert.Equal("lazy", (await BackgroundStatusAsync("slow")).Single().GetProperty("state").GetString());
        var (status, body) = await GetAsync("/vars?name=slow");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("RuntimeException: Ephpm\\Octane\\get_vars(): background worker \"slow\" is not running (it is lazy: ensure_background_worker('slow') starts it)", body.GetProperty("error").GetString());

        // "slow" sleeps 700 ms before it publishes: ensure() returns only after that.
        var ensured = await _server.GetJsonAsync("/ensure?name=slow");
        Assert.True(ensured.GetProperty("elapsed_ms").GetDouble() >= 650, ensured.ToString());
        Assert.True(ensured.GetProperty("vars").GetProperty("slow").GetBoolean());
        // Started once node-wide: a second ensure() starts nothing and returns at once.
        var again = await _server.GetJsonAsync("/ensure?name=slow");
        Assert.True(again.GetProperty("elapsed_ms").GetDouble() < 100, again.ToString());
        Assert.Single(await BackgroundStatusAsync("slow"));
    }

    [Fact]
    public async Task Ensure_of_a_list_waits_for_all_with_one_deadline_and_returns_vars_keyed_by_name()
    {
        var body = await _server.GetJsonAsync("/ensure?name=alpha,types");
        Assert.Equal(["alpha", "types"], body.GetProperty("vars").EnumerateObject().Select(p => p.Name));
        Assert.Equal("alpha", body.GetProperty("vars").GetProperty("alpha").GetProperty("argv1").GetString());
    }

    [Fact]
    public async Task Ensure_in_a_request_is_tolerant_and_its_timeout_names_the_worker_its_attempts_and_last_php_error()
    {
        var watch = Stopwatch.StartNew();
        var (status, body) = await GetAsync("/ensure?name=alpha,boom&timeout=2.5");
        watch.Stop();
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        var error = body.GetProperty("error").GetString()!;
        // One deadline for the list; tolerant: it waited for the restart cycle rather than failing at the first crash.
        Assert.InRange(watch.Elapsed.TotalSeconds, 2.4, 10);
        Assert.StartsWith("RuntimeException: Ephpm\\Octane\\ensure_background_worker(): background worker \"boom\" did not publish its vars within 2.5 s: ", error);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(error, @"\d+ attempt\(s\), \d+ failed in a row; last attempt: PHP error ""Uncaught RuntimeException: cannot reach the sentinel for boom in .*worker\.php:\d+"" in .*worker\.php on line \d+, exit status 255$"), error);
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Bad_values_and_a_snapshot_over_the_limit_are_refused_with_clear_errors_and_nothing_written()
    {
        var vars = await PublishedAsync("bad");
        var errors = vars.GetProperty("errors");
        const string allowed = "; only null, bool, int, float, string, arrays and backed enums can be shared";
        Assert.Equal("TypeError: Ephpm\\Octane\\set_vars(): $vars['a']['b'] is an object of class Closure" + allowed, errors.GetProperty("closure").GetString());
        Assert.Equal("TypeError: Ephpm\\Octane\\set_vars(): $vars['fh'] is a resource" + allowed, errors.GetProperty("resource").GetString());
        Assert.Equal("TypeError: Ephpm\\Octane\\set_vars(): $vars[0] is an object of class stdClass" + allowed, errors.GetProperty("object").GetString());
        Assert.Equal("TypeError: Ephpm\\Octane\\set_vars(): $vars['p'] is the pure enum case of Pure" + allowed, errors.GetProperty("pure_enum").GetString());
        Assert.Equal("ValueError: Ephpm\\Octane\\set_vars(): the snapshot of \"bad\" is 2097181 bytes serialized, over the limit of 1048576 bytes (--background-vars-limit); nothing was written",
            errors.GetProperty("too_large").GetString());
        // None of the refused calls published: the one snapshot is the one with the errors.
        Assert.Equal(1, (await BackgroundStatusAsync("bad")).Single().GetProperty("generation").GetInt64());
    }

    [Fact]
    public async Task The_background_only_natives_refuse_an_http_worker_and_an_undeclared_name_is_an_error()
    {
        var body = await _server.GetJsonAsync("/not-background");
        Assert.Equal("Error: Ephpm\\Octane\\set_vars(): this is not a background worker (ASKR_WORKER_KIND=http); only a script run by askr serve --background-worker may publish vars", body.GetProperty("set_vars").GetString());
        Assert.StartsWith("Error: Ephpm\\Octane\\should_stop(): this is not a background worker", body.GetProperty("should_stop").GetString());
        Assert.StartsWith("Error: Ephpm\\Octane\\get_worker_handle(): this is not a background worker", body.GetProperty("get_worker_handle").GetString());
        var (status, missing) = await GetAsync("/vars?name=nope");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        // With a catch-all, an unknown name is one it could run: get_vars() says to ensure it.
        Assert.Equal("RuntimeException: Ephpm\\Octane\\get_vars(): background worker \"nope\" is not running: ensure_background_worker('nope') starts it with the catch-all (--background-entrypoint)", missing.GetProperty("error").GetString());
    }

    [Fact]
    public async Task The_catch_all_runs_any_name_it_is_asked_for_up_to_its_cap()
    {
        var one = await _server.GetJsonAsync("/ensure?name=dyn-1");
        Assert.Equal("dyn-1", one.GetProperty("vars").GetProperty("argv1").GetString());
        Assert.Equal("dyn-1", one.GetProperty("vars").GetProperty("env_name").GetString());
        await _server.GetJsonAsync("/ensure?name=dyn-2");
        var (status, body) = await GetAsync("/ensure?name=dyn-3");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("RuntimeException: Ephpm\\Octane\\ensure_background_worker(): the catch-all background entrypoint already runs 2 name(s), its cap (--background-entrypoint-cap 2): \"dyn-3\" is not started",
            body.GetProperty("error").GetString());
        Assert.Empty(await BackgroundStatusAsync("dyn-3"));
    }
}

/// <summary>Stopping, reloading and failing to boot: each on its own askr serve.</summary>
public sealed class BackgroundLifecycleTests
{
    [Fact]
    public async Task A_worker_that_ignores_the_stop_handle_is_killed_after_the_grace_period_on_reload_and_on_shutdown()
    {
        var script = BackgroundServer.Script;
        await using var server = await AskrServer.StartAsync(Path.Combine("background", "router.php"), workers: 1,
            "--background-worker", $"stuck={script}", "--background-worker", $"alpha={script}", "--background-grace", "1");
        async Task<int> PidOf(string name) =>
            (await server.StatusAsync()).GetProperty("background_workers").EnumerateArray().Single(b => b.GetProperty("name").GetString() == name).GetProperty("pid").GetInt32();
        async Task<bool> AllReady() =>
            (await server.StatusAsync()).GetProperty("background_workers").EnumerateArray().All(b => b.GetProperty("state").GetString() == "ready");
        async Task<long> GenerationOf(string name) =>
            (await server.StatusAsync()).GetProperty("background_workers").EnumerateArray().Single(b => b.GetProperty("name").GetString() == name).GetProperty("generation").GetInt64();
        Assert.True(await AskrServer.EventuallyAsync(async () => await GenerationOf("stuck") > 0 && await GenerationOf("alpha") > 0, TimeSpan.FromSeconds(30)));
        var stuck = await PidOf("stuck");
        var alpha = await PidOf("alpha");

        // Reload: "stuck" sleeps through SIGTERM and is killed after 1 s; "alpha" leaves its stream_select loop.
        (await server.Admin.PostAsync("/reload", null)).EnsureSuccessStatusCode();
        Assert.True(await AskrServer.EventuallyAsync(async () => await PidOf("stuck") != stuck && await PidOf("alpha") != alpha, TimeSpan.FromSeconds(30)), "the background workers were not replaced on reload");
        Assert.False(Directory.Exists($"/proc/{stuck}") && !File.ReadAllText($"/proc/{stuck}/stat").Contains(") Z "), "the stuck worker still runs");

        // Each replacement has its signal handlers in place (it said ready) before the supervisor is stopped.
        Assert.True(await AskrServer.EventuallyAsync(AllReady, TimeSpan.FromSeconds(30)));
        var stuck2 = await PidOf("stuck");
        var alpha2 = await PidOf("alpha");
        var watch = Stopwatch.StartNew();
        server.Signal(AskrServer.SigTerm);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        // Far less than the 60 s the stuck script sleeps: the grace period, then SIGKILL.
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.9, 15);
        Assert.False(Directory.Exists($"/proc/{stuck2}"));
        Assert.False(Directory.Exists($"/proc/{alpha2}"));
    }

    /// <summary>Runs askr serve to its end (or <paramref name="until"/> in its output), returning its exit code (null if still running) and output.</summary>
    private static async Task<(int? Code, string Output)> RunAsync(IReadOnlyDictionary<string, string> environment, Func<string, bool>? until, params string[] args)
    {
        var psi = new ProcessStartInfo(AskrServer.Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "background", "router.php"),
                     "--host", "127.0.0.1", "--port", AskrServer.FreePort().ToString(), "--workers", "1" }.Concat(args))
            psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var matched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? l)
        {
            if (l is null) return;
            lines.Enqueue(l);
            if (until?.Invoke(l) == true) matched.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.WhenAny(process.WaitForExitAsync(), matched.Task, Task.Delay(TimeSpan.FromSeconds(45)));
            return (process.HasExited ? process.ExitCode : null, string.Join('\n', lines));
        }
        finally
        {
            if (!process.HasExited)
            {
                AskrServer.SignalPid(process.Id, AskrServer.SigTerm);
                try { await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20)); }
                catch (TimeoutException) { process.Kill(entireProcessTree: true); }
            }
        }
    }

    [Fact]
    public async Task An_eager_worker_that_keeps_failing_before_it_publishes_stops_start_up_with_the_reason()
    {
        var (code, output) = await RunAsync(new Dictionary<string, string>(), null,
            "--background-worker", $"boom={BackgroundServer.Script}", "--background-max-failures", "2");
        Assert.Equal(1, code);
        Assert.Matches(@"background worker ""boom"" failed 2 times in a row without publishing its vars \(--background-max-failures 2\): 2 attempt\(s\), 2 failed in a row; last attempt: PHP error ""Uncaught RuntimeException: cannot reach the sentinel for boom", output);
    }

    [Fact]
    public async Task Ensure_while_the_app_boots_fails_fast_with_the_workers_error()
    {
        var watch = Stopwatch.StartNew();
        var (code, output) = await RunAsync(new Dictionary<string, string> { ["ASKR_TEST_ENSURE_AT_BOOT"] = "boom" }, l => l.Contains("failed while the app boots"),
            "--background-worker", $"boom={BackgroundServer.Script}:lazy");
        Assert.Null(code);
        // Fail-fast: well before the 10 s the boot's ensure() would wait.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(9), $"took {watch.Elapsed}");
        Assert.Matches(@"ensure_background_worker\(\): background worker ""boom"" failed while the app boots, before it published its vars: \d attempt\(s\), 1 failed in a row; last attempt: PHP error ""Uncaught RuntimeException: cannot reach the sentinel for boom in .*worker\.php:\d+"" in .*worker\.php on line \d+, exit status 255", output);
    }
}
