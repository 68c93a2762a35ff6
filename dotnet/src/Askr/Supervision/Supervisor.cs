using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Tables;
using Askr.Worker;

namespace Askr.Supervision;

/// <summary>
/// <c>askr serve</c>: owns the listening sockets, starts one worker process per slot, restarts
/// crashed workers with backoff, recycles them after --max-requests, reloads them one at a time
/// (SIGHUP, admin endpoint), and stops them gracefully (SIGTERM, SIGINT, admin endpoint).
/// </summary>
internal sealed class Supervisor : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan[] Backoff =
        [TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    private readonly ServeOptions _options;
    private readonly LogWriter _log;
    private readonly WorkerProcess?[] _slots;
    private readonly int[] _failures;
    private readonly SemaphoreSlim[] _slotLocks;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private readonly TaskCompletionSource _stopRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTime _startedAt = DateTime.UtcNow;
    private readonly string _controlPath;
    private readonly object _lock = new();
    private readonly TaskHub _hub;
    private ListenSockets? _sockets;
    private TableStore? _store;
    private TaskBoard? _board;
    private Resp.RespServer? _resp;
    private Cluster.ClusterNode? _cluster;

    /// <summary>The node's table store (null without --tables).</summary>
    public TableStore? Store => _store;
    private Socket? _controlListener;
    private AdminEndpoint? _admin;
    private int _nextWorkerId;
    private long _restarts;
    private volatile bool _stopping;

    public Supervisor(ServeOptions options, LogWriter log)
    {
        _options = options;
        _log = log;
        var slots = options.Workers + options.TaskWorkers;
        _slots = new WorkerProcess?[slots];
        _failures = new int[slots];
        _slotLocks = Enumerable.Range(0, slots).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        _hub = new TaskHub(log, ticks: options.TaskWorkers > 0);
        _controlPath = Path.Combine(Path.GetTempPath(), $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
    }

    public int Port => _sockets?.Port ?? _options.Port;

    public async Task<int> RunAsync()
    {
        try
        {
            _sockets = new ListenSockets(WorkerHost.ResolveHost(_options.Host), _options.Port, _options.Workers);
        }
        catch (SocketException e)
        {
            _log.Error($"cannot listen on {_options.Host}:{_options.Port}: {e.Message}");
            return 1;
        }
        if (_options.TablesConfig is not null)
        {
            try
            {
                var schemas = TableSchema.ParseConfig(File.ReadAllText(_options.TablesConfig));
                RemoveStaleFiles(SharedMemoryDir);
                _store = TableStore.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.store"), schemas, unchecked((ulong)Random.Shared.NextInt64()));
                _log.Info($"tables: {string.Join(", ", _store.Tables.Select(t => $"{t.Schema.Name} ({t.Schema.Rows} rows)"))}; {_store.Bytes / 1024.0 / 1024.0:0.0} MiB of shared memory");
            }
            catch (Exception e) when (e is FormatException or IOException or ArgumentException)
            {
                _log.Error($"--tables {_options.TablesConfig}: {e.Message}");
                return 1;
            }
        }
        if (_options.ClusterPort > 0 && _store is not null)
        {
            var advertise = _options.ClusterAdvertise ?? $"{_options.ClusterHost}:{_options.ClusterPort}";
            System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
            if (_options.ClusterCertificate is { } certFile)
            {
                try
                {
                    using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certFile, _options.ClusterKey);
                    // Kestrel on Linux wants the key in a form it can use for TLS: export and reload.
                    certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
                }
                catch (Exception e) when (e is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
                {
                    _log.Error($"--cluster-certificate {certFile}: {e.Message}");
                    return 1;
                }
            }
            try
            {
                _cluster = new Cluster.ClusterNode(_store, new Cluster.ClusterOptions
                {
                    Bind = new System.Net.IPEndPoint(WorkerHost.ResolveHost(_options.ClusterHost), _options.ClusterPort),
                    Advertise = advertise,
                    Seeds = _options.Seeds,
                    Secret = _options.ClusterSecret!,
                    Certificate = certificate,
                }, _log);
                await _cluster.StartAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                _log.Error($"cannot serve the cluster endpoint on {_options.ClusterHost}:{_options.ClusterPort}: {e.GetBaseException().Message}");
                return 1;
            }
        }
        if (_options.TaskWorkers > 0)
        {
            RemoveStaleFiles(SharedMemoryDir, "askr-*.tasks*");
            _board = TaskBoard.Create(Path.Combine(SharedMemoryDir, $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.tasks"), _options.TaskWorkers);
            _hub.Board = _board;
        }
        StartControlServer();
        if (_options.RespPort > 0)
        {
            if (_store is null)
            {
                _log.Error("--resp-port needs tables to serve: give --tables as well");
                return 1;
            }
            try
            {
                _resp = new Resp.RespServer(_store, new System.Net.IPEndPoint(WorkerHost.ResolveHost(_options.RespHost), _options.RespPort), _options.RespPassword, _log.Info,
                    Resp.RespLimits.Default with { MaxOutputBytes = _options.RespOutputBufferLimit > 0 ? _options.RespOutputBufferLimit : long.MaxValue });
                await _resp.StartAsync();
                if (_options.RespPassword is not null) _log.Info("RESP clients must AUTH");
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
            {
                _log.Error($"cannot serve RESP on {_options.RespHost}:{_options.RespPort}: {e.GetBaseException().Message}");
                return 1;
            }
        }
        if (_options.AdminPort > 0)
        {
            _admin = new AdminEndpoint(this, _options.AdminPort);
            await _admin.StartAsync();
        }

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; RequestStop(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; RequestStop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; _ = ReloadAsync(); });

        for (var slot = 0; slot < _slots.Length; slot++) _slots[slot] = Spawn(slot);
        var allReady = Task.WhenAll(_slots.Select(w => w!.Ready));
        if (_options.TaskWorkers > 0) _log.Info($"{_options.TaskWorkers} task worker(s) for Octane::concurrently() and ticks");
        await Task.WhenAny(allReady, _stopRequested.Task, Task.Delay(ReadyTimeout));
        if (allReady.IsCompletedSuccessfully)
            _log.Info($"askr listening on http://{_options.Host}:{Port} with {_slots.Length} worker(s) (supervisor pid {Environment.ProcessId}{(_options.AdminPort > 0 ? $", admin on 127.0.0.1:{_options.AdminPort}" : "")})");
        else if (!_stopRequested.Task.IsCompleted)
            _log.Warning($"listening on http://{_options.Host}:{Port}, but not every worker is ready yet");

        await _stopRequested.Task;
        await StopAllAsync();
        return 0;
    }

    /// <summary>
    /// Deletes store files and control sockets left by supervisors that were killed (SIGKILL skips
    /// the cleanup): the name holds the creator's pid (askr-PID-ID.store, .sock), and a pid with no
    /// process is gone.
    /// </summary>
    /// <summary>Where the node's shared files go (the table store, the task board and its sockets).</summary>
    private static string SharedMemoryDir => Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    private void RemoveStaleFiles(string dir, string pattern = "askr-*.store")
    {
        foreach (var file in Directory.EnumerateFiles(dir, pattern))
        {
            var parts = Path.GetFileName(file).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[1], out var pid) || Directory.Exists($"/proc/{pid}")) continue;
            try
            {
                File.Delete(file);
                _log.Debug($"removed {file}, left by supervisor {pid} which is gone");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    public void RequestStop()
    {
        if (_stopping) return;
        _stopping = true;
        _log.Info("stopping: draining in-flight requests");
        _stopRequested.TrySetResult();
    }

    private WorkerProcess Spawn(int slot)
    {
        var id = Interlocked.Increment(ref _nextWorkerId);
        var isTask = slot >= _options.Workers;
        var options = _options;
        if (options.MaxRequests > 0)
        {
            // Stagger recycling so the workers do not all restart at once (up to +20 %).
            options = options with { MaxRequests = options.MaxRequests + Random.Shared.NextInt64(0, options.MaxRequests / 5 + 1) };
        }
        var (file, prefix) = SelfCommand();
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("worker");
        psi.ArgumentList.Add("--slot"); psi.ArgumentList.Add(slot.ToString());
        string? taskSocket = null;
        if (isTask)
        {
            psi.ArgumentList.Add("--kind"); psi.ArgumentList.Add("task");
            if (_board is not null)
            {
                taskSocket = $"{_board.Path}-{id}.sock";
                psi.ArgumentList.Add("--task-socket"); psi.ArgumentList.Add(taskSocket);
                psi.ArgumentList.Add("--board-slot"); psi.ArgumentList.Add((slot - _options.Workers).ToString());
            }
        }
        else
        {
            psi.ArgumentList.Add("--listen-fd"); psi.ArgumentList.Add(_sockets!.Descriptor(slot).ToString());
        }
        psi.ArgumentList.Add("--control"); psi.ArgumentList.Add(_controlPath);
        foreach (var a in (options with { StorePath = _store?.Path, TaskBoardPath = _board?.Path }).ToArguments()) psi.ArgumentList.Add(a);
        psi.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        // The supervisor's secrets stay with it: PHP code in a worker could read them with getenv().
        psi.Environment.Remove("ASKR_CLUSTER_SECRET");
        psi.Environment.Remove("ASKR_RESP_PASSWORD");
        psi.Environment["ASKR_WORKER_SLOT"] = slot.ToString();
        psi.Environment["ASKR_WORKER_ID"] = id.ToString();
        psi.Environment["ASKR_WORKER_KIND"] = isTask ? "task" : "http";
        psi.Environment["ASKR_TASK_WORKERS"] = _options.TaskWorkers.ToString();
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start a worker process");
        var worker = new WorkerProcess(slot, id, process) { IsTask = isTask, TaskIndex = slot - _options.Workers, TaskSocket = taskSocket };
        _live[worker.Pid] = worker;
        _ = MonitorAsync(worker);
        return worker;
    }

    private static (string File, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath!;
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
            return (path, [typeof(Supervisor).Assembly.Location]);
        return (path, []);
    }

    private async Task MonitorAsync(WorkerProcess worker)
    {
        var code = await worker.Exited;
        _live.TryRemove(worker.Pid, out _);
        if (worker.IsTask)
        {
            _hub.Gone(worker, $"exited (status {code})");
            if (worker.TaskSocket is { } socket) try { File.Delete(socket); } catch (IOException) { }
        }
        if (worker.Retiring || _stopping) return;
        bool current;
        lock (_lock) current = ReferenceEquals(_slots[worker.Slot], worker);
        if (!current) return;
        var wasReady = worker.Ready.IsCompletedSuccessfully;
        var uptime = DateTime.UtcNow - worker.StartedAt;
        if (wasReady && uptime > TimeSpan.FromSeconds(30)) _failures[worker.Slot] = 0;
        var delay = Backoff[Math.Min(_failures[worker.Slot], Backoff.Length - 1)];
        _failures[worker.Slot]++;
        Interlocked.Increment(ref _restarts);
        // .NET reports a process killed by signal N as exit code 128 + N (as shells do).
        var why = code is > 128 and < 160 ? $"killed by signal {code - 128}" : $"exited with status {code}";
        _log.Error($"worker {worker.Pid} (slot {worker.Slot}) {why}{(wasReady ? "" : " before it was ready")}; restarting{(delay > TimeSpan.Zero ? $" in {delay.TotalSeconds:0.#} s" : "")}");
        if (delay > TimeSpan.Zero) await Task.WhenAny(Task.Delay(delay), _stopRequested.Task);
        if (_stopping) return;
        await _slotLocks[worker.Slot].WaitAsync();
        try
        {
            lock (_lock)
            {
                if (!ReferenceEquals(_slots[worker.Slot], worker)) return;
            }
            var fresh = Spawn(worker.Slot);
            lock (_lock) _slots[worker.Slot] = fresh;
        }
        finally
        {
            _slotLocks[worker.Slot].Release();
        }
    }

    /// <summary>
    /// Replaces the worker of <paramref name="slot"/>: the new process starts on the same socket
    /// and becomes ready before the old one drains, so the slot never stops accepting.
    /// </summary>
    public async Task<bool> RecycleAsync(int slot, string reason)
    {
        await _slotLocks[slot].WaitAsync();
        try
        {
            if (_stopping) return false;
            WorkerProcess? old;
            lock (_lock) old = _slots[slot];
            var fresh = Spawn(slot);
            try
            {
                await fresh.Ready.WaitAsync(ReadyTimeout);
            }
            catch (Exception e)
            {
                _log.Error($"{reason}: the new worker for slot {slot} did not become ready ({e.Message}); keeping worker {old?.Pid}");
                await fresh.StopAsync(TimeSpan.FromSeconds(5));
                return false;
            }
            lock (_lock) _slots[slot] = fresh;
            if (old is not null)
            {
                if (old.IsTask) _hub.Retire(old);
                _log.Info($"{reason}: worker {old.Pid} (slot {slot}) replaced by {fresh.Pid}");
                await old.StopAsync(TimeSpan.FromSeconds(Math.Max(30, _options.RequestTimeoutSeconds + 15)));
            }
            return true;
        }
        finally
        {
            _slotLocks[slot].Release();
        }
    }

    /// <summary>Rolling reload: each slot in turn, one at a time.</summary>
    public async Task ReloadAsync()
    {
        if (!await _reloadLock.WaitAsync(0))
        {
            _log.Info("reload already in progress");
            return;
        }
        try
        {
            _log.Info("reloading workers one at a time");
            for (var slot = 0; slot < _slots.Length && !_stopping; slot++)
                await RecycleAsync(slot, "reload");
            if (!_stopping) _log.Info("reload complete");
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    private async Task StopAllAsync()
    {
        var grace = TimeSpan.FromSeconds(Math.Max(30, _options.RequestTimeoutSeconds + 15));
        var workers = _live.Values.ToArray();
        foreach (var w in workers.Where(w => w.IsTask)) _hub.Retire(w);
        await Task.WhenAll(workers.Select(async w =>
        {
            try { await w!.StopAsync(grace); }
            catch (Exception e) { _log.Error($"stopping worker {w!.Pid}: {e.Message}"); }
        }));
        _log.Info("stopped");
    }

    // ---------- control socket ----------

    private void StartControlServer()
    {
        RemoveStaleFiles(Path.GetTempPath(), "askr-*.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(_controlPath));
        listener.Listen(64);
        _controlListener = listener;
        _ = AcceptControlAsync(listener);
    }

    private async Task AcceptControlAsync(Socket listener)
    {
        while (true)
        {
            Socket connection;
            try { connection = await listener.AcceptAsync(); }
            catch (Exception) { return; }
            _ = ServeControlAsync(connection);
        }
    }

    private async Task ServeControlAsync(Socket connection)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        try
        {
            while (await ControlMessage.ReadAsync(stream, CancellationToken.None) is { } message)
            {
                var worker = Find(message.Pid);
                if (worker is null) continue;
                switch (message.Type)
                {
                    case ControlMessage.Hello:
                        worker.Connection = new ControlConnection(stream);
                        break;
                    case ControlMessage.Ready:
                        worker.MarkReady();
                        _failures[worker.Slot] = Math.Min(_failures[worker.Slot], 1);
                        if (worker.IsTask) _hub.Ready(worker);
                        break;
                    case ControlMessage.Idle:
                        _hub.Idle();
                        break;
                    case ControlMessage.Tasks:
                        _hub.Submit(worker, message);
                        break;
                    case ControlMessage.Result:
                        _hub.Completed(worker, message);
                        break;
                    case ControlMessage.Stats:
                        worker.Requests = message.Requests;
                        break;
                    case ControlMessage.Recycle:
                        if (!worker.Retiring && !_stopping) _ = RecycleIfCurrent(worker);
                        break;
                }
            }
        }
        catch (InvalidDataException e)
        {
            _log.Error($"control socket: {e.Message}; closing that connection");
        }
        catch (Exception) { }
    }

    private async Task RecycleIfCurrent(WorkerProcess worker)
    {
        bool current;
        lock (_lock) current = ReferenceEquals(_slots[worker.Slot], worker);
        if (current) await RecycleAsync(worker.Slot, "max-requests");
    }

    /// <summary>Live worker processes by pid, including replacements not swapped into their slot yet.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, WorkerProcess> _live = new();

    private WorkerProcess? Find(int pid) => _live.TryGetValue(pid, out var w) ? w : null;

    // ---------- status ----------

    public SupervisorStatus Status()
    {
        WorkerProcess?[] workers;
        lock (_lock) workers = _slots.ToArray();
        var now = DateTime.UtcNow;
        return new SupervisorStatus
        {
            Pid = Environment.ProcessId,
            UptimeSeconds = Math.Round((now - _startedAt).TotalSeconds, 1),
            Host = _options.Host,
            Port = Port,
            Restarts = Interlocked.Read(ref _restarts),
            Cluster = _cluster is null ? null : new ClusterStatus
            {
                NodeId = _cluster.NodeId.ToString("x16"),
                Members = _cluster.Members().Select(m => new MemberStatus { NodeId = m.Id.ToString("x16"), Address = m.Address, Status = m.Status.ToString().ToLowerInvariant(), Incarnation = m.Incarnation }).ToList(),
            },
            Workers = workers.Where(w => w is not null).Select(w => new WorkerStatus
            {
                Slot = w!.Slot,
                Kind = w.IsTask ? "task" : "http",
                Pid = w.Pid,
                State = w.State.ToString().ToLowerInvariant(),
                Requests = Interlocked.Read(ref w.Requests),
                RssBytes = w.ResidentBytes(),
                UptimeSeconds = Math.Round((now - w.StartedAt).TotalSeconds, 1),
            }).ToList(),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _hub.Dispose();
        if (_resp is not null) await _resp.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
        if (_admin is not null) await _admin.DisposeAsync();
        _controlListener?.Dispose();
        try { File.Delete(_controlPath); } catch (IOException) { }
        _sockets?.Dispose();
        _store?.Dispose();
        _board?.Dispose();
    }
}
