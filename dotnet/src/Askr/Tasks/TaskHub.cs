using Askr.Control;
using Askr.Logging;
using Askr.Supervision;

namespace Askr.Tasks;

/// <summary>
/// The supervisor's task scheduler for Octane::concurrently() and ticks. HTTP workers send most
/// tasks straight to an idle task worker they claim on the <see cref="TaskBoard"/>; what they
/// cannot place comes here, waits in one FIFO queue, and goes to the next task worker this hub
/// claims on the board (a task worker runs one task at once, however it got it); results go
/// back to the worker that asked. A task worker that dies mid-task fails the task it runs for
/// the hub ("error"), so the caller learns at once instead of at its deadline (the HTTP workers
/// see their direct tasks fail when the worker's socket closes). Ticks (once a second,
/// <see cref="TickInterval"/>) go through the same queue, never more than one queued or
/// running, so a slow tick is not followed by a pile of them.
/// </summary>
internal sealed class TaskHub : IDisposable
{
    public static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    private readonly LogWriter _log;
    private readonly object _lock = new();
    private readonly LinkedList<Item> _queue = new();
    /// <summary>Tasks the hub gave to a task worker, by task id (a worker may already be Idle, even
    /// claimed again, before its result message arrives here).</summary>
    private readonly Dictionary<long, (WorkerProcess Worker, Item Item)> _running = [];
    private readonly Timer? _ticker;
    private readonly int _pid = Environment.ProcessId;
    private readonly HashSet<int> _suspectClaims = [];
    private WorkerProcess?[] _workers = [];
    private TaskBoard? _board;
    private long _nextTask;
    private bool _tickPending;

    private sealed record Item(long Id, string Kind, byte[]? Payload, WorkerProcess? Origin, long Batch, int Index, bool Wait);

    public TaskHub(LogWriter log, bool ticks)
    {
        _log = log;
        if (ticks) _ticker = new Timer(_ => Tick(), null, TickInterval, TickInterval);
    }

    /// <summary>The node's task board (one slot per task worker), created by the supervisor; null
    /// when it runs no task workers (tasks are then answered "unavailable").</summary>
    public TaskBoard? Board
    {
        get => _board;
        set
        {
            _board = value;
            _workers = new WorkerProcess?[value?.Slots ?? 0];
        }
    }

    /// <summary>A "tasks" message from an HTTP worker.</summary>
    public void Submit(WorkerProcess origin, ControlMessage message)
    {
        var payloads = message.Payloads ?? [];
        int IndexOf(int i) => message.Indices is { } indices && i < indices.Count ? indices[i] : i;
        if (_board is null)
        {
            if (message.Wait)
                for (var i = 0; i < payloads.Count; i++)
                    Reply(origin, message.Batch, IndexOf(i), "unavailable", null, "the server runs no task workers (--task-workers 0)");
            return;
        }
        lock (_lock)
        {
            for (var i = 0; i < payloads.Count; i++)
                Enqueue(new Item(++_nextTask, "task", payloads[i], origin, message.Batch, IndexOf(i), message.Wait));
            Pump();
        }
    }

    private void Enqueue(Item item)
    {
        _queue.AddLast(item);
        _board?.AddQueued(1);
    }

    private void Tick()
    {
        lock (_lock)
        {
            SweepLeakedClaims();
            if (_tickPending || _board is null) return;
            _tickPending = true;
            Enqueue(new Item(++_nextTask, "tick", null, null, 0, 0, false));
            Pump();
        }
    }

    /// <summary>A task worker became ready: it goes on the board, Idle, and can take tasks.</summary>
    public void Ready(WorkerProcess worker)
    {
        lock (_lock)
        {
            if (worker.State is WorkerState.Exited or WorkerState.Draining || _board is null) return;
            var slot = worker.TaskIndex;
            _workers[slot] = worker;
            _board.Publish(slot, worker.Pid, worker.Id, worker.TaskSocket ?? "");
            _board.MakeIdle(slot);
            Pump();
        }
    }

    /// <summary>A task worker finished a task while the queue was not empty ("idle" message).</summary>
    public void Idle()
    {
        lock (_lock) Pump();
    }

    /// <summary>A "result" message from a task worker.</summary>
    public void Completed(WorkerProcess worker, ControlMessage message)
    {
        Item? item = null;
        lock (_lock)
        {
            if (_running.Remove(message.TaskId, out var running) && ReferenceEquals(running.Worker, worker)) item = running.Item;
        }
        if (item is not null) Finish(item, message.Status ?? "error", message.Payload, message.Message);
        Idle();
    }

    /// <summary>A task worker is draining or gone: its running task fails, and it takes no more.</summary>
    public void Gone(WorkerProcess worker, string why)
    {
        List<Item> lost = [];
        lock (_lock)
        {
            var slot = worker.TaskIndex;
            if (_board is not null && ReferenceEquals(_workers[slot], worker))
            {
                _board.Clear(slot);
                _workers[slot] = null;
            }
            foreach (var (id, running) in _running.Where(r => ReferenceEquals(r.Value.Worker, worker)).ToList())
            {
                _running.Remove(id);
                lost.Add(running.Item);
            }
        }
        foreach (var item in lost)
        {
            _log.Error($"task worker {worker.Pid} {why} while running a {item.Kind}; the caller gets an error");
            Finish(item, "error", null, $"the task worker running this task {why}");
        }
    }

    /// <summary>Stops giving tasks to a worker that is about to be retired; it may finish what it runs.</summary>
    public void Retire(WorkerProcess worker)
    {
        lock (_lock)
        {
            var slot = worker.TaskIndex;
            if (_board is not null && ReferenceEquals(_workers[slot], worker)) _board.Retire(slot);
        }
    }

    private void Pump()
    {
        if (_board is null) return;
        while (_queue.First is { } next)
        {
            var slot = _board.ClaimAny(_pid);
            if (slot < 0) return;
            var worker = _workers[slot];
            if (worker?.Connection is not { } connection)
            {
                // On the board but unknown here (it just went): off with it.
                _board.Clear(slot);
                continue;
            }
            _queue.RemoveFirst();
            _board.AddQueued(-1);
            var item = next.Value;
            _running[item.Id] = (worker, item);
            if (!connection.TrySend(new ControlMessage { Type = ControlMessage.Task, TaskId = item.Id, Kind = item.Kind, Payload = item.Payload }))
            {
                _running.Remove(item.Id);
                _board.Clear(slot);
                _queue.AddFirst(item);
                _board.AddQueued(1);
            }
        }
    }

    /// <summary>
    /// A slot left Busy by a claimer that died between claiming it and sending the task (the
    /// worker never got a task, so it never sets the slot Idle again): seen twice in a row,
    /// one tick apart, it is made Idle.
    /// </summary>
    private void SweepLeakedClaims()
    {
        if (_board is null) return;
        for (var slot = 0; slot < _board.Slots; slot++)
        {
            var claimer = _board.Claimer(slot);
            var leaked = _board.State(slot) == TaskSlotState.Busy && !_board.Running(slot)
                && claimer != _pid && !Directory.Exists($"/proc/{claimer}");
            if (!leaked)
            {
                _suspectClaims.Remove(slot);
                continue;
            }
            if (!_suspectClaims.Add(slot))
            {
                _suspectClaims.Remove(slot);
                _log.Warning($"task worker slot {slot} was claimed by process {claimer}, which died before sending it a task; it is free again");
                _board.Release(slot);
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
