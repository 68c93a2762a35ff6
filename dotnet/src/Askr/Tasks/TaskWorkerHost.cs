using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;
using Askr.Worker;

namespace Askr.Tasks;

/// <summary>
/// A task worker process: one PHP interpreter that never serves HTTP. It runs the worker script
/// like an HTTP worker, but take_request() hands it tasks (method "TASK", body: the serialized
/// task) and ticks (method "TICK") that the supervisor sends over the control socket; what the
/// script answers with send_response() goes back as the task's result (status 200: success).
/// With a task board (<see cref="TaskBoard"/>), HTTP workers that claimed this worker's slot send
/// tasks straight to its own Unix socket (<see cref="DirectTaskListener"/>) and get the result
/// back on the same connection; after every task or tick the worker sets its slot Idle again.
/// </summary>
internal static class TaskWorkerHost
{
    /// <summary>How long a stopping task worker still takes direct tasks before PHP drains and stops.</summary>
    private static readonly TimeSpan DirectGrace = TimeSpan.FromMilliseconds(200);

    public static async Task<int> RunAsync(ServeOptions options, int slot, string controlPath, string? taskSocket = null, int boardSlot = -1)
    {
        var log = LogWriter.Current;
        var control = await ControlClient.ConnectAsync(controlPath, slot, "task");
        using var store = options.StorePath is null ? null : Tables.TableStore.Open(options.StorePath);
        using var board = options.TaskBoardPath is null || boardSlot < 0 ? null : TaskBoard.Open(options.TaskBoardPath);
        var php = new PhpWorker(options.WorkerScript, options.Root, maxQueue: 1024, options.RequestTimeoutSeconds, options.PhpIni, log)
        {
            FillEnvelope = FillEnvelope,
            Store = store,
        };
        // After each job: the slot is Idle again; if tasks wait in the supervisor's queue, say so
        // (the supervisor claims the slot for the next one). See TaskBoard.Release.
        // The slot is this process's only while the board names it (a replacement started by a
        // recycle or reload takes the slot over while this one drains).
        var workerId = long.TryParse(Environment.GetEnvironmentVariable("ASKR_WORKER_ID"), out var id) ? id : -1;
        bool Mine() => board is not null && board.WorkerId(boardSlot) == workerId;
        void Done()
        {
            if (!Mine()) return;
            board!.SetRunning(boardSlot, false);
            if (board.Release(boardSlot) && board.Queued > 0) control.Send(new ControlMessage { Type = ControlMessage.Idle });
        }
        control.OnMessage = message =>
        {
            if (message.Type != ControlMessage.Task) return;
            if (Mine()) board!.SetRunning(boardSlot, true);
            var kind = message.Kind == "tick" ? JobKind.Tick : JobKind.Task;
            var taskId = message.TaskId;
            var job = new PhpRequest(kind, message.Payload) { OnAnswer = head => { Reply(control, taskId, head); Done(); } };
            if (!php.TryEnqueue(job))
            {
                control.Send(new ControlMessage { Type = ControlMessage.Result, TaskId = taskId, Status = "error", Message = "the task worker is stopping" });
                Done();
            }
        };
        using var direct = taskSocket is null || board is null ? null : DirectTaskListener.Start(taskSocket, (message, reply) =>
        {
            if (Mine()) board.SetRunning(boardSlot, true);
            var job = new PhpRequest(JobKind.Task, message.Payload) { OnAnswer = head => { reply(Answer(head)); Done(); } };
            if (!php.TryEnqueue(job))
            {
                reply(new ControlMessage { Status = "error", Message = "the task worker is stopping" });
                Done();
            }
        }, log);
        control.Start();
        php.RequestServed += served =>
        {
            if (options.MaxRequests > 0 && served == options.MaxRequests)
                control.Send(new ControlMessage { Type = ControlMessage.Recycle });
        };
        php.Start();

        var stopRequested = await WorkerLifecycle.RunUntilStopAsync(php, control);
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

    private static void Reply(ControlClient control, long taskId, ResponseHead head)
    {
        var answer = Answer(head);
        answer.Type = ControlMessage.Result;
        answer.TaskId = taskId;
        control.Send(answer);
    }

    /// <summary>The outcome of a task as the worker script answered it: status 200 is "ok" with the body as the result.</summary>
    private static ControlMessage Answer(ResponseHead head)
    {
        var payload = head.Body is { } body ? body.AsSpan(0, head.BodyLength).ToArray() : [];
        if (head.Body is not null) System.Buffers.ArrayPool<byte>.Shared.Return(head.Body);
        head.File?.Dispose();
        var ok = head.Status == 200;
        return new ControlMessage
        {
            Status = ok ? "ok" : "error",
            Payload = ok ? payload : null,
            Message = ok ? null : $"the task worker answered {head.Status}: {System.Text.Encoding.UTF8.GetString(payload).Trim()}",
        };
    }

    private static bool FillEnvelope(PhpRequest job, EnvelopeArena arena)
    {
        arena.SetMethod(job.Kind == JobKind.Tick ? "TICK" : "TASK");
        arena.SetUri("");
        arena.SetProtocol("");
        return true;
    }
}
