using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;
using Askr.Worker;

namespace Askr.Tasks;

/// <summary>
/// A task worker process: one PHP interpreter that never serves HTTP. It runs the worker script
/// like an HTTP worker, but the script takes tasks and ticks with take_task() and answers each
/// with send_task_result(). They come as <see cref="RunTaskMessage"/>s from the supervisor over
/// the control socket (queued tasks, ticks), and with a task board (<see cref="TaskBoard"/>)
/// straight from HTTP workers that claimed this worker's slot, over its own Unix socket
/// (<see cref="DirectTaskListener"/>); each result goes back on the connection its task came
/// by, as a <see cref="TaskResultMessage"/>. After every task or tick the worker sets its slot
/// Idle again.
/// </summary>
internal static class TaskWorkerHost
{
    /// <summary>How long a stopping task worker still takes direct tasks before PHP drains and stops.</summary>
    private static readonly TimeSpan DirectGrace = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(ServeOptions options, int slot, string controlPath, string? taskSocket = null, int boardSlot = -1)
    {
        options = Lifecycle.ReleasePaths.Pin(options);
        var log = LogWriter.Current;
        var control = await ControlClient.ConnectAsync(controlPath, slot, WorkerKind.Task);
        using var store = options.StorePath is null ? null : Tables.TableStore.Open(options.StorePath);
        using var vars = options.VarsPath is null ? null : Background.VarsStore.Open(options.VarsPath);
        using var board = options.TaskBoardPath is null || boardSlot < 0 ? null : TaskBoard.Open(options.TaskBoardPath);
        using var responseCache = options.ResponseCachePath is null ? null : ResponseCache.CacheStore.Open(options.ResponseCachePath);
        var php = new PhpThread(options.WorkerScript, options.Root, maxQueue: 1024, options.RequestTimeoutSeconds, options.PhpIni, log)
        {
            Kind = WorkerKind.Task,
            Store = store,
            ResponseCache = responseCache,
            Vars = vars,
            Control = control,
        };
        // After each task or tick: the slot is Idle again; if tasks wait in the supervisor's queue,
        // say so (the supervisor claims the slot for the next one). See TaskBoard.Release.
        // The slot is this process's only while the board names it (a replacement started by a
        // recycle or reload takes the slot over while this one drains).
        var workerId = long.TryParse(Environment.GetEnvironmentVariable("ASKR_WORKER_ID"), out var id) ? id : -1;
        bool Mine() => board is not null && board.WorkerId(boardSlot) == workerId;
        void Done()
        {
            if (!Mine()) return;
            board!.SetRunning(boardSlot, false);
            if (board.Release(boardSlot) && board.Queued > 0) control.Send(new TaskWorkerIdleMessage());
        }
        // One way in for a task, whoever sent it; its result goes back the way it came.
        void Run(RunTaskMessage task, Action<TaskResultMessage> reply)
        {
            if (Mine()) board!.SetRunning(boardSlot, true);
            // A task sent with no_reply (dispatch() straight from an HTTP worker) has no reader for its result.
            var job = new TaskJob(task, result => { if (!task.NoReply) reply(result); Done(); });
            if (!php.TryEnqueue(job)) job.TryFail(503, "the task worker is stopping");
        }
        control.OnMessage = message =>
        {
            if (message is RunTaskMessage task) Run(task, control.Send);
        };
        using var direct = taskSocket is null || board is null ? null : DirectTaskListener.Start(taskSocket, Run, log);
        control.Start();
        php.Start();

        var stopRequested = await WorkerLifecycle.RunUntilStopAsync(php, control, options.MaxRequests);
        if (!stopRequested)
        {
            log.Flush(TimeSpan.FromSeconds(1));
            return php.Exited.Result == 0 ? 70 : php.Exited.Result;
        }
        // An HTTP worker may have claimed this worker's slot just before a replacement took it
        // over (recycle, reload): its task is already on the socket or about to be. Let it land
        // in the queue, which PHP drains before it stops, instead of refusing it.
        if (direct is not null) await Task.Delay(DirectGrace);
        php.RequestShutdown();
        var exit = await php.Exited.WaitAsync(TimeSpan.FromSeconds(Math.Max(30, options.RequestTimeoutSeconds + 10))).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : 75);
        control.Dispose();
        log.Flush(TimeSpan.FromSeconds(1));
        return exit;
    }
}
