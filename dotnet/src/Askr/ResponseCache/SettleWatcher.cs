using Askr.SharedMemory;

namespace Askr.ResponseCache;

/// <summary>
/// Wakes this process's requests that wait for a key's leader (docs/response-cache.md,
/// "Coalescing"): one thread per process sleeps in FUTEX_WAIT on the store's settle word while
/// any request waits, and completes one broadcast task when the word moves, so no request thread
/// blocks and a settle in any worker of the node wakes every waiter at once.
///
/// No lost wake-up: a waiter reads <see cref="CacheStore.Settled"/> before it looks its key up
/// and passes that value to <see cref="WaitAsync"/>, which returns at once if the word has moved
/// since. The watcher registers as a sleeper before it re-reads the word and the settler bumps the
/// word before it reads the sleeper count (both interlocked), so either the watcher sees the new
/// value or the settler sees the sleeper and calls FUTEX_WAKE; FUTEX_WAIT itself returns at once
/// if the word differs from the value it was given.
///
/// Safety net: the futex sleep is bounded by <see cref="TickMilliseconds"/>; on a timeout the
/// broadcast completes anyway (with false), so waiters re-check leaders that died or ran past
/// their deadline without a settle.
/// </summary>
public sealed class SettleWatcher : IDisposable
{
    /// <summary>Longest futex sleep, milliseconds: how late a waiter notices a change that did not settle (a dead leader).</summary>
    public const int TickMilliseconds = 100;

    private readonly CacheStore _store;
    private readonly AutoResetEvent _work = new(false);
    private TaskCompletionSource<bool> _broadcast = NewBroadcast();
    private int _waiters;
    private volatile bool _disposed;
    private Thread? _thread;
    private readonly object _start = new();

    private readonly int _tickMilliseconds;

    /// <param name="store">The mapping whose settle word is watched.</param>
    /// <param name="tickMilliseconds">Longest futex sleep (tests lengthen it to tell a wake from a tick).</param>
    public SettleWatcher(CacheStore store, int tickMilliseconds = TickMilliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tickMilliseconds, 1);
        _store = store;
        _tickMilliseconds = tickMilliseconds;
    }

    private static TaskCompletionSource<bool> NewBroadcast() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when the settle word differs from <paramref name="seen"/> (true), or at the next
    /// tick (false, at most <see cref="TickMilliseconds"/> plus scheduling), whichever is first.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellation"/> fires.
    /// </summary>
    public async Task<bool> WaitAsync(int seen, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_store.Settled != seen) return true;
        EnsureStarted();
        Interlocked.Increment(ref _waiters);
        _work.Set();
        try
        {
            while (true)
            {
                var broadcast = Volatile.Read(ref _broadcast);
                if (_store.Settled != seen) return true;
                // A broadcast may complete for a move the watcher saw before `seen` was read (the
                // watcher lags when it was idle): then the word still equals `seen`, and we wait again.
                var moved = await broadcast.Task.WaitAsync(cancellation).ConfigureAwait(false);
                if (_store.Settled != seen) return true;
                if (!moved || _disposed) return false;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    private void EnsureStarted()
    {
        if (_thread is not null) return;
        lock (_start)
        {
            if (_thread is not null) return;
            _thread = new Thread(Run) { IsBackground = true, Name = "askr-cache-settle" };
            _thread.Start();
        }
    }

    private unsafe void Run()
    {
        var seen = _store.Settled;
        while (!_disposed)
        {
            if (Volatile.Read(ref _waiters) == 0)
            {
                // Nobody waits in this process: sleep without touching the shared word.
                _work.WaitOne();
                continue;
            }
            Interlocked.Increment(ref _store.SettleSleepers);
            try
            {
                if (_store.Settled == seen) Futex.Wait(_store.SettledWord, seen, _tickMilliseconds);
            }
            finally
            {
                Interlocked.Decrement(ref _store.SettleSleepers);
            }
            var now = _store.Settled;
            var moved = now != seen;
            seen = now;
            // A new broadcast for the next wait, then complete the old one: every waiter that read it re-checks.
            Interlocked.Exchange(ref _broadcast, NewBroadcast()).TrySetResult(moved);
        }
    }

    /// <summary>Stops the watcher thread and waits for it (it touches the mapping, so it must be gone before the store is disposed); pending waits complete with false.</summary>
    public unsafe void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_thread is { } thread)
        {
            // FUTEX_WAKE without a change of the word: the thread may be between its check and
            // its sleep, so wake until it has gone.
            do
            {
                _work.Set();
                Futex.WakeAll(_store.SettledWord);
            }
            while (!thread.Join(10));
        }
        Interlocked.Exchange(ref _broadcast, NewBroadcast()).TrySetResult(false);
        _work.Dispose();
    }
}
