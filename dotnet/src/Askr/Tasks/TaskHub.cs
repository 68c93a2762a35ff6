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
/// see their direct tasks fail when the worker's socket closes). Every result, of a queued task
/// or of a failure here, reaches the HTTP worker as a <see cref="TaskResultMessage"/> for the id it
/// gave the task. Ticks (once a second,
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

    /// <summary>A task (or tick) in the hub: its id here, and for a task the HTTP worker that asked and the id it gave the task.</summary>
    private sealed record Item(long Id, TaskKind Kind, byte[]? Payload, WorkerProcess? Origin, long OriginId, bool Wait);

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

    /// <summary>Tasks from an HTTP worker that found no idle task worker.</summary>
    public void Submit(WorkerProcess origin, SubmitTasksMessage message)
    {
        if (_board is null)
        {
            if (message.Wait)
                foreach (var task in message.Tasks)
                    Reply(origin, new TaskResultMessage { Id = task.Id, Status = TaskOutcomeStatus.Unavailable, Message = "the server runs no task workers (--task-workers 0)" });
            return;
        }
        lock (_lock)
        {
            foreach (var task in message.Tasks)
                Enqueue(new Item(++_nextTask, TaskKind.Task, task.Payload, origin, task.Id, message.Wait));
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
            Enqueue(new Item(++_nextTask, TaskKind.Tick, null, null, 0, false));
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

    /// <summary>A task worker finished a task while the queue was not empty (<see cref="TaskWorkerIdleMessage"/>).</summary>
    public void Idle()
    {
        lock (_lock) Pump();
    }

    /// <summary>The result of a task this hub gave <paramref name="worker"/>.</summary>
    public void Completed(WorkerProcess worker, TaskResultMessage result)
    {
        Item? item = null;
        lock (_lock)
        {
            if (_running.Remove(result.Id, out var running) && ReferenceEquals(running.Worker, worker)) item = running.Item;
        }
        if (item is not null) Finish(item, result);
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
            _log.Error($"task worker {worker.Pid} {why} while running a {WireNameConverter<TaskKind>.Name(item.Kind)}; the caller gets an error");
            Finish(item, TaskResultMessage.Failed(item.Id, $"the task worker running this task {why}"));
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
            if (!connection.TrySend(new RunTaskMessage { Id = item.Id, Kind = item.Kind, Payload = item.Payload }))
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

    private void Finish(Item item, TaskResultMessage result)
    {
        if (item.Kind == TaskKind.Tick)
        {
            lock (_lock) _tickPending = false;
            if (result.Status != TaskOutcomeStatus.Ok) _log.Error($"tick failed: {result.Message}");
            return;
        }
        if (item.Wait && item.Origin is { } origin) Reply(origin, result.For(item.OriginId));
    }

    private static void Reply(WorkerProcess origin, TaskResultMessage result) => origin.Connection?.TrySend(result);

    public void Dispose() => _ticker?.Dispose();
}
