using System.Diagnostics;
using System.Runtime.InteropServices;
using Askr.Control;

namespace Askr.Supervision;

/// <summary>States of a worker process as the supervisor tracks it.</summary>
internal enum WorkerState { Starting, Ready, Draining, Exited }

/// <summary>One worker process of a slot, from spawn to exit.</summary>
internal sealed partial class WorkerProcess
{
    private const int SigTerm = 15;
    private const int SigKill = 9;

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkerProcess(int slot, int id, Process process)
    {
        Slot = slot;
        Id = id;
        _process = process;
        Pid = process.Id;
        StartedAt = DateTime.UtcNow;
        Exited = WaitExitAsync();
    }

    public int Slot { get; }
    public Worker.WorkerKind Kind { get; init; }
    /// <summary>True for a task worker (no HTTP).</summary>
    public bool IsTask => Kind == Worker.WorkerKind.Task;
    /// <summary>A task worker's slot on the task board (0-based among the task workers).</summary>
    public int TaskIndex { get; init; }
    /// <summary>The Unix socket a task worker takes direct tasks on (TaskBoard); null for HTTP workers.</summary>
    public string? TaskSocket { get; init; }
    /// <summary>The worker's end of the control socket, once it said hello.</summary>
    public ControlConnection? Connection { get; set; }
    /// <summary>Unique per process start within this supervisor (ASKR_WORKER_ID).</summary>
    public int Id { get; }
    public int Pid { get; }
    public DateTime StartedAt { get; }
    public volatile WorkerState State = WorkerState.Starting;
    /// <summary>Requests answered, as last reported by the worker.</summary>
    public long Requests;
    /// <summary>An HTTP worker's last load report (StatsMessage.Http): requests in flight (queued ones included), queued, open connections.</summary>
    public volatile int InFlight, Queued, Connections;
    /// <summary>When the worker last reported a request in flight or a connection open (or started); autoscaling stops only long-idle spares.</summary>
    public DateTime LastBusyAt = DateTime.UtcNow;
    /// <summary>Set when the supervisor itself stops this process (recycle, reload, shutdown): its exit is no crash.</summary>
    public volatile bool Retiring;
    /// <summary>Completes with the exit code.</summary>
    public Task<int> Exited { get; }
    public Task Ready => _ready.Task;

    public void MarkReady()
    {
        if (State == WorkerState.Starting) State = WorkerState.Ready;
        _ready.TrySetResult();
    }

    private async Task<int> WaitExitAsync()
    {
        await _process.WaitForExitAsync();
        State = WorkerState.Exited;
        _ready.TrySetException(new InvalidOperationException($"worker {Pid} exited with status {_process.ExitCode} before it was ready"));
        return _process.ExitCode;
    }

    /// <summary>Asks the worker to drain and stop (SIGTERM); SIGKILL if it has not exited after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        Retiring = true;
        if (State == WorkerState.Exited) return;
        State = WorkerState.Draining;
        Kill(Pid, SigTerm);
        if (await Task.WhenAny(Exited, Task.Delay(grace)) != Exited)
        {
            Kill(Pid, SigKill);
            await Exited;
        }
    }

    public const int SigHup = 1;

    /// <summary>Sends <paramref name="signal"/> to the process (a worker reloads its TLS certificate on SIGHUP).</summary>
    public void Signal(int signal) => Kill(Pid, signal);

    /// <summary>The process's RSS and PSS from /proc/&lt;pid&gt;/smaps_rollup (<see cref="ProcessMemory"/>); zeros once it is gone.</summary>
    public ProcessMemory Memory() => ProcessMemory.Read(Pid);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
