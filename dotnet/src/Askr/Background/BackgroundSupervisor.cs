using System.Text.Json.Serialization;
using Askr.Cli;
using Askr.Logging;
using Askr.Supervision;

namespace Askr.Background;

/// <summary>
/// The supervisor's background workers (docs/background-workers.md): for each declared name,
/// <c>num</c> processes (started at once, or at the first ensure_background_worker() when lazy),
/// and for the catch-all entrypoint one process per name asked for, up to its cap. Each process
/// is restarted when it exits by itself, after a capped backoff (0, 0.5, 1, 2, 5, 10 s; reset
/// once an attempt ran 30 s), and stopped on shutdown and reload with SIGTERM, then SIGKILL
/// after --background-grace. While a worker has never published, --background-max-failures
/// failed attempts in a row stop askr serve with the last attempt's error.
///
/// A scope=cluster worker (in a cluster, <see cref="AttachCluster"/>) runs only on the node
/// <see cref="IBackgroundPlacement.OwnerOf"/> names: every <see cref="PlacementInterval"/> each
/// node starts the cluster workers it now owns and stops (grace, then kill) those it no longer
/// owns. Its vars reach the other nodes through the cluster (Cluster.ClusterNode.Vars.cs).
/// </summary>
internal sealed class BackgroundSupervisor
{
    private static readonly TimeSpan[] Backoff =
        [TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];
    private static readonly TimeSpan HealthyUptime = TimeSpan.FromSeconds(30);

    private readonly ServeOptions _options;
    private readonly LogWriter _log;
    private readonly VarsStore _vars;
    private readonly Func<BackgroundInstance, WorkerProcess> _spawn;
    private readonly Action<string> _abort;
    private readonly object _lock = new();
    private readonly List<BackgroundInstance> _instances = [];
    private readonly CancellationTokenSource _stopping = new();
    private IBackgroundPlacement? _placement;

    /// <summary>How often the placement of scope=cluster workers is checked against the membership.</summary>
    public static readonly TimeSpan PlacementInterval = TimeSpan.FromMilliseconds(200);

    /// <param name="spawn">Starts a process for an instance (the supervisor's: command line, control routing).</param>
    /// <param name="abort">Stops askr serve with a reason (a worker that cannot boot).</param>
    public BackgroundSupervisor(ServeOptions options, LogWriter log, VarsStore vars, Func<BackgroundInstance, WorkerProcess> spawn, Action<string> abort)
    {
        _options = options;
        _log = log;
        _vars = vars;
        _spawn = spawn;
        _abort = abort;
    }

    private TimeSpan Grace => TimeSpan.FromSeconds(_options.BackgroundGraceSeconds);

    /// <summary>Places the scope=cluster workers by <paramref name="placement"/> (call before <see cref="StartEager"/>).</summary>
    public void AttachCluster(IBackgroundPlacement placement) => _placement = placement;

    /// <summary>Starts the declared workers that are not lazy; scope=cluster ones where placement puts them.</summary>
    public void StartEager()
    {
        var clustered = _placement is not null ? _options.BackgroundWorkers.Where(b => b.Cluster).ToList() : [];
        if (_placement is null && _options.BackgroundWorkers.Any(b => b.Cluster))
            _log.Warning("background workers with scope=cluster run on this node: askr serve is not in a cluster (--cluster-port)");
        foreach (var spec in _options.BackgroundWorkers.Where(b => !b.Lazy && !clustered.Contains(b))) Start(spec.Name, spec.Script, spec.Count);
        if (clustered.Count > 0) _ = PlaceLoopAsync(clustered);
        if (_options.HasBackgroundWorkers)
            _log.Info($"background workers: {string.Join(", ", _options.BackgroundWorkers.Select(b => b.ToString()))}{(_options.BackgroundEntrypoint is { } e ? $"{(_options.BackgroundWorkers.Count > 0 ? ", " : "")}catch-all {e} (up to {_options.BackgroundEntrypointCap} names)" : "")}");
    }

    /// <summary>ensure_background_worker(): starts each name that is not running (a lazy one, or a catch-all name), once.</summary>
    public void Ensure(IEnumerable<string> names)
    {
        if (_stopping.IsCancellationRequested) return;
        foreach (var name in names)
        {
            lock (_lock)
            {
                if (_instances.Any(i => i.Name == name)) continue;
                if (_placement is not null && _options.BackgroundWorkers.Any(b => b.Name == name && b.Cluster)) continue; // placed, not ensured
                if (_options.BackgroundWorkers.FirstOrDefault(b => b.Name == name) is { } spec)
                {
                    Start(spec.Name, spec.Script, spec.Count);
                    continue;
                }
                if (_options.BackgroundEntrypoint is not { } entrypoint) continue;
                if (_vars.CatchAllInUse() >= _options.BackgroundEntrypointCap || _vars.FreeSlot() is var free && free < 0)
                {
                    _log.Error($"background worker \"{name}\" is not started: the catch-all already runs {_options.BackgroundEntrypointCap} names (--background-entrypoint-cap)");
                    continue;
                }
                if (System.Text.Encoding.UTF8.GetByteCount(name) is 0 or > VarsStore.MaxNameBytes) continue;
                _vars.Name(free, name, VarsStore.FlagCatchAll | VarsStore.FlagLazy);
                Start(name, entrypoint, 1);
            }
        }
    }

