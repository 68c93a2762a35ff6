using System.Net;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Askr.Supervision;

/// <summary>JSON of <c>GET /status</c> (docs/runtime.md, "Admin endpoint").</summary>
public sealed class SupervisorStatus
{
    [JsonPropertyName("pid")] public int Pid { get; init; }
    [JsonPropertyName("uptime_seconds")] public double UptimeSeconds { get; init; }
    [JsonPropertyName("host")] public string Host { get; init; } = "";
    [JsonPropertyName("port")] public int Port { get; init; }
    [JsonPropertyName("workers")] public List<WorkerStatus> Workers { get; init; } = [];
    [JsonPropertyName("requests_total")] public long RequestsTotal => Workers.Sum(w => w.Requests);
    [JsonPropertyName("restarts")] public long Restarts { get; init; }
    /// <summary>This node's view of its cluster; null when it is not in one.</summary>
    [JsonPropertyName("cluster")] public ClusterStatus? Cluster { get; init; }
    /// <summary>The background workers (docs/background-workers.md); null when askr serve declares none.</summary>
    [JsonPropertyName("background_workers")] public List<Background.BackgroundWorkerStatus>? Background { get; init; }
}

public sealed class ClusterStatus
{
    [JsonPropertyName("node_id")] public string NodeId { get; init; } = "";
    [JsonPropertyName("members")] public List<MemberStatus> Members { get; init; } = [];
}

public sealed class MemberStatus
{
    [JsonPropertyName("node_id")] public string NodeId { get; init; } = "";
    [JsonPropertyName("address")] public string Address { get; init; } = "";
    /// <summary>alive, suspect, dead or left (SWIM).</summary>
    [JsonPropertyName("status")] public string Status { get; init; } = "";
    [JsonPropertyName("incarnation")] public ulong Incarnation { get; init; }
}

public sealed class WorkerStatus
{
    [JsonPropertyName("slot")] public int Slot { get; init; }
    /// <summary>"http" or "task".</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "http";
    [JsonPropertyName("pid")] public int Pid { get; init; }
    [JsonPropertyName("state")] public string State { get; init; } = "";
    /// <summary>Requests answered by this process, as it last reported (once a second).</summary>
    [JsonPropertyName("requests")] public long Requests { get; init; }
    [JsonPropertyName("rss_bytes")] public long RssBytes { get; init; }
    [JsonPropertyName("uptime_seconds")] public double UptimeSeconds { get; init; }
}

/// <summary>
/// The supervisor's admin endpoint, bound to 127.0.0.1 only: <c>GET /status</c>,
/// <c>POST /reload</c>, <c>POST /stop</c>. Octane's status/reload/stop commands use it.
/// </summary>
internal sealed class AdminEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    public AdminEndpoint(Supervisor supervisor, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        _app = builder.Build();
        _app.MapGet("/status", () => Results.Json(supervisor.Status()));
        _app.MapPost("/reload", () =>
        {
            _ = supervisor.ReloadAsync();
            return Results.Json(new Dictionary<string, bool> { ["reloading"] = true }, statusCode: 202);
        });
        _app.MapPost("/stop", () =>
        {
            supervisor.RequestStop();
            return Results.Json(new Dictionary<string, bool> { ["stopping"] = true }, statusCode: 202);
        });
    }

    public Task StartAsync() => _app.StartAsync();

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(TimeSpan.FromSeconds(2)); } catch (Exception) { }
        await _app.DisposeAsync();
    }

    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
