using System.CommandLine;
using Askr.Cli;
using Askr.Logging;
using Askr.Php;
using Askr.Supervision;
using Askr.Worker;
using Askr.Tasks;

namespace Askr;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "serve")
        {
            // The supervisor's sockets (RESP, cluster, control) complete on the socket engine's
            // own threads instead of a thread-pool hop per read: half the CPU per RESP request
            // (docs/resp.md). Read once, when the socket engine starts, hence here. Workers are
            // started without it (WorkerCommandLine).
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }
        NativeLoader.Register();

        var root = new RootCommand("askr: a C# runtime that embeds PHP and serves Laravel Octane apps with Kestrel.");

        var serveOptions = new OptionSet();
        var serve = new Command("serve", "Start the supervisor and its PHP worker processes.");
        serveOptions.AddTo(serve);
        serve.SetAction(async (parse, _) =>
        {
            var options = serveOptions.Bind(parse);
            if (options is null) return 2;
            LogWriter.Current = new LogWriter(options.LogFormat, options.LogLevel);
            options = Tls.TlsStartup.Prepare(options, LogWriter.Current);
            if (options is null) { LogWriter.Current.Flush(TimeSpan.FromSeconds(2)); return 1; }
            await using var supervisor = new Supervisor(options, LogWriter.Current);
            var code = await supervisor.RunAsync();
            LogWriter.Current.Flush(TimeSpan.FromSeconds(2));
            return code;
        });
        root.Subcommands.Add(serve);

        var workerOptions = new OptionSet();
        var worker = new Command("worker", "Run one worker process (started by `askr serve`).") { Hidden = true };
        workerOptions.AddTo(worker);
        WorkerCommandLine.AddTo(worker);
        worker.SetAction(async (parse, _) =>
        {
            var options = workerOptions.Bind(parse);
            if (options is null || WorkerCommandLine.Bind(parse, options) is not { } line) return 2;
            LogWriter.Current = new LogWriter(options.LogFormat, options.LogLevel);
            return line.Kind switch
            {
                WorkerKind.Task => await TaskWorkerHost.RunAsync(options, line.Slot, line.ControlPath!, line.TaskSocket, line.BoardSlot),
                WorkerKind.Background => await Background.BackgroundWorkerHost.RunAsync(options, line.Slot, line.ControlPath!),
                _ => await HttpWorkerHost.RunAsync(options, line.Slot, line.ListenFd, line.ControlPath, line.HttpsListenFd),
            };
        });
        root.Subcommands.Add(worker);

        var doctor = new Command("doctor", "Check that PHP, its extensions, OPcache and the shim work here.");
        var doctorIni = new Option<string[]>("--php-ini") { Description = "Extra php.ini entries (key=value)." };
        doctor.Options.Add(doctorIni);
        doctor.SetAction(parse => Doctor.Run(parse.GetValue(doctorIni) ?? []));
        root.Subcommands.Add(doctor);

        root.Subcommands.Add(Lifecycle.ReplayCommand.Create());
        root.Subcommands.Add(Lifecycle.TestCommand.Create());

        // Signals are handled by the supervisor and workers themselves (graceful drain), not by the parser.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>The options shared by <c>serve</c> and <c>worker</c> (docs/runtime.md).</summary>
    private sealed class OptionSet
    {
        private readonly Option<string> _root = new("--root") { Description = "Document root (static files; PHP's working directory).", Required = true };
        private readonly Option<string> _script = new("--worker-script") { Description = "PHP worker script that loops on Ephpm\\Octane\\take_request().", Required = true };
        private readonly Option<string> _host = new("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        private readonly Option<int> _port = new("--port") { Description = "TCP port (0: any free port).", DefaultValueFactory = _ => 8000 };
        private readonly Option<int> _workers = new("--workers") { Description = "HTTP worker processes.", DefaultValueFactory = _ => Environment.ProcessorCount };
        private readonly Option<int> _workersMin = new("--workers-min") { Description = "Autoscaling: fewest HTTP workers taking new connections (with --workers-max; needs --spread bpf; docs/lifecycle.md).", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _workersMax = new("--workers-max") { Description = "Autoscaling: most HTTP workers; their listening sockets are made at start.", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _workersSpare = new("--workers-spare") { Description = "Autoscaling: booted idle workers kept above the active ones, so a spike is met without a boot.", DefaultValueFactory = _ => 1 };
        private readonly Option<string> _spread = new("--spread") { Description = "bpf: new connections go to the workers in turn (a BPF reuseport program; the kernel's hash when it cannot load); hash: the kernel's SO_REUSEPORT hash.", DefaultValueFactory = _ => "bpf" };
        private readonly Option<long> _maxRequests = new("--max-requests") { Description = "Requests after which a worker process is replaced (0: never).", DefaultValueFactory = _ => 0 };
        private readonly Option<long> _maxBody = new("--max-body-size") { Description = "Largest request body in bytes (larger: 413).", DefaultValueFactory = _ => 10 * 1024 * 1024 };
        private readonly Option<int> _timeout = new("--request-timeout") { Description = "Seconds a request may run in PHP (then 504); 0: no limit.", DefaultValueFactory = _ => 60 };
        private readonly Option<int> _maxQueue = new("--max-queue") { Description = "Requests that may wait per worker (more: 503).", DefaultValueFactory = _ => 128 };
        private readonly Option<int> _admin = new("--admin-port") { Description = "Loopback port of the admin endpoint (0: none).", DefaultValueFactory = _ => 0 };
        private readonly Option<string?> _adminToken = new("--admin-token") { Description = "Bearer token the admin endpoint's POST calls need (at least 16 characters); default: env ASKR_ADMIN_TOKEN, else one is generated and logged at start." };
        private readonly Option<string> _staticSymlinks = new("--static-follow-symlinks") { Description = "yes: static files are served through symbolic links wherever they point (nginx's default); no: not when the link leads outside --root.", DefaultValueFactory = _ => "yes" };
        private readonly Option<string> _format = new("--log-format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        private readonly Option<string> _level = new("--log-level") { Description = "debug, info, warning or error.", DefaultValueFactory = _ => "info" };
        private readonly Option<bool> _noAccessLog = new("--no-access-log") { Description = "Do not log one line per request." };
        private readonly Option<string[]> _ini = new("--php-ini") { Description = "Extra php.ini entry key=value (repeatable)." };
        private readonly Option<string?> _tables = new("--tables") { Description = "JSON file declaring Octane's tables and cache table (docs/tables.md)." };
        private readonly Option<int> _respPort = new("--resp-port") { Description = "Port of the RESP (Redis protocol) endpoint over the tables (0: none).", DefaultValueFactory = _ => 0 };
        private readonly Option<string> _respHost = new("--resp-host") { Description = "Address of the RESP endpoint.", DefaultValueFactory = _ => "127.0.0.1" };
        private readonly Option<string?> _respPassword = new("--resp-password") { Description = "Password for RESP clients (AUTH); default: env ASKR_RESP_PASSWORD." };
        private readonly Option<string> _respProtectedMode = new("--resp-protected-mode") { Description = "yes: refuse to start with a --resp-host that is not loopback and no password (Redis' protected mode); no: allow it.", DefaultValueFactory = _ => "yes" };
        private readonly Option<long> _respOutputLimit = new("--resp-output-buffer-limit") { Description = "Most reply bytes a RESP client may leave unread; a reply past it closes the client (0: no limit).", DefaultValueFactory = _ => Resp.RespLimits.Default.MaxOutputBytes };
        private readonly Option<int> _clusterPort = new("--cluster-port") { Description = "Port of this node's cluster endpoint (gRPC over HTTP/2); 0: no cluster.", DefaultValueFactory = _ => 0 };
        private readonly Option<string> _clusterHost = new("--cluster-host") { Description = "Address the cluster endpoint binds.", DefaultValueFactory = _ => "127.0.0.1" };
        private readonly Option<string?> _clusterAdvertise = new("--cluster-advertise") { Description = "host:port other nodes reach this one at (default: --cluster-host:--cluster-port)." };
        private readonly Option<string?> _seeds = new("--seeds") { Description = "host:port,... of nodes to join through." };
        private readonly Option<string?> _clusterSecret = new("--cluster-secret") { Description = "Shared secret of the cluster; default: env ASKR_CLUSTER_SECRET." };
        private readonly Option<string?> _clusterCertificate = new("--cluster-certificate") { Description = "PEM certificate of the cluster (the same on every node): cluster traffic uses TLS." };
        private readonly Option<string?> _clusterKey = new("--cluster-key") { Description = "PEM private key of --cluster-certificate (default: in the certificate file)." };
        private readonly Option<int> _taskWorkers = new("--task-workers") { Description = "Task worker processes for Octane::concurrently() and ticks (0: none).", DefaultValueFactory = _ => 0 };
        private readonly Option<string[]> _pusherApps = new("--pusher-app") { Description = "A Pusher app served on the HTTP port, id:key:secret (repeatable; docs/websockets.md)." };
        private readonly Option<int> _pusherActivity = new("--pusher-activity-timeout") { Description = "Seconds of silence before a pusher:ping (sent to clients as activity_timeout).", DefaultValueFactory = _ => 30 };
        private readonly Option<int> _pusherPong = new("--pusher-pong-timeout") { Description = "Seconds to wait for the pong to the server's ping before closing with 4201.", DefaultValueFactory = _ => 30 };
        private readonly Option<int> _pusherMaxMessage = new("--pusher-max-message-size") { Description = "Largest client message in bytes (larger: pusher:error, dropped).", DefaultValueFactory = _ => 10_000 };
        private readonly Option<int> _pusherClientEvents = new("--pusher-client-events-per-second") { Description = "Client events a connection may send per second (more: closed with 4301).", DefaultValueFactory = _ => 10 };
        private readonly Option<string[]> _pusherWebhooks = new("--pusher-webhook") { Description = "Where to POST a Pusher app's webhooks: URL (every app) or ID=URL (repeatable; docs/websockets.md)." };
        private readonly Option<int> _pusherMaxConnections = new("--pusher-max-connections") { Description = "Connections each Pusher app may have open on the node (0: unlimited); more: pusher:error and close 4004.", DefaultValueFactory = _ => 0 };
        private readonly Option<int> _pusherQueue = new("--pusher-max-queued-frames") { Description = "Frames queued for a client that does not read before it is closed with 4100.", DefaultValueFactory = _ => 1024 };
        private readonly Option<long> _pusherRingSize = new("--pusher-ring-size") { Description = "Bytes of the node's shared-memory ring that carries Pusher events between workers (its largest event is an eighth).", DefaultValueFactory = _ => 4 * 1024 * 1024 };
        private readonly Option<string?> _pusherRing = new("--pusher-ring") { Description = "Pusher event ring file (given to workers by the supervisor).", Hidden = true };
        // TLS, HTTP/2 and the HTTP front (docs/tls.md)
        private readonly Option<int> _httpsPort = new("--https-port") { Description = "Port of the HTTPS listener (HTTP/1.1, and HTTP/2 by ALPN); 0: none.", DefaultValueFactory = _ => 0 };
        private readonly Option<string?> _certificate = new("--certificate") { Description = "PEM certificate of --https-port (the chain may follow the leaf); reloaded on SIGHUP." };
        private readonly Option<string?> _key = new("--key") { Description = "PEM private key of --certificate (default: in the certificate file)." };
        private readonly Option<bool> _httpsDev = new("--https-dev") { Description = "Serve --https-port with a self-signed development certificate, made once and cached in ~/.cache/askr." };
        private readonly Option<bool> _noHttp = new("--no-http") { Description = "No plain-HTTP listener: serve --https-port only." };
        private readonly Option<bool> _h2c = new("--http2-cleartext") { Description = "The plain port speaks HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1." };
        private readonly Option<bool> _httpRedirect = new("--http-redirect") { Description = "Answer plain-HTTP requests with 308 to the HTTPS port." };
        private readonly Option<bool> _hsts = new("--hsts") { Description = "Send Strict-Transport-Security on HTTPS responses (max-age: --hsts-max-age)." };
        private readonly Option<int> _hstsMaxAge = new("--hsts-max-age") { Description = "Strict-Transport-Security max-age in seconds (implies --hsts).", DefaultValueFactory = _ => 0 };
        private readonly Option<bool> _noCompression = new("--no-compression") { Description = "Do not compress responses (gzip, Brotli) nor serve precompressed .br/.gz static files." };
        private readonly Option<long> _compressionMinSize = new("--compression-min-size") { Description = "Responses with a smaller Content-Length are not compressed, in bytes.", DefaultValueFactory = _ => 512 };
        private readonly Option<string[]> _sendfileRoot = new("--sendfile-root") { Description = "Directory X-Sendfile / X-Accel-Redirect responses may send files from (repeatable)." };
        private readonly Option<string?> _recordErrors = new("--record-errors") { Description = "Directory where each 5xx that PHP produced is recorded as one JSON file, for askr replay (docs/lifecycle.md)." };
        private readonly Option<bool> _recordSensitive = new("--record-sensitive") { Description = "Record Authorization, Cookie and the --record-redact fields unredacted." };
        private readonly Option<string?> _recordRedact = new("--record-redact") { Description = "Comma-separated header and body field names to redact besides Authorization and Cookie (default: password,password_confirmation,current_password)." };
        private readonly Option<int> _recordMaxFiles = new("--record-max-files") { Description = "Most record files kept; the oldest are removed first.", DefaultValueFactory = _ => 1000 };
        private readonly Option<long> _recordMaxBytes = new("--record-max-bytes") { Description = "Most bytes of record files kept; the oldest are removed first.", DefaultValueFactory = _ => 100 * 1024 * 1024 };
        private readonly Option<string[]> _backgroundWorker = new("--background-worker") { Description = "A background worker NAME=SCRIPT[:num=N][:lazy][:scope=cluster] (repeatable; docs/background-workers.md)." };
        private readonly Option<string?> _backgroundEntrypoint = new("--background-entrypoint") { Description = "A catch-all script that runs any background worker name ensure_background_worker() asks for." };
        private readonly Option<int> _backgroundCap = new("--background-entrypoint-cap") { Description = "Most distinct names the catch-all runs.", DefaultValueFactory = _ => 16 };
        private readonly Option<double> _backgroundGrace = new("--background-grace") { Description = "Seconds a stopping background worker has before it is killed.", DefaultValueFactory = _ => 5 };
        private readonly Option<long> _backgroundLimit = new("--background-vars-limit") { Description = "Largest serialized snapshot set_vars() takes, in bytes.", DefaultValueFactory = _ => 16 * 1024 * 1024 };
        private readonly Option<int> _backgroundMaxFailures = new("--background-max-failures") { Description = "Failed attempts in a row of a background worker that never published that stop askr serve (0: never).", DefaultValueFactory = _ => 6 };
        private readonly Option<string?> _vars = new("--vars") { Description = "Background-worker vars file (given to workers by the supervisor).", Hidden = true };
        private readonly Option<string?> _store = new("--store") { Description = "Table store file (given to workers by the supervisor).", Hidden = true };
        private readonly Option<string?> _taskBoard = new("--task-board") { Description = "Task board file (given to workers by the supervisor).", Hidden = true };

        private readonly Option<string?> _responseCache = new("--response-cache") { Description = "Size of the node's response cache in shared memory, e.g. 256M (K, M, G; off by default; docs/response-cache.md)." };
        private readonly Option<string?> _responseCacheMaxEntry = new("--response-cache-max-entry") { Description = "Largest response the cache stores, e.g. 8M (default 8M)." };
        private readonly Option<string?> _responseCacheIgnoreCookies = new("--response-cache-ignore-cookies") { Description = "Comma-separated cookie names (name* for a prefix) that do not make a request bypass the cache." };
        private readonly Option<string?> _responseCacheFile = new("--response-cache-file") { Description = "Response cache file (given to workers by the supervisor).", Hidden = true };

        /// <summary>"256M", "1G", "65536": bytes; null when it is not a size.</summary>
        internal static long? ParseSize(string text)
        {
            text = text.Trim();
            if (text.Length == 0) return null;
            var unit = char.ToUpperInvariant(text[^1]);
            var factor = unit switch { 'K' => 1024L, 'M' => 1024L * 1024, 'G' => 1024L * 1024 * 1024, _ => 1L };
            var digits = factor == 1 ? text : text[..^1];
            if (digits.EndsWith("i", StringComparison.OrdinalIgnoreCase)) return null;
            return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= long.MaxValue / factor ? n * factor : null;
        }

        public void AddTo(Command command)
        {
            foreach (var o in new Option[] { _root, _script, _host, _port, _workers, _workersMin, _workersMax, _workersSpare, _spread, _maxRequests, _maxBody, _timeout, _maxQueue, _admin, _adminToken, _staticSymlinks, _format, _level, _noAccessLog, _ini, _tables, _respPort, _respHost, _respPassword, _respProtectedMode, _respOutputLimit, _taskWorkers, _clusterPort, _clusterHost, _clusterAdvertise, _seeds, _clusterSecret, _clusterCertificate, _clusterKey, _pusherApps, _pusherActivity, _pusherPong, _pusherMaxMessage, _pusherClientEvents, _pusherQueue, _pusherMaxConnections, _pusherWebhooks, _pusherRingSize, _pusherRing, _store, _taskBoard, _responseCache, _responseCacheMaxEntry, _responseCacheIgnoreCookies, _responseCacheFile,
                         _httpsPort, _certificate, _key, _httpsDev, _noHttp, _h2c, _httpRedirect, _hsts, _hstsMaxAge, _noCompression, _compressionMinSize, _sendfileRoot,
                         _recordErrors, _recordSensitive, _recordRedact, _recordMaxFiles, _recordMaxBytes,
                         _backgroundWorker, _backgroundEntrypoint, _backgroundCap, _backgroundGrace, _backgroundLimit, _backgroundMaxFailures, _vars })
                command.Options.Add(o);
        }

        public ServeOptions? Bind(ParseResult parse)
        {
            var root = parse.GetValue(_root)!;
            var script = parse.GetValue(_script)!;
            string? error = null;
            if (!Directory.Exists(root)) error = $"--root {root}: no such directory";
            else if (!File.Exists(script)) error = $"--worker-script {script}: no such file";
            var format = parse.GetValue(_format) switch { "json" => LogFormat.Json, "text" => (LogFormat?)LogFormat.Text, _ => null };
            var level = parse.GetValue(_level) switch
            {
                "debug" => LogLevel.Debug, "info" => LogLevel.Info, "warning" or "warn" => LogLevel.Warning, "error" => (LogLevel?)LogLevel.Error, _ => null,
            };
            if (format is null) error ??= "--log-format must be text or json";
            if (level is null) error ??= "--log-level must be debug, info, warning or error";
            var workers = parse.GetValue(_workers);
            if (workers < 1) error ??= "--workers must be at least 1";
            var spread = parse.GetValue(_spread) switch { "bpf" => Supervision.SpreadMode.Bpf, "hash" => (Supervision.SpreadMode?)Supervision.SpreadMode.Hash, _ => null };
            if (spread is null) error ??= $"--spread {parse.GetValue(_spread)}: expected bpf or hash";
            var workersMin = parse.GetValue(_workersMin);
            var workersMax = parse.GetValue(_workersMax);
            var workersSpare = parse.GetValue(_workersSpare);
            if (workersMin != 0 || workersMax != 0)
            {
                if (workersMin < 1 || workersMax < 1) error ??= "autoscaling needs both --workers-min N and --workers-max M (N >= 1)";
                else if (workersMin > workersMax) error ??= $"--workers-min {workersMin} is more than --workers-max {workersMax}";
                else if (parse.GetResult(_workers) is { Implicit: false }) error ??= "--workers is a fixed count: give it, or --workers-min and --workers-max, not both";
                else if (spread == Supervision.SpreadMode.Hash) error ??= "autoscaling steers new connections with the BPF reuseport program: it cannot run with --spread hash";
                else workers = workersMax;
            }
            if (workersSpare < 0) error ??= "--workers-spare must be 0 or more";
            if (parse.GetValue(_maxQueue) < 1) error ??= "--max-queue must be at least 1";
            var tables = parse.GetValue(_tables);
            if (tables is not null && !File.Exists(tables)) error ??= $"--tables {tables}: no such file";
            var respPassword = parse.GetValue(_respPassword) ?? (Environment.GetEnvironmentVariable("ASKR_RESP_PASSWORD") is { Length: > 0 } pw ? pw : null);
            var protectedMode = parse.GetValue(_respProtectedMode) switch { "yes" => true, "no" => (bool?)false, _ => null };
            if (protectedMode is null) error ??= "--resp-protected-mode must be yes or no";
            if (parse.GetValue(_respOutputLimit) < 0) error ??= "--resp-output-buffer-limit must be 0 (no limit) or a number of bytes";
            if (parse.GetValue(_respPort) > 0 && parse.GetValue(_store) is null)
            {
                try
                {
                    error ??= Resp.RespServer.ProtectedModeRefusal(HttpWorkerHost.ResolveHost(parse.GetValue(_respHost)!), respPassword, protectedMode ?? true);
                }
                catch (FormatException)
                {
                    error ??= $"--resp-host {parse.GetValue(_respHost)}: not an IP address";
                }
            }
            var clusterSecret = parse.GetValue(_clusterSecret) ?? (Environment.GetEnvironmentVariable("ASKR_CLUSTER_SECRET") is { Length: > 0 } cs ? cs : null);
            if (parse.GetValue(_clusterPort) > 0 && parse.GetValue(_store) is null)
            {
                if (tables is null) error ??= "--cluster-port replicates tables: give --tables as well";
                if (clusterSecret is null) error ??= "a cluster needs a shared secret: --cluster-secret or ASKR_CLUSTER_SECRET";
                else if (clusterSecret.Length < 16) error ??= "the cluster secret must have at least 16 characters";
            }
            var followSymlinks = parse.GetValue(_staticSymlinks) switch { "yes" => true, "no" => (bool?)false, _ => null };
            if (followSymlinks is null) error ??= "--static-follow-symlinks must be yes or no";
            var adminToken = parse.GetValue(_adminToken) ?? (Environment.GetEnvironmentVariable(Supervision.AdminEndpoint.TokenVariable) is { Length: > 0 } at ? at : null);
            if (adminToken is { Length: < 16 }) error ??= "the admin token (--admin-token or ASKR_ADMIN_TOKEN) must have at least 16 characters";
            long cacheBytes = 0, cacheMaxEntry = 8 * 1024 * 1024;
            if (parse.GetValue(_responseCache) is { } cacheSize)
            {
                if (ParseSize(cacheSize) is not { } b) error ??= $"--response-cache {cacheSize}: expected a size such as 256M (K, M or G)";
                else if (b != 0 && b < ResponseCache.CacheStore.MinBytes) error ??= $"--response-cache must be 0 (off) or at least {ResponseCache.CacheStore.MinBytes / 1024 / 1024}M";
                else cacheBytes = b;
            }
            if (parse.GetValue(_responseCacheMaxEntry) is { } maxEntry)
            {
                if (ParseSize(maxEntry) is not { } b || b < 1024) error ??= $"--response-cache-max-entry {maxEntry}: expected a size of at least 1K, such as 8M";
                else cacheMaxEntry = b;
            }
            var pusherApps = new List<WebSockets.Pusher.PusherApp>();
            try
            {
                foreach (var text in parse.GetValue(_pusherApps) ?? []) pusherApps.Add(WebSockets.Pusher.PusherApp.Parse(text));
                _ = new WebSockets.Pusher.PusherApps(pusherApps);
            }
            catch (FormatException e) { error ??= e.Message; }
            var pusherWebhooks = new Dictionary<string, Uri>();
            try { pusherWebhooks = WebSockets.PusherWebhooks.ParseOption(parse.GetValue(_pusherWebhooks) ?? [], pusherApps); }
            catch (FormatException e) { error ??= e.Message; }
            if (parse.GetValue(_pusherActivity) < 1 || parse.GetValue(_pusherPong) < 1) error ??= "--pusher-activity-timeout and --pusher-pong-timeout must be at least 1 second";
            if (parse.GetValue(_pusherMaxMessage) < 256) error ??= "--pusher-max-message-size must be at least 256 bytes";
            if (parse.GetValue(_pusherClientEvents) < 1) error ??= "--pusher-client-events-per-second must be at least 1";
            if (parse.GetValue(_pusherMaxConnections) < 0) error ??= "--pusher-max-connections must be 0 (unlimited) or more";
            if (parse.GetValue(_pusherQueue) < 16) error ??= "--pusher-max-queued-frames must be at least 16";
            if (parse.GetValue(_pusherRingSize) is < 65536 or > 1L << 30) error ??= "--pusher-ring-size must be 65536 to 1073741824 bytes";
            var httpsPort = parse.GetValue(_httpsPort);
            var certificate = parse.GetValue(_certificate);
            var key = parse.GetValue(_key);
            var httpsDev = parse.GetValue(_httpsDev);
            var hstsMaxAge = parse.GetValue(_hstsMaxAge) is > 0 and var age ? age : parse.GetValue(_hsts) ? 31536000 : 0;
            if (httpsPort < 0) error ??= "--https-port must be a port number";
            if (httpsPort > 0 && certificate is null && !httpsDev) error ??= "--https-port needs --certificate FILE (and --key FILE), or --https-dev for a development certificate";
            if (httpsPort == 0 && (certificate is not null || httpsDev)) error ??= "--certificate and --https-dev serve the HTTPS port: give --https-port as well";
            if (certificate is not null && !File.Exists(certificate)) error ??= $"--certificate {certificate}: no such file";
            if (key is not null && !File.Exists(key)) error ??= $"--key {key}: no such file";
            if (key is not null && certificate is null) error ??= "--key needs --certificate";
            if (parse.GetValue(_noHttp) && httpsPort == 0) error ??= "--no-http leaves nothing to serve without --https-port";
            if (parse.GetValue(_httpRedirect) && httpsPort == 0) error ??= "--http-redirect redirects to the HTTPS port: give --https-port as well";
            if (parse.GetValue(_httpRedirect) && parse.GetValue(_noHttp)) error ??= "--http-redirect answers on the plain-HTTP port, which --no-http turns off";
            if (parse.GetValue(_httpRedirect) && parse.GetValue(_h2c)) error ??= "--http-redirect and --http2-cleartext: choose one for the plain port";
            var sendfileRoots = parse.GetValue(_sendfileRoot) ?? [];
            foreach (var dir in sendfileRoots)
                if (!Directory.Exists(dir)) error ??= $"--sendfile-root {dir}: no such directory";
            if (parse.GetValue(_compressionMinSize) < 0) error ??= "--compression-min-size must be a number of bytes";
            if (parse.GetValue(_hstsMaxAge) < 0) error ??= "--hsts-max-age must be a number of seconds";
            if (hstsMaxAge > 0 && httpsPort == 0) error ??= "--hsts is sent on HTTPS responses: give --https-port as well";
            var recordErrors = parse.GetValue(_recordErrors);
            if (recordErrors is not null)
            {
                recordErrors = Path.GetFullPath(recordErrors);
                if (parse.GetValue(_recordMaxFiles) < 1) error ??= "--record-max-files must be at least 1";
                if (parse.GetValue(_recordMaxBytes) < 1) error ??= "--record-max-bytes must be at least 1";
                error ??= Lifecycle.ErrorRecorder.Prepare(recordErrors);
            }
            var background = new List<Background.BackgroundWorkerSpec>();
            foreach (var value in parse.GetValue(_backgroundWorker) ?? [])
            {
                try
                {
                    var spec = Background.BackgroundWorkerSpec.Parse(value);
                    if (!File.Exists(spec.Script)) error ??= $"--background-worker {value}: no such file {spec.Script}";
                    else if (background.Any(b => b.Name == spec.Name)) error ??= $"--background-worker {value}: \"{spec.Name}\" is declared twice";
                    background.Add(spec with { Script = Path.GetFullPath(spec.Script) });
                }
                catch (FormatException e)
                {
                    error ??= e.Message;
                }
            }
            var entrypoint = parse.GetValue(_backgroundEntrypoint);
            if (entrypoint is not null && !File.Exists(entrypoint)) error ??= $"--background-entrypoint {entrypoint}: no such file";
            if (parse.GetValue(_backgroundCap) < 1) error ??= "--background-entrypoint-cap must be at least 1";
            if (parse.GetValue(_backgroundGrace) < 0) error ??= "--background-grace must be at least 0 (seconds)";
            if (parse.GetValue(_backgroundLimit) < 1) error ??= "--background-vars-limit must be at least 1 (bytes)";
            if (error is not null)
            {
                Console.Error.WriteLine($"askr: {error}");
                return null;
            }
            return new ServeOptions
            {
                Root = Path.GetFullPath(root),
                WorkerScript = Path.GetFullPath(script),
                Host = parse.GetValue(_host)!,
                Port = parse.GetValue(_port),
                Workers = workers,
                WorkersMin = workersMin,
                WorkersSpare = workersSpare,
                Spread = spread!.Value,
                MaxRequests = parse.GetValue(_maxRequests),
                MaxBodySize = parse.GetValue(_maxBody),
                RequestTimeoutSeconds = parse.GetValue(_timeout),
                MaxQueue = parse.GetValue(_maxQueue),
                AdminPort = parse.GetValue(_admin),
                AdminToken = adminToken,
                StaticFollowSymlinks = followSymlinks!.Value,
                LogFormat = format!.Value,
                LogLevel = level!.Value,
                AccessLog = !parse.GetValue(_noAccessLog),
                PhpIni = parse.GetValue(_ini) ?? [],
                TablesConfig = tables is null ? null : Path.GetFullPath(tables),
                RespPort = parse.GetValue(_respPort),
                RespHost = parse.GetValue(_respHost)!,
                RespPassword = respPassword,
                RespProtectedMode = protectedMode!.Value,
                RespOutputBufferLimit = parse.GetValue(_respOutputLimit),
                StorePath = parse.GetValue(_store),
                TaskBoardPath = parse.GetValue(_taskBoard),
                TaskWorkers = Math.Max(0, parse.GetValue(_taskWorkers)),
                ClusterPort = parse.GetValue(_clusterPort),
                ClusterHost = parse.GetValue(_clusterHost)!,
                ClusterAdvertise = parse.GetValue(_clusterAdvertise),
                Seeds = (parse.GetValue(_seeds) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                ClusterSecret = clusterSecret,
                ClusterCertificate = parse.GetValue(_clusterCertificate),
                ClusterKey = parse.GetValue(_clusterKey),
                ResponseCacheBytes = cacheBytes,
                ResponseCacheMaxEntryBytes = cacheMaxEntry,
                ResponseCacheIgnoreCookies = (parse.GetValue(_responseCacheIgnoreCookies) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                ResponseCachePath = parse.GetValue(_responseCacheFile),
                PusherApps = pusherApps,
                PusherWebhooks = pusherWebhooks,
                PusherLimits = new WebSockets.Pusher.PusherLimits
                {
                    ActivityTimeoutSeconds = parse.GetValue(_pusherActivity),
                    PongTimeoutSeconds = parse.GetValue(_pusherPong),
                    MaxMessageBytes = parse.GetValue(_pusherMaxMessage),
                    ClientEventsPerSecond = parse.GetValue(_pusherClientEvents),
                    MaxQueuedFrames = parse.GetValue(_pusherQueue),
                    MaxConnectionsPerApp = parse.GetValue(_pusherMaxConnections),
                },
                HttpsPort = httpsPort,
                Certificate = certificate is null ? null : Path.GetFullPath(certificate),
                Key = key is null ? null : Path.GetFullPath(key),
                HttpsDev = httpsDev,
                HttpEnabled = !parse.GetValue(_noHttp),
                Http2Cleartext = parse.GetValue(_h2c),
                HttpRedirect = parse.GetValue(_httpRedirect),
                HstsMaxAgeSeconds = hstsMaxAge,
                Compression = !parse.GetValue(_noCompression),
                CompressionMinSize = parse.GetValue(_compressionMinSize),
                SendfileRoots = sendfileRoots.Select(Path.GetFullPath).ToArray(),
                RecordErrors = recordErrors,
                RecordSensitive = parse.GetValue(_recordSensitive),
                RecordRedact = parse.GetValue(_recordRedact) is { } redact
                    ? redact.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : Lifecycle.ErrorRecorder.DefaultFields,
                RecordMaxFiles = parse.GetValue(_recordMaxFiles),
                RecordMaxBytes = parse.GetValue(_recordMaxBytes),
                BackgroundWorkers = background,
                BackgroundEntrypoint = entrypoint is null ? null : Path.GetFullPath(entrypoint),
                BackgroundEntrypointCap = parse.GetValue(_backgroundCap),
                BackgroundGraceSeconds = parse.GetValue(_backgroundGrace),
                BackgroundVarsLimit = parse.GetValue(_backgroundLimit),
                BackgroundMaxFailures = Math.Max(0, parse.GetValue(_backgroundMaxFailures)),
                VarsPath = parse.GetValue(_vars),
                PusherRingPath = parse.GetValue(_pusherRing),
                PusherRingBytes = parse.GetValue(_pusherRingSize),
            };
        }
    }
}
