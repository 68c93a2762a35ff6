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
    // ---- TLS, HTTP/2 and the HTTP front (docs/tls.md) ----
    /// <summary>Port of the HTTPS listener (HTTP/1.1 and HTTP/2 by ALPN); 0 = none.</summary>
    public int HttpsPort { get; init; }
    /// <summary>PEM certificate of the HTTPS port (may hold the chain after the leaf); reloaded on SIGHUP.</summary>
    public string? Certificate { get; init; }
    /// <summary>PEM private key of <see cref="Certificate"/> (default: in the certificate file).</summary>
    public string? Key { get; init; }
    /// <summary>Serve a cached self-signed development certificate (made by the supervisor) when no --certificate is given.</summary>
    public bool HttpsDev { get; init; }
    /// <summary>The plain-HTTP listener (--port) is on; --no-http turns it off (HTTPS only).</summary>
    public bool HttpEnabled { get; init; } = true;
    /// <summary>The plain port speaks HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) instead of HTTP/1.1.</summary>
    public bool Http2Cleartext { get; init; }
    /// <summary>Answer plain-HTTP requests with 308 to the HTTPS port.</summary>
    public bool HttpRedirect { get; init; }
    /// <summary>Strict-Transport-Security max-age in seconds on HTTPS responses (RFC 6797); 0 = no header.</summary>
    public int HstsMaxAgeSeconds { get; init; }

    /// <summary>gzip and Brotli for PHP responses and static files, precompressed .br/.gz files (docs/tls.md); --no-compression turns it off.</summary>
    public bool Compression { get; init; } = true;
    /// <summary>Responses that declare a smaller Content-Length are sent uncompressed, in bytes.</summary>
    public long CompressionMinSize { get; init; } = 512;

    /// <summary>Directories X-Sendfile / X-Accel-Redirect may name files in; empty: those headers are passed on as PHP sent them.</summary>
    public IReadOnlyList<string> SendfileRoots { get; init; } = [];

    /// <summary>The store file a worker maps (set by the supervisor, not by users).</summary>
    public string? StorePath { get; init; }
    /// <summary>The task board file (docs/tasks.md) workers map (set by the supervisor, not by users).</summary>
    public string? TaskBoardPath { get; init; }

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
        if (HttpsPort > 0) { yield return "--https-port"; yield return HttpsPort.ToString(); }
        if (Certificate is not null) { yield return "--certificate"; yield return Certificate; }
        if (Key is not null) { yield return "--key"; yield return Key; }
        if (!HttpEnabled) yield return "--no-http";
        if (Http2Cleartext) yield return "--http2-cleartext";
        if (HttpRedirect) yield return "--http-redirect";
        if (HstsMaxAgeSeconds > 0) { yield return "--hsts-max-age"; yield return HstsMaxAgeSeconds.ToString(); }
        foreach (var root in SendfileRoots) { yield return "--sendfile-root"; yield return root; }
        if (!Compression) yield return "--no-compression";
        yield return "--compression-min-size"; yield return CompressionMinSize.ToString();
        if (StorePath is not null) { yield return "--store"; yield return StorePath; }
        if (TaskBoardPath is not null) { yield return "--task-board"; yield return TaskBoardPath; }
    }
}
