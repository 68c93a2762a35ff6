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
    /// <summary>HTTP worker slots: the fixed count, or with autoscaling the most (--workers-max), whose listening sockets are all made at start.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
    /// <summary>
    /// Autoscaling (docs/lifecycle.md): the fewest HTTP workers that take new connections
    /// (--workers-min); 0 = off, <see cref="Workers"/> fixed. With it, <see cref="Workers"/> is --workers-max.
    /// </summary>
    public int WorkersMin { get; init; }
    /// <summary>Autoscaling: booted workers kept idle above the active ones (--workers-spare), so scaling up needs no boot.</summary>
    public int WorkersSpare { get; init; } = 1;
    /// <summary>True when the HTTP worker count follows the load (<see cref="WorkersMin"/> &gt; 0).</summary>
    public bool Autoscale => WorkersMin > 0;
    /// <summary>
    /// How new connections are spread over the HTTP workers (--spread): round-robin by a BPF
    /// reuseport program (default; the kernel's hash when it cannot load) or the kernel's hash.
    /// The supervisor's alone: workers are not told.
    /// </summary>
    public Supervision.SpreadMode Spread { get; init; } = Supervision.SpreadMode.Bpf;
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
    /// <summary>
    /// Bearer token of the admin endpoint's state-changing calls (--admin-token or ASKR_ADMIN_TOKEN);
    /// null: the supervisor generates one at start. Kept from workers (never in their arguments or environment).
    /// </summary>
    public string? AdminToken { get; init; }
    /// <summary>
    /// Serve static files through symbolic links that lead outside the document root (true, as
    /// nginx does by default) or refuse them (--static-follow-symlinks no): docs/runtime.md.
    /// </summary>
    public bool StaticFollowSymlinks { get; init; } = true;
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
    /// <summary>Bytes of the node's response cache (docs/response-cache.md); 0 = off.</summary>
    public long ResponseCacheBytes { get; init; }
    /// <summary>Largest response the cache stores, bytes (larger ones pass through).</summary>
    public long ResponseCacheMaxEntryBytes { get; init; } = 8 * 1024 * 1024;
    /// <summary>Cookie names (a trailing * matches a prefix) that do not make a request personal for the cache.</summary>
    public IReadOnlyList<string> ResponseCacheIgnoreCookies { get; init; } = [];
    /// <summary>The response cache file workers map (set by the supervisor, not by users).</summary>
    public string? ResponseCachePath { get; init; }
    /// <summary>Pusher apps served on the HTTP port (--pusher-app id:key:secret, docs/websockets.md); none: no WebSocket endpoint.</summary>
    public IReadOnlyList<WebSockets.Pusher.PusherApp> PusherApps { get; init; } = [];
    /// <summary>Webhook URL per Pusher app id (--pusher-webhook [ID=]URL; the supervisor sends them, docs/websockets.md).</summary>
    public IReadOnlyDictionary<string, Uri> PusherWebhooks { get; init; } = new Dictionary<string, Uri>();
    /// <summary>The Pusher protocol's limits and timeouts (--pusher-activity-timeout, --pusher-max-message-size, ...).</summary>
    public WebSockets.Pusher.PusherLimits PusherLimits { get; init; } = new();
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
    // ---- request lifecycle (docs/lifecycle.md) ----
    /// <summary>Directory where each 5xx that PHP produced is recorded as one JSON file; null = no recording.</summary>
    public string? RecordErrors { get; init; }
    /// <summary>Record Authorization, Cookie and the <see cref="RecordRedact"/> fields as they were (--record-sensitive).</summary>
    public bool RecordSensitive { get; init; }
    /// <summary>Header and body field names redacted in records, besides Authorization, Proxy-Authorization and Cookie.</summary>
    public IReadOnlyList<string> RecordRedact { get; init; } = Lifecycle.ErrorRecorder.DefaultFields;
    /// <summary>Most record files kept in <see cref="RecordErrors"/>; the oldest go first.</summary>
    public int RecordMaxFiles { get; init; } = 1000;
    /// <summary>Most bytes of record files kept in <see cref="RecordErrors"/>; the oldest go first.</summary>
    public long RecordMaxBytes { get; init; } = 100 * 1024 * 1024;

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
    /// <summary>The node's Pusher event ring workers map (set by the supervisor, not by users).</summary>
    public string? PusherRingPath { get; init; }
    /// <summary>Bytes of the node's Pusher event ring (--pusher-ring-size; its largest event is an eighth).</summary>
    public long PusherRingBytes { get; init; } = 4 * 1024 * 1024;
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
        // Workers report their load 4 times a second when the supervisor scales on it (WorkerLifecycle).
        if (Autoscale) { yield return "--workers-min"; yield return WorkersMin.ToString(); yield return "--workers-max"; yield return Workers.ToString(); }
        yield return "--max-body-size"; yield return MaxBodySize.ToString();
        yield return "--request-timeout"; yield return RequestTimeoutSeconds.ToString();
        yield return "--max-queue"; yield return MaxQueue.ToString();
        yield return "--log-format"; yield return LogFormat.ToString().ToLowerInvariant();
        yield return "--log-level"; yield return LogLevel.ToString().ToLowerInvariant();
        if (!AccessLog) yield return "--no-access-log";
        if (!StaticFollowSymlinks) { yield return "--static-follow-symlinks"; yield return "no"; }
        foreach (var ini in PhpIni) { yield return "--php-ini"; yield return ini; }
        foreach (var app in PusherApps) { yield return "--pusher-app"; yield return app.ToString(); }
        if (PusherApps.Count > 0)
        {
            yield return "--pusher-activity-timeout"; yield return PusherLimits.ActivityTimeoutSeconds.ToString();
            yield return "--pusher-pong-timeout"; yield return PusherLimits.PongTimeoutSeconds.ToString();
            yield return "--pusher-max-message-size"; yield return PusherLimits.MaxMessageBytes.ToString();
            yield return "--pusher-client-events-per-second"; yield return PusherLimits.ClientEventsPerSecond.ToString();
            yield return "--pusher-max-queued-frames"; yield return PusherLimits.MaxQueuedFrames.ToString();
            yield return "--pusher-max-connections"; yield return PusherLimits.MaxConnectionsPerApp.ToString();
        }
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
        if (RecordErrors is not null)
        {
            yield return "--record-errors"; yield return RecordErrors;
            if (RecordSensitive) yield return "--record-sensitive";
            yield return "--record-redact"; yield return string.Join(',', RecordRedact);
            yield return "--record-max-files"; yield return RecordMaxFiles.ToString();
            yield return "--record-max-bytes"; yield return RecordMaxBytes.ToString();
        }
        if (StorePath is not null) { yield return "--store"; yield return StorePath; }
        if (TaskBoardPath is not null) { yield return "--task-board"; yield return TaskBoardPath; }
        if (ResponseCachePath is not null)
        {
            yield return "--response-cache-file"; yield return ResponseCachePath;
            if (ResponseCacheIgnoreCookies.Count > 0) { yield return "--response-cache-ignore-cookies"; yield return string.Join(",", ResponseCacheIgnoreCookies); }
        }
        if (VarsPath is not null) { yield return "--vars"; yield return VarsPath; }
        if (PusherRingPath is not null) { yield return "--pusher-ring"; yield return PusherRingPath; }
    }
}
