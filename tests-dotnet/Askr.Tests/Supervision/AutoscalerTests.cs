using Askr.Supervision;

namespace Askr.Tests.Supervision;

/// <summary>The autoscaling rule alone (Autoscaler), fed samples as the supervisor does every 250 ms.</summary>
public sealed class AutoscalerTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static (int, int)[] Busy(int workers, int inFlightEach, int queuedEach = 0) =>
        Enumerable.Repeat((inFlightEach, queuedEach), workers).ToArray();

    [Fact]
    public void Two_busy_samples_scale_up_to_the_demand_capped_at_max()
    {
        var scaler = new Autoscaler(1, 3);
        Assert.Equal(1, scaler.Sample(T0, Busy(1, 32, 31), out _));
        var target = scaler.Sample(T0.AddMilliseconds(250), Busy(1, 32, 31), out var load);
        Assert.Equal(3, target);
        Assert.Equal(1.0, load.BusyShare);
        Assert.Equal(31, load.Queued);
    }

    [Fact]
    public void A_busy_share_of_at_least_0_8_without_a_queue_adds_one_worker()
    {
        var scaler = new Autoscaler(1, 10);
        var sample = new[] { (1, 0), (1, 0), (1, 0), (1, 0), (0, 0) }; // 4 of 5 busy, nothing queued
        Assert.Equal(5, scaler.Sample(T0, sample, out _));
        Assert.Equal(6, scaler.Sample(T0.AddMilliseconds(250), sample, out _));
    }

    [Fact]
    public void One_busy_sample_between_quiet_ones_does_not_scale_up()
    {
        var scaler = new Autoscaler(1, 3);
        Assert.Equal(2, scaler.Sample(T0, Busy(2, 4, 3), out _));
        Assert.Equal(2, scaler.Sample(T0.AddMilliseconds(250), Busy(2, 0), out _));
        Assert.Equal(2, scaler.Sample(T0.AddMilliseconds(500), Busy(2, 4, 3), out _));
    }

    [Fact]
    public void Scale_down_waits_for_the_whole_quiet_period_and_goes_to_what_the_peak_needed()
    {
        var scaler = new Autoscaler(2, 20, TimeSpan.FromSeconds(10));
        var quiet = new (int, int)[10];
        quiet[0] = (1, 0); // the busiest sample of the period: 1 of 10 busy
        var t = T0;
        for (; t < T0.AddSeconds(10); t = t.AddMilliseconds(250))
            Assert.Equal(10, scaler.Sample(t, quiet, out _));
        // 1 busy worker kept under 0.3 busy needs ceil(1 / 0.3) = 4 workers.
        Assert.Equal(4, scaler.Sample(t, quiet, out _));
    }

    [Fact]
    public void A_busy_sample_restarts_the_quiet_period()
    {
        var scaler = new Autoscaler(1, 3, TimeSpan.FromSeconds(2));
        Assert.Equal(3, scaler.Sample(T0, Busy(3, 0), out _));
        Assert.Equal(3, scaler.Sample(T0.AddSeconds(1.5), Busy(3, 1), out _));
        Assert.Equal(3, scaler.Sample(T0.AddSeconds(3), Busy(3, 0), out _));
        Assert.Equal(3, scaler.Sample(T0.AddSeconds(4.5), Busy(3, 0), out _));
        Assert.Equal(1, scaler.Sample(T0.AddSeconds(5), Busy(3, 0), out _));
    }

    [Fact]
    public void Never_below_min_nor_above_max()
    {
        var scaler = new Autoscaler(2, 2, TimeSpan.FromSeconds(1));
        for (var i = 0; i < 20; i++) Assert.Equal(2, scaler.Sample(T0.AddMilliseconds(250 * i), Busy(2, 9, 8), out _));
        for (var i = 20; i < 40; i++) Assert.Equal(2, scaler.Sample(T0.AddMilliseconds(250 * i), Busy(2, 0), out _));
    }

    [Fact]
    public void Min_above_max_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Autoscaler(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Autoscaler(0, 2));
    }
}

/// <summary>The worker's side of shedding connections on a scale up (Worker.ConnectionShedding).</summary>
public sealed class ConnectionSheddingTests
{
    [Fact]
    public void A_request_for_n_connections_ends_exactly_n_responses_connections()
    {
        Askr.Worker.ConnectionShedding.Request(3);
        var taken = Enumerable.Range(0, 10).Count(_ => Askr.Worker.ConnectionShedding.TryTake());
        Assert.Equal(3, taken);
        Askr.Worker.ConnectionShedding.Request(-1);
        Assert.False(Askr.Worker.ConnectionShedding.TryTake());
    }
}
