using System.Net;
using System.Security.Cryptography;
using System.Text;
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
    /// <summary>How new connections are spread over the HTTP workers: "bpf" (round-robin) or "hash" (the kernel's; --spread hash, or the program could not load).</summary>
    [JsonPropertyName("spread")] public string Spread { get; init; } = "hash";
    [JsonPropertyName("workers")] public List<WorkerStatus> Workers { get; init; } = [];
    /// <summary>HTTP workers that take new connections: with autoscaling the active slots [0, N) of the BPF program; otherwise every HTTP slot.</summary>
    [JsonPropertyName("workers_active")] public int WorkersActive { get; init; }
    /// <summary>The fewest and most HTTP workers (--workers-min, --workers-max); both the fixed --workers without autoscaling.</summary>
    [JsonPropertyName("workers_min")] public int WorkersMin { get; init; }
    [JsonPropertyName("workers_max")] public int WorkersMax { get; init; }
    /// <summary>True when the HTTP worker count follows the load (docs/lifecycle.md, "Autoscaling").</summary>
    [JsonPropertyName("autoscale")] public bool Autoscale { get; init; }
    [JsonPropertyName("requests_total")] public long RequestsTotal => Workers.Sum(w => w.Requests);
    [JsonPropertyName("restarts")] public long Restarts { get; init; }
    /// <summary>This node's view of its cluster; null when it is not in one.</summary>
    [JsonPropertyName("cluster")] public ClusterStatus? Cluster { get; init; }
    /// <summary>The node's response cache counters; null when it runs none (docs/response-cache.md).</summary>
    [JsonPropertyName("response_cache")] public ResponseCache.CacheStatus? ResponseCache { get; init; }
    /// <summary>The background workers (docs/background-workers.md); null when askr serve declares none.</summary>
    [JsonPropertyName("background_workers")] public List<Background.BackgroundWorkerStatus>? Background { get; init; }
    /// <summary>The supervisor's own RSS and PSS (<see cref="ProcessMemory"/>).</summary>
    [JsonPropertyName("memory")] public ProcessMemory Memory { get; init; }
    /// <summary>PSS of the supervisor, its workers and its background workers, in bytes: what the node's processes use together (shared pages counted once).</summary>
    [JsonPropertyName("node_pss_bytes")] public long NodePssBytes => Memory.PssBytes + Workers.Sum(w => w.Memory.PssBytes) + (Background?.Sum(b => b.Memory.PssBytes) ?? 0);
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
    /// <summary>Resident set size, in bytes (<see cref="ProcessMemory.RssBytes"/>).</summary>
    [JsonPropertyName("rss_bytes")] public long RssBytes => Memory.RssBytes;
    /// <summary>RSS and PSS with PSS's anonymous/file/shmem split (<see cref="ProcessMemory"/>).</summary>
    [JsonPropertyName("memory")] public ProcessMemory Memory { get; init; }
    [JsonPropertyName("uptime_seconds")] public double UptimeSeconds { get; init; }
}

/// <summary>
/// The supervisor's admin endpoint, bound to 127.0.0.1 only: <c>GET /status</c>,
/// <c>POST /reload</c>, <c>POST /stop</c>. Octane's status/reload/stop commands use it.
///
/// Who may call it (docs/runtime.md, "Admin endpoint"): every POST needs
/// <c>Authorization: Bearer &lt;token&gt;</c> (RFC 6750), so neither a browser's cross-site form post
/// nor another local user can reload or stop the server; a request carrying an <c>Origin</c> other
/// than the endpoint's own, or a <c>Host</c> that is not a loopback name, is refused with 403 before
/// anything else (a web page's fetch, DNS rebinding). Reads (<c>GET /status</c>) need no token:
/// <c>GET /metrics</c> (Prometheus text format, Askr.Metrics) is a read too.
/// The same checks keep browsers out, and what reads show (pids, counts, RSS) is what
/// <c>ps</c> already shows any local user.
/// With a response cache, also <c>POST /cache/purge</c> (ResponseCache.AdminPurge), under the same token.
/// </summary>
internal sealed class AdminEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly byte[] _tokenHash;
    private readonly int _port;

    public AdminEndpoint(Supervisor supervisor, int port, string token)
    {
        _port = port;
        _tokenHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        _app = builder.Build();
        _app.Use(async (context, next) =>
        {
            if (Refusal(context.Request) is { } refusal)
            {
                context.Response.StatusCode = refusal.Status;
                if (refusal.Status == 401) context.Response.Headers.WWWAuthenticate = "Bearer realm=\"askr admin\"";
                await context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = refusal.Message });
                return;
            }
            await next(context);
        });
        _app.MapGet("/status", () => Results.Json(supervisor.Status()));
        _app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await supervisor.Metrics.WriteAsync(context.Response.Body, context.RequestAborted);
        });
        _app.MapPost("/reload", () =>
        {
            _ = supervisor.ReloadAsync();
            return Results.Json(new Dictionary<string, bool> { ["reloading"] = true }, statusCode: 202);
        });
        if (supervisor.ResponseCache is { } cache)
            ResponseCache.AdminPurge.Map(_app, cache, supervisor.Store);
        _app.MapPost("/stop", () =>
        {
            supervisor.RequestStop();
            return Results.Json(new Dictionary<string, bool> { ["stopping"] = true }, statusCode: 202);
        });
    }

    /// <summary>The environment variable that gives askr serve its admin token (as --admin-token does); kept from workers.</summary>
    public const string TokenVariable = "ASKR_ADMIN_TOKEN";

    /// <summary>A fresh token: 32 random bytes, hex (64 characters).</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private (int Status, string Message)? Refusal(HttpRequest request)
    {
        var host = request.Host;
        // No Host at all (HTTP/1.0) cannot be a rebound name.
        if (host.HasValue && (!IsLoopbackName(host.Host) || (host.Port is { } p && p != _port)))
            return (403, "Host must be 127.0.0.1, [::1] or localhost with the admin port");
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsOwnOrigin(origin))
            return (403, $"requests from {origin} are refused");
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) return null;
        var authorization = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return (401, "this call needs Authorization: Bearer <admin token>");
        // Hashes compared in fixed time: the comparison's duration says nothing about the token.
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _tokenHash) ? null : (401, "wrong admin token");
    }

    private static bool IsLoopbackName(string host) =>
        host is "127.0.0.1" or "localhost" or "[::1]";

    private bool IsOwnOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme == "http"
        && IsLoopbackName(uri.Host) && uri.Port == _port;

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
