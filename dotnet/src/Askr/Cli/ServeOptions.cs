using Askr.Logging;

namespace Askr.Cli;

/// <summary>
/// The options of <c>askr serve</c>, which the supervisor also hands to each worker process.
/// Reference: docs/runtime.md.
/// </summary>
public sealed record ServeOptions
{
    /// <summary>Document root: static files are served from here; PHP runs with it as working directory.</summary>
    public required string Root { get; init; }
    /// <summary>The PHP script each worker runs: it loops on Ephpm\Octane\take_request().</summary>
    public required string WorkerScript { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 lets the kernel choose (the chosen port is logged).</summary>
    public int Port { get; init; } = 8000;
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>Requests after which a worker process is replaced; 0 = never.</summary>
    public long MaxRequests { get; init; }
    /// <summary>Largest request body accepted, in bytes; larger ones get 413.</summary>
    public long MaxBodySize { get; init; } = 10 * 1024 * 1024;
    /// <summary>Seconds a request may run in PHP before the client gets 504; 0 = no limit.</summary>
    public int RequestTimeoutSeconds { get; init; } = 60;
    /// <summary>Requests that may wait for a worker's PHP thread; more get 503.</summary>
    public int MaxQueue { get; init; } = 128;
    /// <summary>Loopback port of the admin endpoint; 0 = none.</summary>
    public int AdminPort { get; init; }
    public LogFormat LogFormat { get; init; } = LogFormat.Text;
    public LogLevel LogLevel { get; init; } = LogLevel.Info;
    public bool AccessLog { get; init; } = true;
    /// <summary>Extra php.ini entries ("key=value"), applied after php.ini.</summary>
    public IReadOnlyList<string> PhpIni { get; init; } = [];
    /// <summary>JSON file declaring the node's tables (docs/tables.md); null = no tables.</summary>
    public string? TablesConfig { get; init; }
    /// <summary>Port of the RESP endpoint; 0 = none.</summary>
    public int RespPort { get; init; }
    /// <summary>Address of the RESP endpoint (loopback unless asked otherwise).</summary>
    public string RespHost { get; init; } = "127.0.0.1";
    /// <summary>Password RESP clients must give with AUTH; null = none. Also from ASKR_RESP_PASSWORD.</summary>
    public string? RespPassword { get; init; }
    /// <summary>
    /// Redis' protected mode: refuse to start with a <see cref="RespHost"/> that is not loopback and
    /// no <see cref="RespPassword"/> (--resp-protected-mode yes, the default).
    /// </summary>
    public bool RespProtectedMode { get; init; } = true;
    /// <summary>Most reply bytes a RESP client may leave unread before it is closed (Redis' client-output-buffer-limit); 0 = no limit.</summary>
    public long RespOutputBufferLimit { get; init; } = Resp.RespLimits.Default.MaxOutputBytes;
    /// <summary>Task worker processes (Octane::concurrently, ticks); 0 = none.</summary>
    public int TaskWorkers { get; init; }
    /// <summary>Port of the cluster endpoint (gRPC); 0 = this node is not in a cluster.</summary>
    public int ClusterPort { get; init; }
    /// <summary>Address the cluster endpoint binds.</summary>
    public string ClusterHost { get; init; } = "127.0.0.1";
    /// <summary>host:port other nodes reach this one at; default ClusterHost:ClusterPort.</summary>
    public string? ClusterAdvertise { get; init; }
    /// <summary>host:port of nodes to join through.</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];
    /// <summary>Shared secret of the cluster (--cluster-secret or ASKR_CLUSTER_SECRET).</summary>
    public string? ClusterSecret { get; init; }
    /// <summary>PEM file of the cluster's TLS certificate (the same on every node); null: h2c.</summary>
    public string? ClusterCertificate { get; init; }
    /// <summary>PEM file of its private key (default: the certificate file itself).</summary>
    public string? ClusterKey { get; init; }
    /// <summary>The store file a worker maps (set by the supervisor, not by users).</summary>
    public string? StorePath { get; init; }
    /// <summary>The task board file (docs/tasks.md) workers map (set by the supervisor, not by users).</summary>
    public string? TaskBoardPath { get; init; }

    // ---- background workers (docs/background-workers.md) ----
    /// <summary>--background-worker NAME=SCRIPT[:num=N][:lazy], each.</summary>
    public IReadOnlyList<Background.BackgroundWorkerSpec> BackgroundWorkers { get; init; } = [];
    /// <summary>--background-entrypoint: a script that runs any name ensure_background_worker() asks for; null = none.</summary>
    public string? BackgroundEntrypoint { get; init; }
    /// <summary>How many distinct names the catch-all may run (--background-entrypoint-cap).</summary>
    public int BackgroundEntrypointCap { get; init; } = 16;
    /// <summary>Seconds a stopping background worker has before it is killed (--background-grace).</summary>
    public double BackgroundGraceSeconds { get; init; } = 5;
    /// <summary>Largest serialized snapshot set_vars() takes, in bytes (--background-vars-limit).</summary>
    public long BackgroundVarsLimit { get; init; } = 16 * 1024 * 1024;
    /// <summary>Failed attempts in a row, before a background worker first published, that stop askr serve's start-up (--background-max-failures; 0: never).</summary>
    public int BackgroundMaxFailures { get; init; } = 6;
    /// <summary>The vars file workers map (set by the supervisor, not by users).</summary>
    public string? VarsPath { get; init; }
    /// <summary>Whether askr serve runs background workers at all.</summary>
    public bool HasBackgroundWorkers => BackgroundWorkers.Count > 0 || BackgroundEntrypoint is not null;

    /// <summary>The options as command-line arguments, for a worker process.</summary>
    public IEnumerable<string> ToArguments()
    {
        yield return "--root"; yield return Root;
        yield return "--worker-script"; yield return WorkerScript;
        yield return "--host"; yield return Host;
        yield return "--port"; yield return Port.ToString();
        yield return "--max-requests"; yield return MaxRequests.ToString();
        yield return "--max-body-size"; yield return MaxBodySize.ToString();
        yield return "--request-timeout"; yield return RequestTimeoutSeconds.ToString();
        yield return "--max-queue"; yield return MaxQueue.ToString();
        yield return "--log-format"; yield return LogFormat.ToString().ToLowerInvariant();
        yield return "--log-level"; yield return LogLevel.ToString().ToLowerInvariant();
        if (!AccessLog) yield return "--no-access-log";
        foreach (var ini in PhpIni) { yield return "--php-ini"; yield return ini; }
        if (StorePath is not null) { yield return "--store"; yield return StorePath; }
        if (TaskBoardPath is not null) { yield return "--task-board"; yield return TaskBoardPath; }
        if (VarsPath is not null) { yield return "--vars"; yield return VarsPath; }
    }
}
