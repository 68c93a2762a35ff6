using Askr.Supervision;
using Prometheus;

namespace Askr.Metrics;

/// <summary>
/// The metrics of <c>GET /metrics</c> on the admin endpoint, in Prometheus' text exposition
/// format, through prometheus-net (a registry of this supervisor's own, without the library's
/// default process metrics). Names and units follow Prometheus' conventions (<c>_total</c>
/// counters, <c>_seconds</c>, <c>_bytes</c>); the list is in docs/runtime.md, "Metrics".
/// Request counts and durations arrive from the workers once a second (RequestMetrics, StatsMessage)
/// and are added here, so they are node totals that survive worker restarts; the gauges are read
/// from the supervisor's status when Prometheus scrapes.
/// </summary>
internal sealed class SupervisorMetrics
{
    private static readonly string[] ClassNames = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly CollectorRegistry _registry = Prometheus.Metrics.NewCustomRegistry();
    private readonly Counter _requests;
    private readonly Histogram _durations;
    private readonly Gauge _inFlight;
    private readonly Gauge _queued;
    private readonly Gauge _workers;
    private readonly Gauge _workersActive, _workersMin, _workersMax;
    private readonly Counter _restarts;
    private readonly Gauge _rss;
    private readonly Gauge _pss;
    private readonly Gauge _supervisorRss;
    private readonly Gauge _supervisorPss;
    private readonly Gauge _nodePss;
    private readonly Gauge _phpMemory;
    private readonly Gauge _tableRows;
    private readonly Gauge _tableCapacity;
    private readonly Gauge _clusterMembers;
    private readonly Counter _respCommands;
    private readonly Dictionary<int, HttpStatsDelta> _lastBySlot = new();
    private readonly object _lock = new();

    public SupervisorMetrics(Func<SupervisorStatus> status, Func<IEnumerable<(string Name, int Rows, int Capacity)>> tables)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(_registry);
        _requests = f.CreateCounter("askr_http_requests_total", "HTTP requests answered, by status class.", new CounterConfiguration { LabelNames = ["code"] });
        _durations = f.CreateHistogram("askr_http_request_duration_seconds", "Time from a request's arrival in the worker to the end of its response, by status class.",
            new HistogramConfiguration { LabelNames = ["code"], Buckets = RequestMetrics.Buckets });
        _inFlight = f.CreateGauge("askr_http_requests_in_flight", "Requests received and not yet answered, per HTTP worker slot.", new GaugeConfiguration { LabelNames = ["slot"] });
        _queued = f.CreateGauge("askr_worker_queue_depth", "Requests waiting for the PHP thread, per HTTP worker slot.", new GaugeConfiguration { LabelNames = ["slot"] });
        _workers = f.CreateGauge("askr_workers", "Worker processes by kind and state.", new GaugeConfiguration { LabelNames = ["kind", "state"] });
        _workersActive = f.CreateGauge("askr_workers_active", "HTTP workers that take new connections (autoscaling: the active slots; otherwise every HTTP worker slot).");
        _workersMin = f.CreateGauge("askr_workers_min", "Fewest HTTP workers (--workers-min; the fixed --workers without autoscaling).");
        _workersMax = f.CreateGauge("askr_workers_max", "Most HTTP workers (--workers-max; the fixed --workers without autoscaling).");
        _restarts = f.CreateCounter("askr_worker_restarts_total", "Worker processes started again after a crash or a failed start.");
        _rss = f.CreateGauge("askr_worker_resident_memory_bytes", "Resident set size of each worker process (Rss of /proc/PID/smaps_rollup).", new GaugeConfiguration { LabelNames = ["kind", "slot"] });
        _pss = f.CreateGauge("askr_worker_pss_bytes", "Proportional set size of each worker process (Pss of /proc/PID/smaps_rollup: a page shared by N processes counts 1/N).", new GaugeConfiguration { LabelNames = ["kind", "slot"] });
        _supervisorRss = f.CreateGauge("askr_supervisor_resident_memory_bytes", "Resident set size of the supervisor process (Rss of /proc/PID/smaps_rollup).");
        _supervisorPss = f.CreateGauge("askr_supervisor_pss_bytes", "Proportional set size of the supervisor process (Pss of /proc/PID/smaps_rollup).");
        _nodePss = f.CreateGauge("askr_node_pss_bytes", "Sum of the PSS of the supervisor, its workers and background workers: the memory the node's processes use together.");
        _phpMemory = f.CreateGauge("askr_php_memory_bytes", "PHP's memory_get_usage() after the worker's last answer.", new GaugeConfiguration { LabelNames = ["slot"] });
        _tableRows = f.CreateGauge("askr_table_rows", "Rows in use per table.", new GaugeConfiguration { LabelNames = ["table"] });
        _tableCapacity = f.CreateGauge("askr_table_capacity_rows", "Rows each table was declared with.", new GaugeConfiguration { LabelNames = ["table"] });
        _clusterMembers = f.CreateGauge("askr_cluster_members", "Cluster members this node knows, by status (alive, suspect, dead, left).", new GaugeConfiguration { LabelNames = ["status"] });
        _respCommands = f.CreateCounter("askr_resp_commands_total", "RESP commands executed (--resp-port), by command.", new CounterConfiguration { LabelNames = ["command"] });
        foreach (var name in ClassNames) _requests.WithLabels(name); // every class shows from the start, at 0

