using System.Collections.Concurrent;

namespace Askr.Control;

/// <summary>What became of one task of a batch.</summary>
public enum TaskOutcomeStatus
{
    Ok = 0,
    /// <summary>The task worker failed (fatal error, crash) or answered with an error status.</summary>
    Error = 1,
    /// <summary>No result before the caller's deadline.</summary>
    Timeout = 2,
    /// <summary>The server runs no task workers.</summary>
    Unavailable = 3,
}

public readonly record struct TaskOutcome(TaskOutcomeStatus Status, byte[]? Data, string? Message);

/// <summary>
/// An HTTP worker's side of Octane::concurrently(): sends a batch of serialized tasks to the
/// supervisor, which spreads them over free task workers, and blocks the calling (PHP) thread
/// until every result is back or the deadline passes. Results arriving after the deadline are
/// dropped; the tasks themselves run to their end in the task workers.
/// </summary>
public sealed class TaskDispatcher
{
    private readonly ControlClient _control;
    private readonly ConcurrentDictionary<long, Batch> _pending = new();
    private long _nextBatch;

    public TaskDispatcher(ControlClient control) => _control = control;

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
        _control.Send(new ControlMessage { Type = ControlMessage.Tasks, Batch = id, Payloads = payloads.ToList(), Wait = wait });
        if (!wait) return [];
        batch.Done.Wait(Math.Max(0, timeoutMilliseconds));
        _pending.TryRemove(id, out _);
        var results = new TaskOutcome[payloads.Count];
        lock (batch.Results)
        {
            for (var i = 0; i < results.Length; i++)
                results[i] = batch.Results[i] ?? new TaskOutcome(TaskOutcomeStatus.Timeout, null, $"no result within {timeoutMilliseconds} ms");
        }
        return results;
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
