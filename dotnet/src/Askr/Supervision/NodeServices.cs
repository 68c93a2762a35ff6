using System.Net;
using System.Net.Sockets;
using Askr.Cli;
using Askr.Logging;
using Askr.Tables;
using Askr.Tasks;
using Askr.Worker;

namespace Askr.Supervision;

/// <summary>
/// What <c>askr serve</c> sets up for the node before it starts a worker, and owns until it stops:
/// the listening sockets of the HTTP slots with their load spreading (--spread), the table store (--tables), the cluster endpoint
/// (--cluster-port, with its TLS certificate), the task board (--task-workers) and the RESP
/// endpoint (--resp-port). <see cref="StartAsync"/> logs what is wrong and returns null when any
/// of them cannot start (the supervisor then exits 1); <see cref="DisposeAsync"/> takes them down
/// step by step, each guarded.
/// </summary>
internal sealed class NodeServices : IAsyncDisposable
{
    private NodeServices(ListenSockets? sockets, ListenSockets? httpsSockets)
    {
        Sockets = sockets;
        HttpsSockets = httpsSockets;
    }

    /// <summary>The plain-HTTP sockets, one per HTTP slot; null with --no-http.</summary>
    public ListenSockets? Sockets { get; }
    /// <summary>The HTTPS sockets (--https-port), one per HTTP slot; null without.</summary>
    public ListenSockets? HttpsSockets { get; }
    /// <summary>The BPF program spreading the plain-HTTP sockets' connections; null when the kernel hashes them (--spread hash, or it could not load).</summary>
    public ReuseportBalancer? Balancer { get; private set; }
    /// <summary>The same for the HTTPS sockets.</summary>
    public ReuseportBalancer? HttpsBalancer { get; private set; }
    /// <summary>The spreading in effect: <see cref="SpreadMode.Bpf"/> only when every listener's program is attached.</summary>
    public SpreadMode Spread => (Sockets ?? HttpsSockets) is not null && (Sockets is null || Balancer is not null) && (HttpsSockets is null || HttpsBalancer is not null)
        ? SpreadMode.Bpf : SpreadMode.Hash;
    /// <summary>The node's table store; null without --tables.</summary>
    public TableStore? Store { get; private set; }
    /// <summary>The task board; null without task workers.</summary>
    public TaskBoard? Board { get; private set; }
    public Cluster.ClusterNode? Cluster { get; private set; }
    public Resp.RespServer? Resp { get; private set; }
    /// <summary>The node's response cache (--response-cache); null when it is off.</summary>
    public ResponseCache.CacheStore? ResponseCache { get; private set; }
    /// <summary>The background workers' snapshots; null when askr serve declares none.</summary>
    public Background.VarsStore? Vars { get; private set; }
    /// <summary>The Pusher event ring (--pusher-app): workers append their events, every process reads them.</summary>
    public WebSockets.EventRing? PusherRing { get; private set; }

    /// <summary>Where the node's shared files go (the table store, the task board and its sockets).</summary>
    public static string SharedMemoryDir => Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    public static async Task<NodeServices?> StartAsync(ServeOptions options, LogWriter log)
    {
        ListenSockets? sockets = null;
        try
        {
            if (options.HttpEnabled) sockets = new ListenSockets(HttpWorkerHost.ResolveHost(options.Host), options.Port, options.Workers);
        }
        catch (SocketException e)
        {
            log.Error($"cannot listen on {options.Host}:{options.Port}: {e.Message}");
            return null;
        }
        // The HTTPS port gets the same per-slot treatment (docs/tls.md).
        ListenSockets? https = null;
        try
        {
            if (options.HttpsPort > 0) https = new ListenSockets(HttpWorkerHost.ResolveHost(options.Host), options.HttpsPort, options.Workers);
        }
        catch (SocketException e)
        {
            log.Error($"cannot listen on {options.Host}:{options.HttpsPort} (HTTPS): {e.Message}");
            sockets?.Dispose();
            return null;
        }
        var node = new NodeServices(sockets, https);
        if (options.Spread == SpreadMode.Bpf)
        {
            if (sockets is not null) node.Balancer = AttachBalancer(sockets, "", log);
            if (https is not null && (sockets is null || node.Balancer is not null)) node.HttpsBalancer = AttachBalancer(https, " (HTTPS)", log);
            if (node.Spread == SpreadMode.Bpf) log.Info($"connections spread round-robin over {options.Workers} worker(s) by a BPF reuseport program (--spread bpf)");
        }
        if (await node.StartServicesAsync(options, log)) return node;
        await node.DisposeAsync();
        return null;
    }