    private void Start(string name, string script, int count)
    {
        lock (_lock)
        {
            var slot = _vars.Find(name);
            for (var i = 0; i < count; i++)
            {
                var instance = new BackgroundInstance(name, script, slot, i) { Eager = (_vars.Flags(slot) & VarsStore.FlagLazy) == 0 };
                _instances.Add(instance);
                _ = RunAsync(instance);
            }
        }
    }

    private async Task PlaceLoopAsync(List<BackgroundWorkerSpec> specs)
    {
        var placement = _placement!;
        while (!_stopping.IsCancellationRequested)
        {
            foreach (var spec in specs)
            {
                if (placement.OwnerOf(spec.Name) is not { } owner) continue; // the cluster is not known yet
                List<BackgroundInstance> moving = [];
                lock (_lock)
                {
                    var running = _instances.Any(i => i.Name == spec.Name);
                    if (owner == placement.NodeId && !running)
                    {
                        _log.Info($"background worker \"{spec.Name}\" (scope=cluster) runs on this node ({placement.NodeId:x16})");
                        Start(spec.Name, spec.Script, spec.Count);
                    }
                    else if (owner != placement.NodeId && running)
                    {
                        _log.Info($"background worker \"{spec.Name}\" (scope=cluster) moves to node {owner:x16}: stopping it here");
                        moving = _instances.Where(i => i.Name == spec.Name).ToList();
                        foreach (var i in moving)
                        {
                            i.Removed = true;
                            _instances.Remove(i);
                        }
                    }
                }
                foreach (var i in moving)
                    _ = Task.Run(async () =>
                    {
                        try { if (i.Current is { } p) await p.StopAsync(Grace); }
                        catch (Exception e) { _log.Error($"stopping background worker \"{i.Name}\": {e.Message}"); }
                    });
            }
            try { await Task.Delay(PlacementInterval, _stopping.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task RunAsync(BackgroundInstance instance)
    {
        while (!_stopping.IsCancellationRequested && !instance.Removed)
        {
            WorkerProcess process;
            try
            {
                _vars.StartAttempt(instance.Slot);
                process = _spawn(instance);
            }
            catch (Exception e)
            {
                _log.Error($"cannot start background worker \"{instance.Name}\": {e.Message}");
                return;
            }
            instance.Current = process;
            var code = await process.Exited;
            var uptime = DateTime.UtcNow - process.StartedAt;
            if (instance.Removed)
            {
                // Moved to another node of the cluster (PlaceLoopAsync stopped it).
                _vars.EndAttempt(instance.Slot, process.Pid, code, 0);
                return;
            }
            if (process.Retiring && !_stopping.IsCancellationRequested)
            {
                // Reload: not a failure; start again at once.
                _vars.EndAttempt(instance.Slot, process.Pid, code, 0);
                continue;
            }
            if (_stopping.IsCancellationRequested)
            {
                _vars.EndAttempt(instance.Slot, process.Pid, code, instance.Failures);
                return;
            }
            if (uptime > HealthyUptime) instance.Failures = 0;
            instance.Failures++;
            Interlocked.Increment(ref instance.Restarts);
            _vars.EndAttempt(instance.Slot, process.Pid, code, instance.Failures);
            var why = code is > 128 and < 160 ? $"killed by signal {code - 128}" : $"exited with status {code}";
            var max = _options.BackgroundMaxFailures;
            // Only an eager worker that never published stops the server: it is part of start-up
            // (a broken dependency). A lazy one keeps its restart cycle; ensure() reports it.
            if (max > 0 && instance.Eager && instance.Failures >= max && _vars.Generation(instance.Slot) == 0)
            {
                var reason = $"background worker \"{instance.Name}\" failed {instance.Failures} times in a row without publishing its vars (--background-max-failures {max}): {BackgroundNatives.Describe(_vars, instance.Name)}";
                _log.Error(reason);
                _abort(reason);
                return;
            }
            var delay = Backoff[Math.Min(instance.Failures - 1, Backoff.Length - 1)];
            _log.Error($"background worker \"{instance.Name}\" (pid {process.Pid}) {why}; restarting{(delay > TimeSpan.Zero ? $" in {delay.TotalSeconds:0.#} s" : "")}");
            try { await Task.Delay(delay, _stopping.Token); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Reload: each background process is stopped (grace, then kill) and started again.</summary>
    public async Task ReloadAsync()
    {
        BackgroundInstance[] all;
        lock (_lock) all = _instances.ToArray();
        foreach (var instance in all)
        {
            if (_stopping.IsCancellationRequested) return;
            if (instance.Current is { } p) await p.StopAsync(Grace);
        }
    }

    /// <summary>Shutdown: every background process gets SIGTERM, then SIGKILL after the grace period.</summary>
    public async Task StopAllAsync()
    {
        _stopping.Cancel();
        BackgroundInstance[] all;
        lock (_lock) all = _instances.ToArray();
        await Task.WhenAll(all.Select(async i =>
        {
            try { if (i.Current is { } p) await p.StopAsync(Grace); }
            catch (Exception e) { _log.Error($"stopping background worker \"{i.Name}\": {e.Message}"); }
        }));
    }

    /// <summary>For /status: one entry per process of each started name, then one per declared name not started.</summary>
    public List<BackgroundWorkerStatus> Status()
    {
        BackgroundInstance[] all;
        lock (_lock) all = _instances.ToArray();
        var now = DateTime.UtcNow;
        var list = all.Select(i => new BackgroundWorkerStatus
        {
            Name = i.Name,
            Script = i.Script,
            Index = i.Index,
            Pid = i.Current?.Pid,
            State = i.Current?.State.ToString().ToLowerInvariant() ?? "starting",
            Restarts = Interlocked.Read(ref i.Restarts),
            Generation = _vars.Generation(i.Slot),
            UptimeSeconds = i.Current is { } p ? Math.Round((now - p.StartedAt).TotalSeconds, 1) : 0,
            Memory = i.Current?.Memory() ?? default,
            Scope = _options.BackgroundWorkers.Any(b => b.Name == i.Name && b.Cluster) ? "cluster" : "node",
            Node = _placement?.NodeId.ToString("x16"),
        }).ToList();
        foreach (var spec in _options.BackgroundWorkers.Where(b => all.All(i => i.Name != b.Name)))
        {
            var remote = spec.Cluster && _placement is not null;
            list.Add(new BackgroundWorkerStatus
            {
                Name = spec.Name,
                Script = spec.Script,
                State = remote ? "remote" : "lazy",
                Generation = remote ? _vars.Generation(_vars.Find(spec.Name)) : 0,
                Scope = spec.Cluster ? "cluster" : "node",
                Node = remote && _placement!.OwnerOf(spec.Name) is { } owner ? owner.ToString("x16") : null,
            });
        }
        return list;
    }
}

/// <summary>One process of a background worker name (index among its pool), across restarts.</summary>
internal sealed class BackgroundInstance(string name, string script, int slot, int index)
{
    public string Name { get; } = name;
    public string Script { get; } = script;
    /// <summary>The name's slot in the <see cref="VarsStore"/>.</summary>
    public int Slot { get; } = slot;
    public int Index { get; } = index;
    /// <summary>Started with askr serve (not lazy, not a catch-all name).</summary>
    public bool Eager { get; init; }
    public volatile WorkerProcess? Current;
    /// <summary>A scope=cluster instance stopped because its name moved to another node: not restarted.</summary>
    public volatile bool Removed;
    public int Failures;
    public long Restarts;
}

/// <summary>A background worker process in <c>GET /status</c>.</summary>
public sealed class BackgroundWorkerStatus
{
    [JsonPropertyName("name")] public string Name { get; init; } = "";
    [JsonPropertyName("script")] public string Script { get; init; } = "";
    /// <summary>Its place in the name's pool (num=N).</summary>
    [JsonPropertyName("index")] public int Index { get; init; }
    [JsonPropertyName("pid")] public int? Pid { get; init; }
    /// <summary>starting, ready, draining, exited (restarting), lazy (never started), or remote (scope=cluster, running on another node).</summary>
    [JsonPropertyName("state")] public string State { get; init; } = "";
    [JsonPropertyName("restarts")] public long Restarts { get; init; }
    /// <summary>The name's snapshot generation: 0 until its first set_vars().</summary>
    [JsonPropertyName("generation")] public long Generation { get; init; }
    /// <summary>node, or cluster (runs on one node of the cluster: <see cref="Node"/>).</summary>
    [JsonPropertyName("scope")] public string Scope { get; init; } = "node";
    /// <summary>In a cluster: the id (16 hex digits) of the node this process runs on, or, for a remote one, of the node that runs it.</summary>
    [JsonPropertyName("node")] public string? Node { get; init; }
    [JsonPropertyName("uptime_seconds")] public double UptimeSeconds { get; init; }
    /// <summary>Resident set size, in bytes (<see cref="ProcessMemory.RssBytes"/>); 0 when no process runs.</summary>
    [JsonPropertyName("rss_bytes")] public long RssBytes => Memory.RssBytes;
    /// <summary>RSS and PSS with PSS's anonymous/file/shmem split (<see cref="ProcessMemory"/>).</summary>
    [JsonPropertyName("memory")] public ProcessMemory Memory { get; init; }
}

/// <summary>Where scope=cluster background workers run (implemented by the node's cluster agent).</summary>
internal interface IBackgroundPlacement
{
    /// <summary>This node's id.</summary>
    ulong NodeId { get; }

    /// <summary>The node that runs <paramref name="name"/>; null while the membership is not known yet.</summary>
    ulong? OwnerOf(string name);
}
