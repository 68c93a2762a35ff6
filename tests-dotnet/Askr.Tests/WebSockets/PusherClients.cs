using System.Diagnostics;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.WebSockets;

/// <summary>
/// Runs the real Pusher clients of tests-dotnet/pusher-clients (pusher-js, the `pusher` server
/// library, ws) against an askr server: <c>node clients.js &lt;scenario&gt; &lt;options&gt;</c>
/// prints what the scenario observed as one JSON object.
/// </summary>
internal static class PusherClients
{
    public const string AppId = "1";
    public const string Key = "key1";
    public const string Secret = "secret1";
    /// <summary>The app as askr serve takes it.</summary>
    public const string AppArgument = AppId + ":" + Key + ":" + Secret;

    private static readonly SemaphoreSlim s_install = new(1, 1);

    public static string Directory => Path.Combine(AskrServer.RepoRoot, "tests-dotnet", "pusher-clients");

    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs <c>npm ci</c> once when node_modules is absent (scripts/setup.sh normally did it).</summary>
    public static async Task EnsureInstalledAsync()
    {
        await s_install.WaitAsync();
        try
        {
            if (System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "pusher-js"))) return;
            var (code, stdout, stderr) = await RunProgramAsync("npm", ["ci", "--no-audit", "--no-fund"], 120);
            Assert.True(code == 0, $"npm ci in {Directory} failed ({code}):\n{stderr}\n{stdout}");
        }
        finally { s_install.Release(); }
    }

    /// <summary>Runs a scenario against the server on <paramref name="port"/>; asserts it exited 0 and returns its JSON.</summary>
    public static async Task<JsonElement> RunAsync(string scenario, int port, object? options = null, int timeoutSeconds = 20)
    {
        await EnsureInstalledAsync();
        var merged = new Dictionary<string, object?> { ["appId"] = AppId, ["key"] = Key, ["secret"] = Secret, ["port"] = port, ["timeoutMs"] = (timeoutSeconds - 2) * 1000 };
        if (options is not null)
            foreach (var p in options.GetType().GetProperties()) merged[p.Name] = p.GetValue(options);
        var (code, stdout, stderr) = await RunProgramAsync("node", ["clients.js", scenario, JsonSerializer.Serialize(merged)], timeoutSeconds);
        Assert.True(code == 0, $"node clients.js {scenario} exited {code}: {stderr}\n{stdout}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunProgramAsync(string program, IEnumerable<string> args, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await stdout, await stderr + $"\n(killed after {timeoutSeconds} s)");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>[Fact] that skips when Node.js is not installed.</summary>
public sealed class PusherFactAttribute : FactAttribute
{
    public PusherFactAttribute()
    {
        if (PusherClients.Find("node") is null) Skip = "node is not installed: the Pusher protocol tests (tests-dotnet/pusher-clients) need Node.js 18+";
        else if (!Directory.Exists(Path.Combine(PusherClients.Directory, "node_modules")) && PusherClients.Find("npm") is null)
            Skip = "tests-dotnet/pusher-clients/node_modules is missing and npm is not installed to fetch pusher-js";
    }
}

/// <summary>One askr server with two HTTP workers and one Pusher app, shared by a test class.</summary>
public sealed class PusherServerFixture : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Server = await AskrServer.StartAsync("router.php", 2, "--pusher-app", PusherClients.AppArgument);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
