using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;

namespace Askr.Worker;

/// <summary>
/// A task worker process: one PHP interpreter that never serves HTTP. It runs the worker script
/// like an HTTP worker, but take_request() hands it tasks (method "TASK", body: the serialized
/// task) and ticks (method "TICK") that the supervisor sends over the control socket; what the
/// script answers with send_response() goes back as the task's result (status 200: success).
/// </summary>
internal static class TaskWorkerHost
{
    public static async Task<int> RunAsync(ServeOptions options, int slot, string controlPath)
    {
        var log = LogWriter.Current;
        var control = await ControlClient.ConnectAsync(controlPath, slot, "task");
        using var store = options.StorePath is null ? null : Tables.TableStore.Open(options.StorePath);
        var php = new PhpWorker(options.WorkerScript, options.Root, maxQueue: 1024, options.RequestTimeoutSeconds, options.PhpIni, log)
        {
            FillEnvelope = FillEnvelope,
            Store = store,
        };
        control.OnMessage = message =>
        {
            if (message.Type != ControlMessage.Task) return;
            var kind = message.Kind == "tick" ? JobKind.Tick : JobKind.Task;
            var taskId = message.TaskId;
            var job = new PhpRequest(kind, message.Payload) { OnAnswer = head => Reply(control, taskId, head) };
            if (!php.TryEnqueue(job))
                control.Send(new ControlMessage { Type = ControlMessage.Result, TaskId = taskId, Status = "error", Message = "the task worker is stopping" });
        };
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
        php.RequestShutdown();
        var exit = await php.Exited.WaitAsync(TimeSpan.FromSeconds(Math.Max(30, options.RequestTimeoutSeconds + 10))).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : 75);
        control.Dispose();
        log.Flush(TimeSpan.FromSeconds(1));
        return exit;
    }

    private static void Reply(ControlClient control, long taskId, ResponseHead head)
    {
        var payload = head.Body is { } body ? body.AsSpan(0, head.BodyLength).ToArray() : [];
        if (head.Body is not null) System.Buffers.ArrayPool<byte>.Shared.Return(head.Body);
        head.File?.Dispose();
        var ok = head.Status == 200;
        control.Send(new ControlMessage
        {
            Type = ControlMessage.Result,
            TaskId = taskId,
            Status = ok ? "ok" : "error",
            Payload = ok ? payload : null,
            Message = ok ? null : $"the task worker answered {head.Status}: {System.Text.Encoding.UTF8.GetString(payload).Trim()}",
        });
    }

    private static bool FillEnvelope(PhpRequest job, EnvelopeArena arena)
    {
        arena.SetMethod(job.Kind == JobKind.Tick ? "TICK" : "TASK");
        arena.SetUri("");
        arena.SetProtocol("");
        return true;
    }
}
