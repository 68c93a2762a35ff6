using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Tables;
using Askr.Worker;
using Askr.Tasks;

namespace Askr.Supervision;

/// <summary>
/// <c>askr serve</c>'s process management: with the node's services started
/// (<see cref="NodeServices"/>: sockets, store, cluster, task board, RESP) and the control socket
/// open (<see cref="ControlServer"/>), starts one worker process per slot
/// (<see cref="WorkerCommandLine"/>), restarts crashed workers with backoff, recycles them when
/// they report --max-requests, reloads them one at a time (SIGHUP, admin endpoint), and stops
/// them gracefully (SIGTERM, SIGINT, admin endpoint). Task messages go to the <see cref="TaskHub"/>.
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
    private readonly object _lock = new();
    private readonly TaskHub _hub;
    private NodeServices? _node;
    private ControlServer? _control;
    private AdminEndpoint? _admin;
    private int _nextWorkerId;
    private long _restarts;
    private volatile bool _stopping;
    private Background.BackgroundSupervisor? _background;
    private string? _abortReason;
    /// <summary>Autoscaling's rule; null when the HTTP worker count is fixed.</summary>
    private Autoscaler? _autoscaler;
    /// <summary>HTTP slots [0, _active) take new connections (the BPF program's active count).</summary>
    private volatile int _active;
    /// <summary>What autoscaling last asked for; above _active while the workers of the slots in between still boot.</summary>
    private int _wanted;
    private DateTime[] _inactiveSince = [];

    /// <summary>The node's table store (null without --tables).</summary>
    public TableStore? Store => _node?.Store;
    /// <summary>The node's response cache; null when it runs none.</summary>
    public ResponseCache.CacheStore? ResponseCache => _node?.ResponseCache;

    public Supervisor(ServeOptions options, LogWriter log)
    {
        _options = options;
        _log = log;
        var slots = options.Workers + options.TaskWorkers;
        _slots = new WorkerProcess?[slots];
        _failures = new int[slots];
        _slotLocks = Enumerable.Range(0, slots).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
        _hub = new TaskHub(log, ticks: options.TaskWorkers > 0);
        _metrics = new(() => new Metrics.SupervisorMetrics(Status,
            () => _node?.Store?.Tables.Select(t => (t.Schema.Name, t.Count, t.Schema.Rows)) ?? []));
    }

    public int Port => _node?.Sockets?.Port ?? _options.Port;

    public async Task<int> RunAsync()
    {
        _node = await NodeServices.StartAsync(_options, _log);
        if (_node is null) return 1;
        _hub.Board = _node.Board;
        _pusher.Ring = _node.PusherRing;
        if (_node.Cluster is { PusherEnabled: true } pusherCluster) _pusher.AttachCluster(pusherCluster);
        _pusher.StartRingReader();
        _control = ControlServer.Start(Find, OnControlMessage, _log);
        if (_options.AdminPort > 0)
        {
            var token = _options.AdminToken;
            if (token is null)
            {
                // As Jupyter does: a token of the moment, told to whoever reads the console.
                token = AdminEndpoint.NewToken();
                _log.Info($"admin endpoint token (Authorization: Bearer ...; set one with --admin-token or ASKR_ADMIN_TOKEN): {token}");
            }
            _admin = new AdminEndpoint(this, _options.AdminPort, token);
            await _admin.StartAsync();
        }

        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; RequestStop(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; RequestStop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; _ = ReloadAsync(); });

        _active = _options.Workers;
        if (_options.Autoscale) StartAutoscaling();
        for (var slot = 0; slot < _slots.Length; slot++)
            if (slot >= _options.Workers || slot < BootedTarget()) _slots[slot] = Spawn(slot);
        if (_node.Vars is { } vars)
        {
            _background = new Background.BackgroundSupervisor(_options, _log, vars, SpawnBackground, reason => { _abortReason = reason; RequestStop(); });
            if (_node.Cluster is { } cluster) _background.AttachCluster(cluster);
            _background.StartEager();
        }
        var allReady = Task.WhenAll(_slots.Where(w => w is not null).Select(w => w!.Ready));
        if (_options.TaskWorkers > 0) _log.Info($"{_options.TaskWorkers} task worker(s) for Octane::concurrently() and ticks");
        await Task.WhenAny(allReady, _stopRequested.Task, Task.Delay(ReadyTimeout));
        if (allReady.IsCompletedSuccessfully && _options.HttpsPort > 0)
            _log.Info($"HTTPS on https://{_options.Host}:{_options.HttpsPort} (HTTP/1.1, HTTP/2){(_options.HttpEnabled ? "" : "; no plain HTTP")}");
        if (allReady.IsCompletedSuccessfully)
            _log.Info($"askr listening on {(_options.HttpEnabled ? "http" : "https")}://{_options.Host}:{(_options.HttpEnabled ? Port : _options.HttpsPort)} with {(_autoscaler is null ? $"{_slots.Length}" : $"{_active} of {_autoscaler.Min}..{_autoscaler.Max} autoscaled HTTP ({_options.WorkersSpare} spare)")} worker(s) (supervisor pid {Environment.ProcessId}{(_options.AdminPort > 0 ? $", admin on 127.0.0.1:{_options.AdminPort}" : "")})");
        else if (!_stopRequested.Task.IsCompleted)
            _log.Warning($"listening on http://{_options.Host}:{Port}, but not every worker is ready yet");

        var scaling = _autoscaler is null ? Task.CompletedTask : AutoscaleAsync(_autoscaler);
        await _stopRequested.Task;
        await scaling;
        await StopAllAsync();
        return _abortReason is null ? 0 : 1;
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
        // Slots by kind: the HTTP workers', then the task workers'.
        var kind = slot < _options.Workers ? WorkerKind.Http : WorkerKind.Task;
        var isTask = kind == WorkerKind.Task;
        var board = _node!.Board;
        var taskSocket = isTask && board is not null ? $"{board.Path}-{id}.sock" : null;
        var line = new WorkerCommandLine
        {
            Options = _options with
            {
                MaxRequests = WorkerCommandLine.SpreadMaxRequests(_options.MaxRequests, Random.Shared),
                StorePath = _node.Store?.Path,
                TaskBoardPath = board?.Path,
                ResponseCachePath = _node.ResponseCache?.Path,
                VarsPath = _node.Vars?.Path,
                PusherRingPath = _node.PusherRing?.Path,
            },
            Slot = slot,
            WorkerId = id,
            Kind = kind,
            ListenFd = isTask ? null : _node.Sockets?.Descriptor(slot),
            HttpsListenFd = isTask ? null : _node.HttpsSockets?.Descriptor(slot),
            ControlPath = _control!.Path,
            TaskSocket = taskSocket,
            BoardSlot = taskSocket is null ? -1 : slot - _options.Workers,
        };
        var process = Process.Start(line.ToStartInfo()) ?? throw new InvalidOperationException("could not start a worker process");
        var worker = new WorkerProcess(slot, id, process) { Kind = kind, TaskIndex = slot - _options.Workers, TaskSocket = taskSocket };
        _live[worker.Pid] = worker;
        _ = MonitorAsync(worker);
        return worker;
    }

    /// <summary>Starts a process of a background worker (Background.BackgroundSupervisor restarts it).</summary>
    private WorkerProcess SpawnBackground(Background.BackgroundInstance instance)
    {
        var id = Interlocked.Increment(ref _nextWorkerId);
        // Background workers' slots come after the HTTP and task workers'; they are not in _slots.
        var slot = _slots.Length + instance.Slot * 64 + instance.Index;
        var line = new WorkerCommandLine
        {
            Options = _options with { WorkerScript = instance.Script, StorePath = _node!.Store?.Path, VarsPath = _node.Vars?.Path },
            Slot = slot,
            WorkerId = id,
            Kind = WorkerKind.Background,
            ControlPath = _control!.Path,
            BackgroundName = instance.Name,
        };
        var process = Process.Start(line.ToStartInfo()) ?? throw new InvalidOperationException("could not start a background worker process");
        var worker = new WorkerProcess(slot, id, process) { Kind = WorkerKind.Background };
        _live[worker.Pid] = worker;
        _ = worker.Exited.ContinueWith(_ => _live.TryRemove(worker.Pid, out WorkerProcess? _), TaskScheduler.Default);
        return worker;
    }

    private async Task MonitorAsync(WorkerProcess worker)
    {
        var code = await worker.Exited;
        _live.TryRemove(worker.Pid, out _);
        _pusher.WorkerGone(worker);
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
            if (_options.HttpsPort > 0) ReloadCertificates();
            _log.Info("reloading workers one at a time");
            for (var slot = 0; slot < _slots.Length && !_stopping; slot++)
            {
                // An autoscaled slot without a worker (never booted, or stopped when idle) boots the new code when it is needed.
                bool empty;
                lock (_lock) empty = _slots[slot] is null;
                if (!empty) await RecycleAsync(slot, "reload");
            }
            if (_background is not null && !_stopping) await _background.ReloadAsync();
            if (!_stopping) _log.Info("reload complete");
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    /// <summary>
    /// Tells every ready HTTP worker to read the HTTPS certificate files again (SIGHUP to the worker:
    /// its next TLS connection gets the new certificate), before the rolling reload replaces it.
    /// </summary>
    private void ReloadCertificates()
    {
        WorkerProcess?[] workers;
        lock (_lock) workers = _slots.ToArray();
        foreach (var w in workers)
            if (w is { IsTask: false, Ready.IsCompletedSuccessfully: true }) w.Signal(WorkerProcess.SigHup);
    }

    private async Task StopAllAsync()
    {
        var grace = TimeSpan.FromSeconds(Math.Max(30, _options.RequestTimeoutSeconds + 15));
        var workers = _live.Values.Where(w => w.Kind != WorkerKind.Background).ToArray();
        foreach (var w in workers.Where(w => w.IsTask)) _hub.Retire(w);
        await Task.WhenAll(workers.Select(async w =>
        {
            try { await w!.StopAsync(grace); }
            catch (Exception e) { _log.Error($"stopping worker {w!.Pid}: {e.Message}"); }
        }).Append(_background?.StopAllAsync() ?? Task.CompletedTask));
        _log.Info("stopped");
    }

    // ---------- autoscaling (docs/lifecycle.md) ----------

    /// <summary>
    /// Sets up autoscaling once the sockets of every slot up to --workers-max exist: the BPF program
    /// sends new connections to slots [0, --workers-min) only. Without the program (it did not load)
    /// the node runs --workers-max fixed workers instead, and says so.
    /// </summary>
    private void StartAutoscaling()
    {
        if (_node!.Spread != SpreadMode.Bpf)
        {
            _log.Warning($"autoscaling needs the BPF reuseport program, which did not load: running {_options.Workers} fixed HTTP worker(s) (--workers-max)");
            return;
        }
        _autoscaler = new Autoscaler(_options.WorkersMin, _options.Workers, QuietPeriodOverride());
        _inactiveSince = new DateTime[_options.Workers];
        SetActive(_options.WorkersMin);
        _wanted = _active;
    }

    /// <summary>ASKR_AUTOSCALE_QUIET_MS shortens the quiet period before a scale down (tests, benchmarks); unset: <see cref="Autoscaler.DefaultQuietPeriod"/>.</summary>
    private static TimeSpan? QuietPeriodOverride() =>
        int.TryParse(Environment.GetEnvironmentVariable("ASKR_AUTOSCALE_QUIET_MS"), out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;

    /// <summary>HTTP slots that should have a booted worker: the active or wanted ones plus the spares.</summary>
    private int BootedTarget() => _autoscaler is null ? _options.Workers : Math.Min(_options.Workers, Math.Max(_active, _wanted) + _options.WorkersSpare);

    private void SetActive(int count)
    {
        _node!.Balancer?.SetActiveSlots(count);
        _node.HttpsBalancer?.SetActiveSlots(count);
        var now = DateTime.UtcNow;
        for (var slot = count; slot < _active; slot++) _inactiveSince[slot] = now;
        _active = count;
    }

    private async Task AutoscaleAsync(Autoscaler scaler)
    {
        using var timer = new PeriodicTimer(Autoscaler.SampleInterval);
        while (!_stopping && await Task.WhenAny(timer.WaitForNextTickAsync().AsTask(), _stopRequested.Task) != _stopRequested.Task)
        {
            try { AutoscaleStep(scaler, DateTime.UtcNow); }
            catch (Exception e) { _log.Error($"autoscale: {e.Message}"); }
        }
    }

    /// <summary>One sample: apply the rule's target as far as booted workers allow, boot the spares, stop long-idle workers above them.</summary>
    private void AutoscaleStep(Autoscaler scaler, DateTime now)
    {
        WorkerProcess?[] workers;
        lock (_lock) workers = _slots[.._options.Workers];
        var n = _active;
        var samples = new (int InFlight, int Queued)[n];
        for (var slot = 0; slot < n; slot++)
            if (workers[slot] is { } w && w.Ready.IsCompletedSuccessfully) samples[slot] = (w.InFlight, w.Queued);
        var target = scaler.Sample(now, samples, out var load);
        if (target > n) _wanted = Math.Max(_wanted, target);
        else if (target < n) _wanted = target;
        // New connections may only go to a booted worker: extend over the ready slots in order.
        var reach = n;
        while (reach < _wanted && workers[reach] is { Retiring: false } w && w.Ready.IsCompletedSuccessfully) reach++;
        var next = _wanted < n ? _wanted : reach;
        if (next != n)
        {
            SetActive(next);
            if (next > n) ShedConnections(workers, n, next);
            _log.Info(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"autoscale {(next > n ? "up" : "down")} busy={load.BusyShare:0.00} queued={load.Queued} → workers={next}"));
        }
        var booted = BootedTarget();
        for (var slot = 0; slot < booted; slot++)
            if (workers[slot] is null) _ = BootSpareAsync(slot);
        // Above the spares: a worker no connection goes to any more is stopped once it has had nothing to do for a quiet period.
        for (var slot = Math.Max(booted, _active); slot < workers.Length; slot++)
        {
            if (workers[slot] is not { Retiring: false } idle || !idle.Ready.IsCompletedSuccessfully) continue;
            if (idle.InFlight > 0 || idle.Connections > 0 || now - idle.LastBusyAt < scaler.QuietPeriod || now - _inactiveSince[slot] < scaler.QuietPeriod) continue;
            _ = StopIdleAsync(idle);
        }
    }

    /// <summary>
    /// After a scale up from <paramref name="from"/> to <paramref name="to"/> workers: each formerly
    /// active worker holding more than its share of the connections (total / to) ends the surplus
    /// gracefully after their next response, so their clients reconnect and are spread over all
    /// <paramref name="to"/> (keep-alive clients such as wrk or a pool opened them before the scale up).
    /// </summary>
    private static void ShedConnections(WorkerProcess?[] workers, int from, int to)
    {
        var total = 0;
        for (var slot = 0; slot < from; slot++) total += Math.Max(0, workers[slot]?.Connections ?? 0);
        var share = total / to;
        for (var slot = 0; slot < from; slot++)
            if (workers[slot] is { } w && w.Connections > share)
                w.Connection?.TrySend(new ShedConnectionsMessage { Count = w.Connections - share });
    }

    private async Task BootSpareAsync(int slot)
    {
        if (!await _slotLocks[slot].WaitAsync(0)) return;
        try
        {
            lock (_lock)
            {
                if (_stopping || _slots[slot] is not null) return;
                _slots[slot] = Spawn(slot);
            }
        }
        finally
        {
            _slotLocks[slot].Release();
        }
    }

    private async Task StopIdleAsync(WorkerProcess worker)
    {
        if (!await _slotLocks[worker.Slot].WaitAsync(0)) return;
        try
        {
            lock (_lock)
            {
                if (!ReferenceEquals(_slots[worker.Slot], worker) || worker.Slot < _active) return;
                _slots[worker.Slot] = null;
            }
            worker.Retiring = true;
            _log.Info($"autoscale: worker {worker.Pid} (slot {worker.Slot}) idle, stopped ({_active} active)");
        }
        finally
        {
            _slotLocks[worker.Slot].Release();
        }
        await worker.StopAsync(TimeSpan.FromSeconds(Math.Max(30, _options.RequestTimeoutSeconds + 15)));
    }

    // ---------- control socket ----------

    /// <summary>A message of <paramref name="worker"/>'s (ControlServer); task messages go to the task hub.</summary>
    private void OnControlMessage(WorkerProcess worker, ControlMessage message)
    {
        if (worker.Kind == WorkerKind.Background)
        {
            if (message is ReadyMessage) worker.MarkReady();
            else if (message is Background.EnsureBackgroundMessage ensure) _background?.Ensure(ensure.Names);
            return;
        }
        switch (message)
        {
            case ReadyMessage:
                worker.MarkReady();
                _pusher.WorkerReady(worker);
                _failures[worker.Slot] = Math.Min(_failures[worker.Slot], 1);
                if (worker.IsTask) _hub.Ready(worker);
                break;
            case StatsMessage stats:
                worker.Requests = stats.Requests;
                if (stats.Http is { } http)
                {
                    Metrics.Add(worker.Slot, http);
                    worker.InFlight = http.InFlight;
                    worker.Queued = http.Queued;
                    worker.Connections = http.Connections;
                    if (http.InFlight > 0 || http.Connections > 0) worker.LastBusyAt = DateTime.UtcNow;
                }
                break;
            case RecycleMessage:
                if (!worker.Retiring && !_stopping) _ = RecycleIfCurrent(worker);
                break;
            case SubmitTasksMessage tasks:
                _hub.Submit(worker, tasks);
                break;
            case TaskResultMessage result:
                _hub.Completed(worker, result);
                break;
            case TaskWorkerIdleMessage:
                _hub.Idle();
                break;
            case WebSockets.PusherEventMessage or WebSockets.PresenceMessage or WebSockets.ChannelCountMessage or WebSockets.ChannelQueryMessage or WebSockets.ConnectionCountMessage:
                _pusher.OnMessage(worker, message);
                // An event of this node's also goes to every other node of the cluster.
                if (message is WebSockets.PusherEventMessage e) _node?.Cluster?.PublishPusher(e);
                break;
            case Background.EnsureBackgroundMessage ensure:
                _background?.Ensure(ensure.Names);
                break;
        }
    }

    private async Task RecycleIfCurrent(WorkerProcess worker)
    {
        bool current;
        lock (_lock) current = ReferenceEquals(_slots[worker.Slot], worker);
        if (current) await RecycleAsync(worker.Slot, "max-requests");
    }

    /// <summary>Pusher events and presence across the node's HTTP workers (docs/websockets.md).</summary>
    private WebSockets.PusherNodeRelay _pusher => _pusherRelay ??= new WebSockets.PusherNodeRelay(() => _live.Values, WebSockets.PusherWebhooks.Create(_options.PusherApps, _options.PusherWebhooks, _log));
    private WebSockets.PusherNodeRelay? _pusherRelay;

    /// <summary>Live worker processes by pid, including replacements not swapped into their slot yet.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, WorkerProcess> _live = new();

    private WorkerProcess? Find(int pid) => _live.TryGetValue(pid, out var w) ? w : null;

    // ---------- status ----------

    /// <summary>What GET /metrics shows (Askr.Metrics).</summary>
    internal Metrics.SupervisorMetrics Metrics => _metrics.Value;
    private readonly Lazy<Metrics.SupervisorMetrics> _metrics;

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
            Spread = (_node?.Spread ?? SpreadMode.Hash) == SpreadMode.Bpf ? "bpf" : "hash",
            Restarts = Interlocked.Read(ref _restarts),
            WorkersActive = _active,
            WorkersMin = _autoscaler?.Min ?? _options.Workers,
            WorkersMax = _options.Workers,
            Autoscale = _autoscaler is not null,
            ResponseCache = _node?.ResponseCache is { } responseCache ? Askr.ResponseCache.CacheStatus.Of(responseCache) : null,
            Cluster = _node?.Cluster is not { } cluster ? null : new ClusterStatus
            {
                NodeId = cluster.NodeId.ToString("x16"),
                Members = cluster.Members().Select(m => new MemberStatus { NodeId = m.Id.ToString("x16"), Address = m.Address, Status = m.Status.ToString().ToLowerInvariant(), Incarnation = m.Incarnation }).ToList(),
            },
            Background = _background?.Status(),
            Memory = ProcessMemory.Read(Environment.ProcessId),
            Workers = workers.Where(w => w is not null).Select(w => new WorkerStatus
            {
                Slot = w!.Slot,
                Kind = w.Kind.Name(),
                Pid = w.Pid,
                State = w.State.ToString().ToLowerInvariant(),
                Requests = Interlocked.Read(ref w.Requests),
                Memory = w.Memory(),
                UptimeSeconds = Math.Round((now - w.StartedAt).TotalSeconds, 1),
            }).ToList(),
        };
    }

    public async ValueTask DisposeAsync()
    {
        _hub.Dispose();
        try { if (_admin is not null) await _admin.DisposeAsync(); } catch (Exception e) { _log.Warning($"stopping the admin endpoint: {e.Message}"); }
        _control?.Dispose();
        if (_node is not null) await _node.DisposeAsync();
    }
}
