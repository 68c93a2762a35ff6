using System.Runtime.InteropServices;
using Askr.Php;
using Askr.Worker;

namespace Askr.Tasks;

/// <summary>
/// The PHP thread's side of the task natives (native/shim/tasks.c), called by the shim through
/// function pointers: dispatch_tasks() in HTTP workers, take_task() and send_task_result() in
/// task workers. As every callback of the seam, each catches everything and returns an error code,
/// and none calls into the Zend engine (docs/natives.md).
/// </summary>
internal static unsafe class TaskNatives
{
    private static ShimInterop.TaskResult* s_results;
    private static int s_resultCapacity;
    private static readonly List<GCHandle> s_resultPins = [];
    private static GCHandle s_payload;

    /// <summary>Puts the task callbacks into the table the PHP thread hands the shim.</summary>
    public static void Register(ShimInterop.Callbacks* callbacks)
    {
        callbacks->Dispatch = &OnDispatch;
        callbacks->TakeTask = &OnTakeTask;
        callbacks->SendTaskResult = &OnSendTaskResult;
    }

    // ---------- dispatch_tasks(): Octane::concurrently() from an HTTP worker ----------

    [UnmanagedCallersOnly]
    private static int OnDispatch(ShimInterop.Str* payloads, long count, long timeoutMs, int wait, ShimInterop.TaskResult** results)
    {
        try { return Dispatch(PhpThread.Current.Tasks, payloads, count, timeoutMs, wait != 0, results); }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int Dispatch(TaskDispatcher? dispatcher, ShimInterop.Str* payloads, long count, long timeoutMs, bool wait, ShimInterop.TaskResult** results)
    {
        foreach (var pin in s_resultPins) pin.Free();
        s_resultPins.Clear();
        var list = new List<byte[]>((int)count);
        for (var i = 0; i < count; i++) list.Add(new ReadOnlySpan<byte>(payloads[i].Ptr, (int)payloads[i].Len).ToArray());
        var outcomes = dispatcher is null
            ? list.Select(_ => new TaskOutcome(TaskOutcomeStatus.Unavailable, null, "this worker has no supervisor to dispatch tasks to")).ToArray()
            : dispatcher.Run(list, (int)Math.Min(timeoutMs, int.MaxValue), wait);
        if (!wait) return 0;
        if (count > s_resultCapacity)
        {
            NativeMemory.Free(s_results);
            s_resultCapacity = (int)count;
            s_results = (ShimInterop.TaskResult*)NativeMemory.Alloc((nuint)(count * sizeof(ShimInterop.TaskResult)));
        }
        for (var i = 0; i < count; i++)
        {
            var o = outcomes[i];
            var data = o.Data ?? System.Text.Encoding.UTF8.GetBytes(o.Message ?? "");
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            s_resultPins.Add(pin);
            s_results[i] = new ShimInterop.TaskResult
            {
                Status = (int)o.Status,
                Data = new ShimInterop.Str { Ptr = (byte*)pin.AddrOfPinnedObject(), Len = data.Length },
            };
        }
        *results = s_results;
        return 0;
    }

    // ---------- take_task() / send_task_result(): a task worker's script ----------

    [UnmanagedCallersOnly]
    private static int OnTakeTask(long timeoutMs, ShimInterop.TakenTask* task)
    {
        try { return TakeTask(PhpThread.Current, timeoutMs, task); }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int TakeTask(PhpThread php, long timeoutMs, ShimInterop.TakenTask* task)
    {
        if (php.Kind != WorkerKind.Task) return ShimInterop.TakeWrongKind;
        if (s_payload.IsAllocated) s_payload.Free();
        var rc = php.Next(timeoutMs, out var next);
        if (rc != ShimInterop.TakeRequest) return rc;
        var job = (TaskJob)next!;
        task->Id = job.Task.Id;
        task->Kind = (int)job.Task.Kind;
        if (job.Task.Payload is { Length: > 0 } payload)
        {
            s_payload = GCHandle.Alloc(payload, GCHandleType.Pinned);
            task->Payload = new ShimInterop.Str { Ptr = (byte*)s_payload.AddrOfPinnedObject(), Len = payload.Length };
        }
        php.Begin(job);
        return ShimInterop.TakeRequest;
    }

    [UnmanagedCallersOnly]
    private static int OnSendTaskResult(int status, byte* data, long length)
    {
        try { return SendTaskResult(PhpThread.Current, status, new ReadOnlySpan<byte>(data, (int)length)); }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int SendTaskResult(PhpThread php, int status, ReadOnlySpan<byte> data)
    {
        if (php.Kind != WorkerKind.Task) return ShimInterop.SendWrongKind;
        var job = php.CurrentJob<TaskJob>();
        if (job is null) return ShimInterop.SendNoRequest;
        if (job.Answered) return job.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        var ok = status == ShimInterop.TaskOk;
        // The result leaves from this (PHP) thread, without a thread-pool hop.
        if (!job.TryComplete(ok ? TaskOutcomeStatus.Ok : TaskOutcomeStatus.Error, ok ? data.ToArray() : null, ok ? null : System.Text.Encoding.UTF8.GetString(data)))
            return job.TimedOut ? ShimInterop.SendClientGone : ShimInterop.SendNoRequest;
        php.CountServed();
        return ShimInterop.SendOk;
    }
}
