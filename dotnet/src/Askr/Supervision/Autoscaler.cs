namespace Askr.Supervision;

/// <summary>
/// The autoscaling rule of the HTTP workers (<c>--workers-min N --workers-max M</c>, docs/lifecycle.md):
/// from one load sample of the active workers every <see cref="SampleInterval"/>, the number of
/// workers that should take new connections. Pure: the supervisor feeds it the workers' reports
/// (StatsMessage.Http: in_flight and queued, 4 a second) and applies what it returns with
/// <see cref="ReuseportBalancer.SetActiveSlots"/>.
/// <para>
/// A worker runs one PHP request at a time, so a worker with a request in flight is busy and the
/// requests in flight over all workers are the demand in workers. Up: when the busy share of the
/// active workers is at least <see cref="UpBusyShare"/> or a request is queued, for
/// <see cref="UpSamples"/> samples in a row, the target is the demand (at least one more worker),
/// at most M. Down: once the busy share has stayed under <see cref="DownBusyShare"/> with nothing
/// queued for <see cref="QuietPeriod"/>, the target is the fewest workers (at least N) that would have kept the
/// busiest sample of that period under <see cref="DownBusyShare"/> busy; the period then starts again. The thresholds follow
/// the Kubernetes HorizontalPodAutoscaler's shape (scale on utilisation, a stabilisation window before
/// scaling down).
/// </para>
/// </summary>
internal sealed class Autoscaler
{
    /// <summary>How often the supervisor samples the workers' load.</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);
    public const double UpBusyShare = 0.8;
    public const int UpSamples = 2;
    public const double DownBusyShare = 0.3;
    /// <summary>Quiet time before a scale down (the default; tests may shorten it).</summary>
    public static readonly TimeSpan DefaultQuietPeriod = TimeSpan.FromSeconds(10);

    private int _upStreak;
    private DateTime? _quietSince;
    private int _quietPeakBusy;

    /// <param name="min">Fewest active workers, ≥ 1.</param>
    /// <param name="max">Most active workers, ≥ <paramref name="min"/>.</param>
    /// <param name="quietPeriod">Quiet time before a scale down; null: <see cref="DefaultQuietPeriod"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">min &lt; 1 or max &lt; min.</exception>
    public Autoscaler(int min, int max, TimeSpan? quietPeriod = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(min, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, min);
        Min = min;
        Max = max;
        QuietPeriod = quietPeriod ?? DefaultQuietPeriod;
    }

    public int Min { get; }
    public int Max { get; }
    public TimeSpan QuietPeriod { get; }

    /// <summary>One sample's figures, for the scale event's log line.</summary>
    public readonly record struct Load(int Active, int Busy, int InFlight, int Queued)
    {
        /// <summary>Busy share of the active workers, 0..1.</summary>
        public double BusyShare => Active == 0 ? 0 : (double)Busy / Active;
    }

    /// <summary>
    /// Takes one sample of the <paramref name="active"/> workers (in flight, including queued; queued)
    /// and returns the number of workers that should be active (== active.Count: no change).
    /// </summary>
    public int Sample(DateTime now, IReadOnlyList<(int InFlight, int Queued)> active, out Load load)
    {
        var n = active.Count;
        int busy = 0, inFlight = 0, queued = 0;
        foreach (var (f, q) in active)
        {
            if (f > 0) busy++;
            inFlight += Math.Max(0, f);
            queued += Math.Max(0, q);
        }
        load = new Load(n, busy, inFlight, queued);
        var share = load.BusyShare;

        if (share >= UpBusyShare || queued > 0) _upStreak++;
        else _upStreak = 0;
        if (share < DownBusyShare && queued == 0)
        {
            if (_quietSince is null) { _quietSince = now; _quietPeakBusy = 0; }
            _quietPeakBusy = Math.Max(_quietPeakBusy, busy);
        }
        else _quietSince = null;

        if (_upStreak >= UpSamples && n < Max)
        {
            _upStreak = 0;
            return Math.Clamp(Math.Max(n + 1, inFlight), Min, Max);
        }
        if (_quietSince is { } since && now - since >= QuietPeriod && n > Min)
        {
            var target = Math.Max(Min, (int)Math.Ceiling(_quietPeakBusy / DownBusyShare));
            _quietSince = now;
            _quietPeakBusy = 0;
            if (target < n) return target;
        }
        return Math.Clamp(n, Min, Max);
    }

    /// <summary>Forgets the streaks (after the active count changed by other means).</summary>
    public void Reset()
    {
        _upStreak = 0;
        _quietSince = null;
    }
}
