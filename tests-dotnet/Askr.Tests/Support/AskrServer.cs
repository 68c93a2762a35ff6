using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Askr.Tests.Support;

/// <summary>
/// A real <c>askr serve</c> process (the binary built by scripts/build.sh) on loopback ports,
/// with its output captured line by line for assertions.
/// </summary>
public sealed partial class AskrServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private AskrServer(Process process, int port, int adminPort, string adminToken)
    {
        AdminToken = adminToken;
        _process = process;
        Port = port;
        AdminPort = adminPort;
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(10) };
        Admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
    }

    public int Port { get; }
    public int AdminPort { get; }
    /// <summary>The admin endpoint's token (ASKR_ADMIN_TOKEN, unless the test's environment sets another); <see cref="Admin"/> sends it.</summary>
    public string AdminToken { get; private init; } = "";
    public HttpClient Client { get; }
    public HttpClient Admin { get; }
    public int Pid => _process.Id;
    public IReadOnlyCollection<string> Lines => _lines;
    public bool HasExited => _process.HasExited;

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "native", "shim"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    public static string Binary => Environment.GetEnvironmentVariable("ASKR_BINARY") is { Length: > 0 } b ? b : Path.Combine(RepoRoot, "build", "askr", "askr");

    public static string PhpDir => Path.Combine(RepoRoot, "tests-dotnet", "Askr.Tests", "php");

    /// <summary>Starts askr serve with the test router (or another script) and waits until it listens.</summary>
    public static Task<AskrServer> StartAsync(string script = "router.php", int workers = 1, params string[] extra) =>
        StartAsync(script, workers, null, extra);

    /// <summary>As <see cref="StartAsync(string, int, string[])"/>, with these variables added to askr's environment.</summary>
    public static async Task<AskrServer> StartAsync(string script, int workers, IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        if (!File.Exists(Binary))
            throw new InvalidOperationException($"askr binary not found at {Binary}: run scripts/build.sh (or scripts/setup.sh) first");
        var port = FreePort();
        var admin = FreePort();
        var psi = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "serve", "--root", Path.Combine(PhpDir, "public"), "--worker-script", Path.Combine(PhpDir, script),
                     "--host", "127.0.0.1", "--port", port.ToString(), "--admin-port", admin.ToString() })
            psi.ArgumentList.Add(a);
        // workers 0: the count is left to the extra arguments (--workers-min/--workers-max).
        if (workers > 0) { psi.ArgumentList.Add("--workers"); psi.ArgumentList.Add(workers.ToString()); }
        foreach (var a in extra) psi.ArgumentList.Add(a);
        psi.Environment["ASKR_ADMIN_TOKEN"] = TestAdminToken;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        var process = Process.Start(psi)!;
        var server = new AskrServer(process, port, admin, psi.Environment["ASKR_ADMIN_TOKEN"] ?? "");
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(server._listening.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != server._listening.Task)
        {
            var output = string.Join('\n', server._lines);
            await server.DisposeAsync();
            throw new InvalidOperationException($"askr did not start listening:\n{output}");
        }
        return server;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        _lines.Enqueue(line);
        if (line.Contains("askr listening on")) _listening.TrySetResult();
    }

    /// <summary>The admin token test servers get (through ASKR_ADMIN_TOKEN, as the Octane driver passes it).</summary>
    public const string TestAdminToken = "test-admin-token-0123456789abcdef";

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The supervisor's resident set size (VmRSS of /proc/&lt;pid&gt;/status), in bytes.</summary>
    public long ResidentBytes()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmRSS:"));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]) * 1024;
    }

    public async Task<JsonElement> StatusAsync()
    {
        var json = await Admin.GetStringAsync("/status");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    public async Task<int[]> WorkerPidsAsync()
    {
        var status = await StatusAsync();
        return status.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32()).ToArray();
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return true;
            }
            catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        return false;
    }

    public Task<bool> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout) =>
        EventuallyAsync(() => Task.FromResult(_lines.Any(match)), timeout);

    public void Signal(int signal) => Kill(_process.Id, signal);

    public static void SignalPid(int pid, int signal) => Kill(pid, signal);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    public const int SigTerm = 15;
    public const int SigKill = 9;
    public const int SigHup = 1;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        if (!_process.HasExited)
        {
            Kill(_process.Id, SigTerm);
            try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (TimeoutException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
    }
}