        _registry.AddBeforeCollectCallback(() =>
        {
            var s = status();
            _restarts.IncTo(s.Restarts);
            _workersActive.Set(s.WorkersActive);
            _workersMin.Set(s.WorkersMin);
            _workersMax.Set(s.WorkersMax);
            foreach (var labels in _workers.GetAllLabelValues().ToList()) _workers.WithLabels(labels).Set(0);
            foreach (var g in s.Workers.GroupBy(w => (w.Kind, w.State))) _workers.WithLabels(g.Key.Kind, g.Key.State).Set(g.Count());
            Replace(_rss, s.Workers.Select(w => (new[] { w.Kind, w.Slot.ToString() }, (double)w.Memory.RssBytes)));
            Replace(_pss, s.Workers.Where(w => w.Memory.PssBytes > 0).Select(w => (new[] { w.Kind, w.Slot.ToString() }, (double)w.Memory.PssBytes)));
            _supervisorRss.Set(s.Memory.RssBytes);
            _supervisorPss.Set(s.Memory.PssBytes);
            _nodePss.Set(s.NodePssBytes);
            lock (_lock)
            {
                Replace(_inFlight, _lastBySlot.Select(p => (new[] { p.Key.ToString() }, (double)p.Value.InFlight)));
                Replace(_queued, _lastBySlot.Select(p => (new[] { p.Key.ToString() }, (double)p.Value.Queued)));
                Replace(_phpMemory, _lastBySlot.Where(p => p.Value.PhpMemory > 0).Select(p => (new[] { p.Key.ToString() }, (double)p.Value.PhpMemory)));
            }
            foreach (var (name, rows, capacity) in tables())
            {
                _tableRows.WithLabels(name).Set(rows);
                _tableCapacity.WithLabels(name).Set(capacity);
            }
            var executed = Resp.RespCommands.ExecutedTotals();
            foreach (var command in Resp.RespCommands.All)
            {
                var n = executed[(int)command.Id];
                if (n > 0) _respCommands.WithLabels(command.Name).IncTo(n);
            }
            Replace(_clusterMembers, (s.Cluster?.Members ?? []).GroupBy(m => m.Status).Select(g => (new[] { g.Key }, (double)g.Count())));
        });
    }

    /// <summary>Adds an HTTP worker's report (StatsMessage.Http) of slot <paramref name="slot"/>.</summary>
    public void Add(int slot, HttpStatsDelta delta)
    {
        var width = RequestMetrics.Buckets.Length + 1;
        if (delta.Counts.Length != RequestMetrics.Classes * width || delta.Sums.Length != delta.Counts.Length) return;
        for (var cls = 0; cls < RequestMetrics.Classes; cls++)
        {
            long answered = 0;
            for (var b = 0; b < width; b++)
            {
                var i = cls * width + b;
                var count = delta.Counts[i];
                if (count <= 0) continue;
                // Replayed as `count` observations of the bucket's mean: the mean lies in the
                // bucket, so bucket counts and the sum are those the worker saw.
                _durations.WithLabels(ClassNames[cls]).Observe(delta.Sums[i] / count, count);
                answered += count;
            }
            if (answered > 0) _requests.WithLabels(ClassNames[cls]).Inc(answered);
        }
        lock (_lock) _lastBySlot[slot] = delta;
    }

    /// <summary>Writes the text exposition format (text/plain; version=0.0.4).</summary>
    public Task WriteAsync(Stream output, CancellationToken ct) => _registry.CollectAndExportAsTextAsync(output, ct);

    private static void Replace(Gauge gauge, IEnumerable<(string[] Labels, double Value)> values)
    {
        var keep = new HashSet<string>();
        foreach (var (labels, value) in values)
        {
            gauge.WithLabels(labels).Set(value);
            keep.Add(string.Join('\0', labels));
        }
        foreach (var labels in gauge.GetAllLabelValues().ToList())
            if (!keep.Contains(string.Join('\0', labels))) gauge.RemoveLabelled(labels);
    }
}
