using System.Diagnostics;
using Askr.ResponseCache;

namespace Askr.Tests.ResponseCache;

/// <summary>
/// The futex wake of coalesced waiters (SettleWatcher over CacheStore's settle word), on two
/// mappings of one /dev/shm file as two workers of a node have them.
/// </summary>
public sealed class SettleWatcherTests : IDisposable
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-settle-{Guid.NewGuid():N}.cache");
    private readonly CacheStore _leader;
    private readonly CacheStore _waiter;

    public SettleWatcherTests()
    {
        _leader = CacheStore.Create(_path, CacheStore.MinBytes, 1 << 20);
        _waiter = CacheStore.Open(_path);
    }

    public void Dispose()
    {
        _waiter.Dispose();
        _leader.Dispose();
        File.Delete(_path);
    }

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException(what);
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task A_store_through_one_mapping_wakes_a_waiter_on_the_other_long_before_the_tick()
    {
        // A tick of 60 s: only FUTEX_WAKE can end the wait within the assertion's 10 s.
        using var watcher = new SettleWatcher(_waiter, tickMilliseconds: 60_000);
        Assert.True(_leader.TryLead("k", Now, Now + 60_000, replace: false));
        var seen = _waiter.Settled;
        var wait = watcher.WaitAsync(seen);
        await UntilAsync(() => Volatile.Read(ref _waiter.SettleSleepers) == 1, "the watcher never slept on the settle word");
        Assert.False(wait.IsCompleted);

        Assert.True(_leader.Put("k", CacheEntryKind.Response, [1, 2, 3], Now, Now + 60_000, 0, 0));

        var woke = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(woke);
        Assert.NotEqual(seen, _waiter.Settled);
    }

    [Fact]
    public async Task Without_a_settle_the_wait_ends_at_the_tick_with_false()
    {
        using var watcher = new SettleWatcher(_waiter, tickMilliseconds: 200);
        var started = Stopwatch.StartNew();
        var woke = await watcher.WaitAsync(_waiter.Settled).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(woke);
        Assert.True(started.ElapsedMilliseconds >= 150, $"the tick came after {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task A_settle_between_the_look_up_and_the_wait_is_not_lost()
    {
        using var watcher = new SettleWatcher(_waiter, tickMilliseconds: 60_000);
        var seen = _waiter.Settled;
        _leader.Settle();
        var wait = watcher.WaitAsync(seen);
        Assert.True(wait.IsCompleted);
        Assert.True(await wait);
    }

    [Fact]
    public async Task Settles_racing_waits_never_leave_a_waiter_asleep()
    {
        // A settler on its own thread, waiters reading the word and waiting in a loop: with a
        // 60 s tick, a lost wake-up shows as a wait that does not end within 10 s.
        using var watcher = new SettleWatcher(_waiter, tickMilliseconds: 60_000);
        using var stop = new CancellationTokenSource();
        var settler = Task.Run(async () =>
        {
            var random = new Random(11);
            while (!stop.IsCancellationRequested)
            {
                _leader.Settle();
                if (random.Next(4) == 0) await Task.Yield(); else Thread.SpinWait(random.Next(2000));
            }
        });
        try
        {
            var waiters = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                for (var i = 0; i < 500; i++)
                {
                    var seen = _waiter.Settled;
                    await watcher.WaitAsync(seen).WaitAsync(TimeSpan.FromSeconds(10));
                    Assert.NotEqual(seen, _waiter.Settled);
                }
            })).ToArray();
            await Task.WhenAll(waiters);
        }
        finally
        {
            stop.Cancel();
            await settler;
        }
    }

    [Fact]
    public void The_word_moves_when_a_marker_is_stored_over_marked_hit_for_miss_or_abandoned_and_not_otherwise()
    {
        var before = _waiter.Settled;
        Assert.True(_leader.Put("plain", CacheEntryKind.Response, [1], Now, Now + 60_000, 0, 0));
        Assert.Equal(before, _waiter.Settled);

        Assert.True(_leader.TryLead("a", Now, Now + 60_000, replace: false));
        Assert.True(_leader.Put("a", CacheEntryKind.HitForMiss, [], Now, Now + 10_000, 0, 0));
        Assert.Equal(before + 1, _waiter.Settled);

        Assert.True(_leader.TryLead("b", Now, Now + 60_000, replace: false));
        _leader.Abandon("b");
        Assert.Equal(before + 2, _waiter.Settled);
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_leaves_no_waiter_behind()
    {
        using var watcher = new SettleWatcher(_waiter, tickMilliseconds: 60_000);
        using var cancel = new CancellationTokenSource();
        var wait = watcher.WaitAsync(_waiter.Settled, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [Fact]
    public async Task The_lock_hands_over_between_mappings_under_contention_without_losing_an_entry()
    {
        // Threads on both mappings store and read their own keys through the one lock word;
        // every stored entry must be found again, whatever the interleaving.
        var tasks = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var store = t % 2 == 0 ? _leader : _waiter;
            for (var i = 0; i < 2000; i++)
            {
                var key = $"t{t}-{i % 50}";
                Assert.True(store.Put(key, CacheEntryKind.Response, [(byte)t, (byte)i], Now, Now + 60_000, 0, 0));
                var entry = store.Get(key);
                Assert.NotNull(entry);
                entry.Return();
            }
        })).ToArray();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
    }
}
