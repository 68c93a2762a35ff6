using Askr.SharedMemory;
using System.Text;

namespace Askr.Tasks;

/// <summary>States of a task worker slot on the <see cref="TaskBoard"/>.</summary>
public enum TaskSlotState
{
    /// <summary>No task worker takes tasks here (starting, draining or gone).</summary>
    Off = 0,
    /// <summary>The task worker waits for a task: whoever claims it first (CAS to Busy) sends it one.</summary>
    Idle = 1,
    /// <summary>Claimed: a task is on its way to the worker or running there.</summary>
    Busy = 2,
    /// <summary>Busy, and the supervisor retires the worker: it goes Off, not Idle, when done.</summary>
    BusyRetiring = 3,
}

/// <summary>
/// The node's task worker board: a small shared-memory file (one 256-byte record per task worker
/// slot, after a 64-byte header) through which HTTP workers hand tasks straight to an idle task
/// worker over that worker's own Unix socket, without a hop through the supervisor (the way
/// Swoole's workers write to a task worker's pipe). A slot is claimed by compare-and-swap
/// Idle → Busy, so each task worker runs one task at a time whoever sends it; the task worker
/// sets it back to Idle when it has answered. Tasks that find no idle worker go to the
/// supervisor's FIFO queue (<see cref="Queued"/> counts them), which claims slots the same way.
///
/// Record layout (little-endian): int32 state (<see cref="TaskSlotState"/>), int32 pid of the
/// task worker, int64 its worker id (unique per process start), int32 pid of the last claimer,
/// int32 running (1 while the worker has a task in hand), 8 bytes reserved, then the worker's
/// socket path, NUL-terminated (at most <see cref="MaxPathBytes"/> bytes).
/// Header: int32 magic, int32 slot count, int64 queued tasks.
/// </summary>
public sealed unsafe class TaskBoard : IDisposable
{
    private const int Magic = 0x4B534154; // "TASK"
    private const int HeaderBytes = 64;
    private const int RecordBytes = 256;
    private const int PathOffset = 32;
    /// <summary>Longest socket path (sun_path holds 108 bytes with its NUL).</summary>
    public const int MaxPathBytes = 107;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private int _next;

    private TaskBoard(MappedFile file)
    {
        _file = file;
        _base = file.Base;
    }

    public string Path => _file.Path;

    /// <summary>Number of task worker slots.</summary>
    public int Slots => *(int*)(_base + 4);

    /// <summary>Creates the board file (supervisor). All slots start Off.</summary>
    public static TaskBoard Create(string path, int slots)
    {
        if (slots <= 0) throw new ArgumentOutOfRangeException(nameof(slots));
        var board = new TaskBoard(MappedFile.Create(path, HeaderBytes + (long)slots * RecordBytes));
        *(int*)(board._base + 4) = slots;
        Volatile.Write(ref *(int*)board._base, Magic);
        return board;
    }

    /// <summary>Maps an existing board (workers). Throws <see cref="InvalidDataException"/> if it is not one.</summary>
    public static TaskBoard Open(string path)
    {
        var board = new TaskBoard(MappedFile.Open(path));
        if (Volatile.Read(ref *(int*)board._base) != Magic || board.Slots <= 0)
        {
            board.Dispose();
            throw new InvalidDataException($"{path} is not an askr task board");
        }
        return board;
    }

    private byte* Record(int slot)
    {
        if ((uint)slot >= (uint)Slots) throw new ArgumentOutOfRangeException(nameof(slot));
        return _base + HeaderBytes + (long)slot * RecordBytes;
    }

    private ref int StateOf(int slot) => ref *(int*)Record(slot);

    public TaskSlotState State(int slot) => (TaskSlotState)Volatile.Read(ref StateOf(slot));

    /// <summary>Pid of the task worker in the slot (0 before the first one is ready).</summary>
    public int Pid(int slot) => Volatile.Read(ref *(int*)(Record(slot) + 4));

    /// <summary>Worker id of the task worker in the slot: changes with every new process.</summary>
    public long WorkerId(int slot) => Volatile.Read(ref *(long*)(Record(slot) + 8));

    /// <summary>Pid of whoever claimed the slot last.</summary>
    public int Claimer(int slot) => Volatile.Read(ref *(int*)(Record(slot) + 16));

    /// <summary>Whether the task worker has a task in hand (set by the worker itself).</summary>
    public bool Running(int slot) => Volatile.Read(ref *(int*)(Record(slot) + 20)) != 0;

    public void SetRunning(int slot, bool running) => Volatile.Write(ref *(int*)(Record(slot) + 20), running ? 1 : 0);

