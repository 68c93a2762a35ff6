using System.Runtime.InteropServices;
using Askr.Tasks;

namespace Askr.Php;

/// <summary>Ephpm\Octane\dispatch_tasks(): Octane::concurrently() from an HTTP worker.</summary>
internal sealed unsafe partial class PhpWorker
{
    /// <summary>Sends tasks to the supervisor; null when this worker has no control socket.</summary>
    public TaskDispatcher? Tasks { get; init; }

    private ShimInterop.TaskResult* _taskResults;
    private int _taskResultCapacity;
    private readonly List<GCHandle> _taskResultPins = [];

    [UnmanagedCallersOnly]
    private static int OnDispatch(ShimInterop.Str* payloads, long count, long timeoutMs, int wait, ShimInterop.TaskResult** results)
    {
        try { return s_instance!.Dispatch(payloads, count, timeoutMs, wait != 0, results); }
        catch (Exception e) { return Fail(e); }
    }

    private int Dispatch(ShimInterop.Str* payloads, long count, long timeoutMs, bool wait, ShimInterop.TaskResult** results)
    {
        foreach (var pin in _taskResultPins) pin.Free();
        _taskResultPins.Clear();
        var list = new List<byte[]>((int)count);
        for (var i = 0; i < count; i++) list.Add(new ReadOnlySpan<byte>(payloads[i].Ptr, (int)payloads[i].Len).ToArray());
        TaskOutcome[] outcomes;
        if (Tasks is null)
        {
            outcomes = list.Select(_ => new TaskOutcome(TaskOutcomeStatus.Unavailable, null, "this worker has no supervisor to dispatch tasks to")).ToArray();
        }
        else
        {
            outcomes = Tasks.Run(list, (int)Math.Min(timeoutMs, int.MaxValue), wait);
        }
        if (!wait) return 0;
        if (count > _taskResultCapacity)
        {
            NativeMemory.Free(_taskResults);
            _taskResultCapacity = (int)count;
            _taskResults = (ShimInterop.TaskResult*)NativeMemory.Alloc((nuint)(count * sizeof(ShimInterop.TaskResult)));
        }
        for (var i = 0; i < count; i++)
        {
            var o = outcomes[i];
            var data = o.Data ?? System.Text.Encoding.UTF8.GetBytes(o.Message ?? "");
            var pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            _taskResultPins.Add(pin);
            _taskResults[i] = new ShimInterop.TaskResult
            {
                Status = (int)o.Status,
                Data = new ShimInterop.Str { Ptr = (byte*)pin.AddrOfPinnedObject(), Len = data.Length },
            };
        }
        *results = _taskResults;
        return 0;
    }
}
