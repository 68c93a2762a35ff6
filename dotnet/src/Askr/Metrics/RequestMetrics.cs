using System.Text.Json.Serialization;

namespace Askr.Metrics;

/// <summary>
/// What an HTTP worker process counts of its requests for the supervisor's <c>GET /metrics</c>
/// (docs/runtime.md, "Metrics"): answers and their durations by status class, bucketed as the
/// Prometheus histogram is, plus what is in flight. The worker sends the change since its last
/// report once a second (StatsMessage); the supervisor adds it to its prometheus-net metrics,
/// so the totals outlive a worker's restart.
/// Per bucket it keeps the count and the sum of the durations, so that the supervisor can
/// replay a bucket as one observation of its mean times its count: bucket counts and the
/// histogram's sum both come out exact.
/// </summary>
internal sealed class RequestMetrics
{
    /// <summary>Upper bounds of the duration buckets, in seconds (then +Inf).</summary>
    public static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    /// <summary>Status classes 1xx..5xx; index = status / 100 - 1.</summary>
    public const int Classes = 5;
    private static readonly int Slots = Classes * (Buckets.Length + 1);

    private readonly object _lock = new();
    private long[] _counts = new long[Slots];
    private double[] _sums = new double[Slots];
    private int _inFlight;

    /// <summary>The process's accumulator.</summary>
    public static RequestMetrics Current { get; } = new();

    /// <summary>Requests Kestrel handed to askr that have no answer written yet.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>PHP's memory_get_usage() after its last answer, in bytes.</summary>
    public long PhpMemory { get => Volatile.Read(ref _phpMemory); set => Volatile.Write(ref _phpMemory, value); }
    private long _phpMemory;

    public void Started() => Interlocked.Increment(ref _inFlight);

    /// <summary>TCP connections Kestrel holds open (plain and HTTPS), keep-alive ones included.</summary>
    public int Connections => Volatile.Read(ref _connections);
    private int _connections;

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    /// <summary>One answered request: <paramref name="status"/> 100..599 (others are not counted), <paramref name="seconds"/> from arrival to the end of the response.</summary>
    public void Finished(int status, double seconds)
    {
        Interlocked.Decrement(ref _inFlight);
        var cls = status / 100 - 1;
        if (cls is < 0 or >= Classes) return;
        var bucket = Array.BinarySearch(Buckets, seconds);
        if (bucket < 0) bucket = ~bucket; // first bound >= seconds; Buckets.Length: +Inf
        var i = cls * (Buckets.Length + 1) + bucket;
        lock (_lock)
        {
            _counts[i]++;
            _sums[i] += seconds;
        }
    }

    /// <summary>What was counted since the last call (and resets it), with the gauges of the moment.</summary>
    public HttpStatsDelta TakeDelta(int queued)
    {
        long[] counts;
        double[] sums;
        lock (_lock)
        {
            counts = _counts;
            sums = _sums;
            _counts = new long[Slots];
            _sums = new double[Slots];
        }
        return new HttpStatsDelta { Counts = counts, Sums = sums, InFlight = InFlight, Queued = queued, Connections = Connections, PhpMemory = PhpMemory };
    }
}

/// <summary>Part of a worker's StatsMessage: its requests since the last report (RequestMetrics).</summary>
public sealed class HttpStatsDelta
{
    /// <summary>Answers per status class and duration bucket: index class * (buckets + 1) + bucket.</summary>
    [JsonPropertyName("counts")] public long[] Counts { get; init; } = [];
    /// <summary>Sum of those answers' durations, in seconds, same index.</summary>
    [JsonPropertyName("sums")] public double[] Sums { get; init; } = [];
    [JsonPropertyName("in_flight")] public int InFlight { get; init; }
    /// <summary>Requests waiting for the PHP thread.</summary>
    [JsonPropertyName("queued")] public int Queued { get; init; }
    /// <summary>Open TCP connections (keep-alive ones included): an autoscaled worker is stopped only with none.</summary>
    [JsonPropertyName("connections")] public int Connections { get; init; }
    /// <summary>PHP's memory_get_usage() after its last answer, in bytes.</summary>
    [JsonPropertyName("php_memory")] public long PhpMemory { get; init; }
}