    private async Task<bool> StartServicesAsync(ServeOptions options, LogWriter log)
    {
        if (options.TablesConfig is not null)
        {
            try
            {
                var schemas = TableSchema.ParseConfig(File.ReadAllText(options.TablesConfig));
                // A clustered response cache replicates its purges as one more table (docs/response-cache.md).
                if (options.ResponseCacheBytes > 0 && options.ClusterPort > 0) schemas.Add(Askr.ResponseCache.CachePurgeReplication.Schema());
                RemoveStaleFiles(SharedMemoryDir, "askr-*.store", log);
                Store = TableStore.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.store"), schemas, unchecked((ulong)Random.Shared.NextInt64()));
                log.Info($"tables: {string.Join(", ", Store.Tables.Select(t => $"{t.Schema.Name} ({t.Schema.Rows} rows)"))}; {Store.Bytes / 1024.0 / 1024.0:0.0} MiB of shared memory");
            }
            catch (Exception e) when (e is FormatException or IOException or ArgumentException)
            {
                log.Error($"--tables {options.TablesConfig}: {e.Message}");
                return false;
            }
        }
        if (options.PusherApps.Count > 0)
        {
            RemoveStaleFiles(SharedMemoryDir, "askr-*.pusher", log);
            PusherRing = WebSockets.EventRing.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.pusher"), options.PusherRingBytes);
        }
        if (options.HasBackgroundWorkers)
        {
            RemoveStaleFiles(SharedMemoryDir, "askr-*.vars", log);
            Vars = Background.VarsStore.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.vars"),
                options.BackgroundWorkers.Select(b => (b.Name, (b.Lazy ? Background.VarsStore.FlagLazy : 0) | (b.Cluster ? Background.VarsStore.FlagCluster : 0))).ToList(),
                options.BackgroundEntrypoint is null ? 0 : options.BackgroundEntrypointCap, options.BackgroundVarsLimit);
            // A scope=cluster worker may run on another node: its slot reads "not published yet", never "lazy".
            foreach (var b in options.BackgroundWorkers.Where(b => b.Cluster)) Vars.MarkStarted(Vars.Find(b.Name));
        }
        if (options.ClusterPort > 0 && Store is not null)
        {
            System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
            if (options.ClusterCertificate is { } certFile)
            {
                try
                {
                    certificate = ClusterCertificate.Load(certFile, options.ClusterKey);
                }
                catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
                {
                    log.Error($"--cluster-certificate {certFile}: {e.Message}");
                    return false;
                }
            }
            try
            {
                Cluster = new Cluster.ClusterNode(Store, new Cluster.ClusterOptions
                {
                    Bind = new IPEndPoint(HttpWorkerHost.ResolveHost(options.ClusterHost), options.ClusterPort),
                    Advertise = options.ClusterAdvertise ?? $"{options.ClusterHost}:{options.ClusterPort}",
                    Seeds = options.Seeds,
                    Secret = options.ClusterSecret!,
                    Certificate = certificate,
                }, log);
                if (options.ResponseCacheBytes > 0) Cluster.RowMerged = OnRowMerged;
                Cluster.PusherEnabled = options.PusherApps.Count > 0;
                if (Vars is not null && options.BackgroundWorkers.Any(b => b.Cluster))
                    Cluster.AttachVars(Vars, options.BackgroundWorkers.Where(b => b.Cluster).Select(b => b.Name));
                await Cluster.StartAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                log.Error($"cannot serve the cluster endpoint on {options.ClusterHost}:{options.ClusterPort}: {e.GetBaseException().Message}");
                return false;
            }
        }
        if (options.ResponseCacheBytes > 0)
        {
            try
            {
                RemoveStaleFiles(SharedMemoryDir, "askr-*.rcache", log);
                ResponseCache = Askr.ResponseCache.CacheStore.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.rcache"), options.ResponseCacheBytes, options.ResponseCacheMaxEntryBytes);
                log.Info($"response cache: {ResponseCache.FileBytes / 1024.0 / 1024.0:0.0} MiB of shared memory, {ResponseCache.Blocks} blocks of {Askr.ResponseCache.CacheStore.BlockSize} bytes, entries up to {ResponseCache.MaxEntryBytes / 1024.0 / 1024.0:0.#} MiB");
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                log.Error($"--response-cache: {e.Message}");
                return false;
            }
        }
        if (options.TaskWorkers > 0)
        {
            RemoveStaleFiles(SharedMemoryDir, "askr-*.tasks*", log);
            Board = TaskBoard.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.tasks"), options.TaskWorkers);
        }
        if (options.RespPort > 0)
        {
            if (Store is null)
            {
                log.Error("--resp-port needs tables to serve: give --tables as well");
                return false;
            }
            try
            {
                Resp = new Resp.RespServer(Store, new IPEndPoint(HttpWorkerHost.ResolveHost(options.RespHost), options.RespPort), options.RespPassword, log.Info,
                    Askr.Resp.RespLimits.Default with { MaxOutputBytes = options.RespOutputBufferLimit > 0 ? options.RespOutputBufferLimit : long.MaxValue });
                await Resp.StartAsync();
                if (options.RespPassword is not null) log.Info("RESP clients must AUTH");
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                log.Error($"cannot serve RESP on {options.RespHost}:{options.RespPort}: {e.GetBaseException().Message}");
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// --spread bpf: attaches a <see cref="ReuseportBalancer"/> to the group of
    /// <paramref name="sockets"/>; when it cannot, logs one warning naming the reason and returns
    /// null (the kernel keeps hashing connections, as with --spread hash).
    /// </summary>
    internal static ReuseportBalancer? AttachBalancer(ListenSockets sockets, string what, LogWriter log, ReuseportBalancer.BpfCall? bpf = null)
    {
        var balancer = ReuseportBalancer.TryAttach(sockets.Descriptors, out var failure, bpf);
        if (balancer is null) log.Warning($"--spread bpf{what}: {failure}; falling back to the kernel's SO_REUSEPORT hash (--spread hash)");
        return balancer;
    }

    /// <summary>A peer's change merged into the store: a purge of the response cache is applied here too.</summary>
    private void OnRowMerged(string table, byte[] key)
    {
        if (table == Askr.ResponseCache.CachePurgeReplication.TableName && ResponseCache is { } cache)
            Askr.ResponseCache.CachePurgeReplication.ApplyRemote(cache, key);
    }

    /// <summary>
    /// Deletes store files, task boards and control sockets left by supervisors that were killed
    /// (SIGKILL skips the cleanup): the name holds the creator's pid (askr-PID-ID.store, .tasks,
    /// .sock), and a pid with no process is gone.
    /// </summary>
    public static void RemoveStaleFiles(string dir, string pattern, LogWriter log)
    {
        foreach (var file in Directory.EnumerateFiles(dir, pattern))
        {
            var parts = Path.GetFileName(file).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[1], out var pid) || Directory.Exists($"/proc/{pid}")) continue;
            try
            {
                File.Delete(file);
                log.Debug($"removed {file}, left by supervisor {pid} which is gone");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { if (Resp is not null) await Resp.DisposeAsync(); } catch (Exception) { }
        try { if (Cluster is not null) await Cluster.DisposeAsync(); } catch (Exception) { }
        Balancer?.Dispose();
        HttpsBalancer?.Dispose();
        Sockets?.Dispose();
        HttpsSockets?.Dispose();
        Store?.Dispose();
        Board?.Dispose();
        ResponseCache?.Dispose();
        Vars?.Dispose();
        PusherRing?.Dispose();
    }
}