    /// <summary>The Unix socket the slot's task worker takes direct tasks on.</summary>
    public string SocketPath(int slot)
    {
        var p = Record(slot) + PathOffset;
        var length = 0;
        while (length < MaxPathBytes && p[length] != 0) length++;
        return Encoding.UTF8.GetString(p, length);
    }

    /// <summary>Tasks waiting in the supervisor's queue.</summary>
    public long Queued => Volatile.Read(ref *(long*)(_base + 8));

    /// <summary>Adds to <see cref="Queued"/> (a full fence: see <see cref="Release"/>).</summary>
    public void AddQueued(long delta) => Interlocked.Add(ref *(long*)(_base + 8), delta);

    /// <summary>
    /// Supervisor: a new task worker process is ready in the slot. Writes its pid, id and socket
    /// path while the slot is Off; the caller then makes it Idle (<see cref="MakeIdle"/>) or
    /// claims it for a queued task.
    /// </summary>
    public void Publish(int slot, int pid, long workerId, string socketPath)
    {
        var bytes = Encoding.UTF8.GetBytes(socketPath);
        if (bytes.Length > MaxPathBytes) throw new ArgumentException($"socket path longer than {MaxPathBytes} bytes: {socketPath}");
        var r = Record(slot);
        Volatile.Write(ref StateOf(slot), (int)TaskSlotState.Off);
        var path = new Span<byte>(r + PathOffset, MaxPathBytes + 1);
        path.Clear();
        bytes.CopyTo(path);
        *(int*)(r + 20) = 0;
        Volatile.Write(ref *(int*)(r + 4), pid);
        Volatile.Write(ref *(long*)(r + 8), workerId);
    }

    /// <summary>Off → Idle (a newly published worker). False if the slot was not Off.</summary>
    public bool MakeIdle(int slot) =>
        Interlocked.CompareExchange(ref StateOf(slot), (int)TaskSlotState.Idle, (int)TaskSlotState.Off) == (int)TaskSlotState.Off;

    /// <summary>Claims the slot for one task: Idle → Busy. False if it was not Idle.</summary>
    public bool TryClaim(int slot, int claimerPid)
    {
        if (Interlocked.CompareExchange(ref StateOf(slot), (int)TaskSlotState.Busy, (int)TaskSlotState.Idle) != (int)TaskSlotState.Idle) return false;
        Volatile.Write(ref *(int*)(Record(slot) + 16), claimerPid);
        return true;
    }

    /// <summary>Claims some idle slot, starting after the last one this process claimed (round robin); -1 if none is idle.</summary>
    public int ClaimAny(int claimerPid)
    {
        var slots = Slots;
        var start = _next;
        for (var i = 0; i < slots; i++)
        {
            var slot = (start + i) % slots;
            if (TryClaim(slot, claimerPid))
            {
                _next = slot + 1;
                return slot;
            }
        }
        return -1;
    }

    /// <summary>
    /// The task worker answered: Busy → Idle (BusyRetiring → Off). Returns true if the slot became
    /// Idle. The compare-and-swap is a full fence, so a supervisor that queued a task
    /// (<see cref="AddQueued"/>, also a fence) before this either sees the slot Idle or this
    /// caller sees <see cref="Queued"/> &gt; 0 afterwards and tells the supervisor.
    /// </summary>
    public bool Release(int slot)
    {
        ref var state = ref StateOf(slot);
        if (Interlocked.CompareExchange(ref state, (int)TaskSlotState.Idle, (int)TaskSlotState.Busy) == (int)TaskSlotState.Busy) return true;
        Interlocked.CompareExchange(ref state, (int)TaskSlotState.Off, (int)TaskSlotState.BusyRetiring);
        return false;
    }

    /// <summary>Supervisor: the slot's worker takes no new task (Idle → Off, Busy → BusyRetiring).</summary>
    public void Retire(int slot)
    {
        ref var state = ref StateOf(slot);
        while (true)
        {
            var s = Volatile.Read(ref state);
            var next = s switch
            {
                (int)TaskSlotState.Idle => (int)TaskSlotState.Off,
                (int)TaskSlotState.Busy => (int)TaskSlotState.BusyRetiring,
                _ => -1,
            };
            if (next < 0 || Interlocked.CompareExchange(ref state, next, s) == s) return;
        }
    }

    /// <summary>Supervisor: the slot's worker is gone.</summary>
    public void Clear(int slot)
    {
        Volatile.Write(ref StateOf(slot), (int)TaskSlotState.Off);
        Volatile.Write(ref *(int*)(Record(slot) + 20), 0);
    }

    public void Dispose() => _file.Dispose();
}
