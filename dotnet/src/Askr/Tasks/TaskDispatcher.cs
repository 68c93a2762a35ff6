using System.Collections.Concurrent;
using System.Diagnostics;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>What became of one task of a batch.</summary>
public enum TaskOutcomeStatus
{
    Ok = Php.ShimInterop.TaskOk,
    /// <summary>The task worker failed (fatal error, crash) or answered with an error status.</summary>
    Error = Php.ShimInterop.TaskError,
    /// <summary>No result before the caller's deadline.</summary>
    Timeout = Php.ShimInterop.TaskTimeout,
    /// <summary>The server runs no task workers.</summary>
    Unavailable = Php.ShimInterop.TaskUnavailable,
}

public readonly record struct TaskOutcome(TaskOutcomeStatus Status, byte[]? Data, string? Message);

/// <summary>
/// An HTTP worker's side of Octane::concurrently(): hands a batch of serialized tasks to task
/// workers and blocks the calling (PHP) thread until every result is back or the deadline
/// passes. Each task goes straight to an idle task worker claimed on the <see cref="TaskBoard"/>
/// (over that worker's socket, <see cref="DirectTaskChannel"/>); the tasks that find none idle go
/// to the supervisor, which queues them (FIFO) until a task worker is free. Results arriving
/// after the deadline are dropped; the tasks themselves run to their end in the task workers.
/// </summary>
public sealed class TaskDispatcher : IDisposable
{
    private readonly ControlClient _control;
    private readonly TaskBoard? _board;
    private readonly ConcurrentDictionary<long, Batch> _pending = new();
    private readonly DirectTaskChannel?[] _channels;
    private readonly int _pid = Environment.ProcessId;
    private long _nextBatch;

    /// <param name="board">The node's task board; null: every task goes through the supervisor.</param>
    public TaskDispatcher(ControlClient control, TaskBoard? board = null)
    {
        _control = control;
        _board = board;
        _channels = new DirectTaskChannel?[board?.Slots ?? 0];
    }

    private sealed class Batch(int count)
    {
        public readonly TaskOutcome?[] Results = new TaskOutcome?[count];
        public readonly ManualResetEventSlim Done = new(false);
        private int _remaining = count;

        public void Set(int index, TaskOutcome outcome)
        {
            if ((uint)index >= (uint)Results.Length) return;
            lock (Results)
            {
                if (Results[index] is not null) return;
                Results[index] = outcome;
            }
            if (Interlocked.Decrement(ref _remaining) == 0) Done.Set();
        }
    }

    /// <summary>
    /// Runs <paramref name="payloads"/> on task workers. With <paramref name="wait"/>, blocks at
    /// most <paramref name="timeoutMilliseconds"/> and returns one outcome per payload, in order
    /// (Timeout for those not back in time); without, returns at once with no outcomes.
    /// </summary>
    public TaskOutcome[] Run(IReadOnlyList<byte[]> payloads, int timeoutMilliseconds, bool wait)
    {
        if (payloads.Count == 0) return [];
        var id = Interlocked.Increment(ref _nextBatch);
        var batch = new Batch(payloads.Count);
        if (wait) _pending[id] = batch;
        List<byte[]>? queued = null;
        List<int>? indices = null;
        for (var i = 0; i < payloads.Count; i++)
        {
            if (TrySendDirect(id, i, payloads[i])) continue;
            (queued ??= []).Add(payloads[i]);
            (indices ??= []).Add(i);
        }
        if (queued is not null)
            _control.Send(new ControlMessage { Type = ControlMessage.Tasks, Batch = id, Payloads = queued, Indices = indices, Wait = wait });
        if (!wait) return [];
        WaitUntil(batch.Done, Math.Max(0, timeoutMilliseconds));
        _pending.TryRemove(id, out _);
        var results = new TaskOutcome[payloads.Count];
        lock (batch.Results)
        {
            for (var i = 0; i < results.Length; i++)
                results[i] = batch.Results[i] ?? new TaskOutcome(TaskOutcomeStatus.Timeout, null, $"no result within {timeoutMilliseconds} ms");
        }
        return results;
    }

    /// <summary>
    /// Waits for <paramref name="done"/> at most <paramref name="milliseconds"/>, and never less
    /// unless it is set: a timed wait alone can return a few ms early (its elapsed time comes from
    /// Environment.TickCount, which on Linux follows the coarse clock, 4 ms steps at HZ=250), and
    /// a task must not be called late before its caller's deadline.
    /// </summary>
    private static void WaitUntil(ManualResetEventSlim done, int milliseconds)
    {
        var deadline = Stopwatch.GetTimestamp() + milliseconds * Stopwatch.Frequency / 1000;
        while (!done.IsSet)
        {
            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return;
            done.Wait((int)Math.Min(int.MaxValue, (left * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency));
        }
    }

    /// <summary>Claims an idle task worker on the board and sends it the task; false if none is idle or reachable.</summary>
    private bool TrySendDirect(long batch, int index, byte[] payload)
    {
        if (_board is null) return false;
        var slot = _board.ClaimAny(_pid);
        if (slot < 0) return false;
        var workerId = _board.WorkerId(slot);
        var channel = _channels[slot];
        if (channel is null || channel.WorkerId != workerId || channel.Broken)
        {
            // A replaced worker's channel is left to its reader: it may still bring back results
            // of tasks the old worker runs while it drains, and closes when that worker exits.
            channel = _channels[slot] = DirectTaskChannel.Connect(_board.SocketPath(slot), workerId, OnDirectResult);
        }
        if (channel is not null && channel.TrySend(batch, index, payload)) return true;
        // The worker is going or gone (the supervisor takes its slot off the board): give the
        // claim back and let the supervisor's queue run the task.
        _board.Release(slot);
        return false;
    }

    private void OnDirectResult(long batch, int index, TaskOutcome outcome)
    {
        if (_pending.TryGetValue(batch, out var b)) b.Set(index, outcome);
    }

    public void Dispose()
    {
        foreach (var channel in _channels) channel?.Dispose();
    }

    /// <summary>Takes a task-result message from the supervisor.</summary>
    public void OnMessage(ControlMessage message)
    {
        if (message.Type != ControlMessage.TaskResult || !_pending.TryGetValue(message.Batch, out var batch)) return;
        var status = message.Status switch
        {
            "ok" => TaskOutcomeStatus.Ok,
            "unavailable" => TaskOutcomeStatus.Unavailable,
            _ => TaskOutcomeStatus.Error,
        };
        batch.Set(message.Index, new TaskOutcome(status, message.Payload, message.Message));
    }
}
