using Askr.Control;
using Askr.Logging;

namespace Askr.Supervision;

/// <summary>
/// The supervisor's task scheduler for Octane::concurrently() and ticks: tasks from HTTP workers
/// wait in one FIFO queue and go to task workers one at a time each (a task worker runs one
/// task at once); results go back to the worker that asked. A task worker that dies mid-task
/// fails that task ("error"), so the caller learns at once instead of at its deadline. Ticks
/// (once a second, <see cref="TickInterval"/>) go through the same queue, never more than one
/// queued or running, so a slow tick is not followed by a pile of them.
/// </summary>
internal sealed class TaskHub : IDisposable
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    private readonly LogWriter _log;
    private readonly object _lock = new();
    private readonly LinkedList<Item> _queue = new();
    private readonly List<WorkerProcess> _idle = [];
    private readonly Dictionary<WorkerProcess, Item> _running = [];
    private readonly Timer? _ticker;
    private long _nextTask;
    private bool _tickPending;
    private int _taskWorkers;

    private sealed record Item(long Id, string Kind, byte[]? Payload, WorkerProcess? Origin, long Batch, int Index, bool Wait);

    public TaskHub(LogWriter log, bool ticks)
    {
        _log = log;
        if (ticks) _ticker = new Timer(_ => Tick(), null, TickInterval, TickInterval);
    }

    /// <summary>Task workers configured; with none, tasks are answered "unavailable".</summary>
    public int TaskWorkers { set => _taskWorkers = value; }

    /// <summary>A "tasks" message from an HTTP worker.</summary>
    public void Submit(WorkerProcess origin, ControlMessage message)
    {
        var payloads = message.Payloads ?? [];
        if (_taskWorkers == 0)
        {
            if (message.Wait)
                for (var i = 0; i < payloads.Count; i++)
                    Reply(origin, message.Batch, i, "unavailable", null, "the server runs no task workers (--task-workers 0)");
            return;
        }
        lock (_lock)
        {
            for (var i = 0; i < payloads.Count; i++)
                _queue.AddLast(new Item(++_nextTask, "task", payloads[i], origin, message.Batch, i, message.Wait));
            Pump();
        }
    }

    private void Tick()
    {
        lock (_lock)
        {
            if (_tickPending || _taskWorkers == 0) return;
            _tickPending = true;
            _queue.AddLast(new Item(++_nextTask, "tick", null, null, 0, 0, false));
            Pump();
        }
    }

    /// <summary>A task worker became ready (or finished a task) and can take the next one.</summary>
    public void Idle(WorkerProcess worker)
    {
        lock (_lock)
        {
            if (worker.State is WorkerState.Exited or WorkerState.Draining) return;
            if (!_idle.Contains(worker) && !_running.ContainsKey(worker)) _idle.Add(worker);
            Pump();
        }
    }

    /// <summary>A "result" message from a task worker.</summary>
    public void Completed(WorkerProcess worker, ControlMessage message)
    {
        Item? item;
        lock (_lock)
        {
            if (!_running.Remove(worker, out item) || item.Id != message.TaskId) item = null;
        }
        if (item is not null) Finish(item, message.Status ?? "error", message.Payload, message.Message);
        Idle(worker);
    }

    /// <summary>A task worker is draining or gone: its running task fails, and it takes no more.</summary>
    public void Gone(WorkerProcess worker, string why)
    {
        Item? item;
        lock (_lock)
        {
            _idle.Remove(worker);
            _running.Remove(worker, out item);
        }
        if (item is not null)
        {
            _log.Error($"task worker {worker.Pid} {why} while running a {item.Kind}; the caller gets an error");
            Finish(item, "error", null, $"the task worker running this task {why}");
        }
    }

    /// <summary>Stops giving tasks to a worker that is about to be retired; it may finish what it runs.</summary>
    public void Retire(WorkerProcess worker)
    {
        lock (_lock) _idle.Remove(worker);
    }

    private void Pump()
    {
        while (_queue.First is { } next && _idle.Count > 0)
        {
            var worker = _idle[0];
            _idle.RemoveAt(0);
            _queue.RemoveFirst();
            var item = next.Value;
            _running[worker] = item;
            if (worker.Connection is not { } connection || !connection.TrySend(new ControlMessage { Type = ControlMessage.Task, TaskId = item.Id, Kind = item.Kind, Payload = item.Payload }))
            {
                _running.Remove(worker);
                _queue.AddFirst(item);
                continue;
            }
        }
    }

    private void Finish(Item item, string status, byte[]? payload, string? message)
    {
        if (item.Kind == "tick")
        {
            lock (_lock) _tickPending = false;
            if (status != "ok") _log.Error($"tick failed: {message}");
            return;
        }
        if (item.Wait && item.Origin is { } origin) Reply(origin, item.Batch, item.Index, status, payload, message);
    }

    private static void Reply(WorkerProcess origin, long batch, int index, string status, byte[]? payload, string? message) =>
        origin.Connection?.TrySend(new ControlMessage { Type = ControlMessage.TaskResult, Batch = batch, Index = index, Status = status, Payload = payload, Message = message });

    public void Dispose() => _ticker?.Dispose();
}
