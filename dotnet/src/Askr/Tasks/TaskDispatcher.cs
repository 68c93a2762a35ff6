using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>
/// An HTTP worker's side of Octane::concurrently(): hands a batch of serialized tasks to task
/// workers and blocks the calling (PHP) thread until every result is back or the deadline
/// passes. Each task goes straight to an idle task worker claimed on the <see cref="TaskBoard"/>
/// (over that worker's socket, <see cref="DirectTaskChannel"/>); the tasks that find none idle go
/// to the supervisor (<see cref="SubmitTasksMessage"/>), which queues them (FIFO) until a task
/// worker is free. Every task has an id of this dispatcher's, and every result, whichever way it
/// came, is a <see cref="TaskResultMessage"/> for that id (<see cref="Complete"/>). Results
/// arriving after the deadline are dropped; the tasks themselves run to their end in the task
/// workers.
/// </summary>
public sealed class TaskDispatcher : IDisposable
{
    private readonly ControlClient _control;
    private readonly TaskBoard? _board;
    private readonly ConcurrentDictionary<long, (Batch Batch, int Index)> _pending = new();
    private readonly DirectTaskChannel?[] _channels;
    private readonly int _pid = Environment.ProcessId;
    private long _nextTask;

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
    /// Called by one thread at a time (the PHP thread): that thread reads the results of the
    /// tasks it sent directly from their sockets itself (one wake-up per result, no reader thread
    /// in between) and waits for the supervisor's relayed results on the batch.
    /// </summary>
    public TaskOutcome[] Run(IReadOnlyList<byte[]> payloads, int timeoutMilliseconds, bool wait)
    {
        if (payloads.Count == 0) return [];
        var deadline = Stopwatch.GetTimestamp() + Math.Max(0, timeoutMilliseconds) * Stopwatch.Frequency / 1000;
        var batch = new Batch(payloads.Count);
        var first = Interlocked.Add(ref _nextTask, payloads.Count) - payloads.Count + 1;
        if (wait)
            for (var i = 0; i < payloads.Count; i++) _pending[first + i] = (batch, i);
        List<QueuedTask>? queued = null;
        List<DirectTaskChannel>? direct = null;
        for (var i = 0; i < payloads.Count; i++)
        {
            if (TrySendDirect(first + i, payloads[i], wait) is { } channel)
            {
                if (wait && !(direct ??= []).Contains(channel)) direct.Add(channel);
                continue;
            }
            (queued ??= []).Add(new QueuedTask(first + i, payloads[i]));
        }
        if (queued is not null) _control.Send(new SubmitTasksMessage { Tasks = queued, Wait = wait });
        if (!wait) return [];
        if (direct is not null) ReadDirectResults(direct, deadline);
        WaitUntil(batch.Done, deadline);
        for (var i = 0; i < payloads.Count; i++) _pending.TryRemove(first + i, out _);
        var results = new TaskOutcome[payloads.Count];
        lock (batch.Results)
        {
            for (var i = 0; i < results.Length; i++)
                results[i] = batch.Results[i] ?? new TaskOutcome(TaskOutcomeStatus.Timeout, null, $"no result within {timeoutMilliseconds} ms");
        }
        return results;
    }

    /// <summary>
    /// Polls the sockets of <paramref name="channels"/> and reads their results on this thread
    /// until none has a task out or the deadline passes. A channel still waiting at the deadline
    /// is closed: its late result has nowhere to go (the task itself runs to its end), and a
    /// result left unread could fill the socket and block the task worker; the next task to that
    /// worker connects afresh.
    /// </summary>
    private static void ReadDirectResults(List<DirectTaskChannel> channels, long deadline)
    {
        var readable = new List<Socket>(channels.Count);
        var failed = new List<Socket>(channels.Count);
        while (true)
        {
            readable.Clear();
            failed.Clear();
            foreach (var channel in channels)
                if (channel.Outstanding > 0 && !channel.Broken) { readable.Add(channel.Socket); failed.Add(channel.Socket); }
            if (readable.Count == 0) return;
            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) break;
            // Socket.Select takes microseconds (an int): wait at most a second per round.
            var micros = (int)Math.Min(1_000_000, (left * 1_000_000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
            try { Socket.Select(readable, null, failed, micros); }
            catch (ObjectDisposedException) { }
            foreach (var channel in channels)
                if (readable.Contains(channel.Socket) || failed.Contains(channel.Socket)) channel.ReadResult();
        }
        foreach (var channel in channels)
            if (channel.Outstanding > 0 && !channel.Broken) channel.Abandon();
    }

    /// <summary>
    /// Waits for <paramref name="done"/> until <paramref name="deadline"/> (a Stopwatch
    /// timestamp), and never less unless it is set: a timed wait alone can return a few ms early
    /// (its elapsed time comes from Environment.TickCount, which on Linux follows the coarse
    /// clock, 4 ms steps at HZ=250), and a task must not be called late before its caller's deadline.
    /// </summary>
    private static void WaitUntil(ManualResetEventSlim done, long deadline)
    {
        while (!done.IsSet)
        {
            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return;
            done.Wait((int)Math.Min(int.MaxValue, (left * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency));
        }
    }

    /// <summary>
    /// Claims an idle task worker on the board and sends it the task; the channel it went on, or
    /// null if no task worker is idle or reachable.
    /// </summary>
    private DirectTaskChannel? TrySendDirect(long id, byte[] payload, bool reply)
    {
        if (_board is null) return null;
        var slot = _board.ClaimAny(_pid);
        if (slot < 0) return null;
        var workerId = _board.WorkerId(slot);
        var channel = _channels[slot];
        if (channel is null || channel.WorkerId != workerId || channel.Broken)
        {
            // Between two Run calls no channel has a task out: a replaced worker's channel can go.
            channel?.Dispose();
            channel = _channels[slot] = DirectTaskChannel.Connect(_board.SocketPath(slot), workerId, Complete);
        }
        if (channel is not null && channel.TrySend(id, payload, reply)) return channel;
        // The worker is going or gone (the supervisor takes its slot off the board): give the
        // claim back and let the supervisor's queue run the task.
        _board.Release(slot);
        return null;
    }

    /// <summary>The one route of results: from a task worker directly, or relayed by the supervisor. Results nobody waits for are dropped.</summary>
    public void Complete(TaskResultMessage result)
    {
        if (_pending.TryRemove(result.Id, out var pending)) pending.Batch.Set(pending.Index, result.ToOutcome());
    }

    /// <summary>Takes a message from the supervisor (the results of queued tasks).</summary>
    public void OnMessage(ControlMessage message)
    {
        if (message is TaskResultMessage result) Complete(result);
    }

    public void Dispose()
    {
        foreach (var channel in _channels) channel?.Dispose();
    }
}
