using Askr.Tasks;
using BenchmarkDotNet.Attributes;

namespace Askr.Benchmarks;

/// <summary>
/// The task board: an HTTP worker claiming an idle task worker (compare-and-swap Idle → Busy,
/// round robin) and the task worker releasing it, as each direct task does; with every slot busy,
/// the failed claim that sends a task to the supervisor's queue instead.
/// </summary>
public class TaskBoardBenchmarks
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.tasks");
    private TaskBoard _board = null!;
    private readonly int _pid = Environment.ProcessId;

    [Params(3)]
    public int Slots { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _board = TaskBoard.Create(_path, Slots);
        for (var slot = 0; slot < Slots; slot++)
        {
            _board.Publish(slot, _pid, slot + 1, $"/tmp/askr-bench-{slot}.sock");
            _board.MakeIdle(slot);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _board.Dispose();
        File.Delete(_path);
    }

    [Benchmark]
    public bool ClaimAndRelease()
    {
        var slot = _board.ClaimAny(_pid);
        return _board.Release(slot);
    }

    [Benchmark]
    public int ClaimWhenAllAreBusy()
    {
        for (var slot = 0; slot < Slots; slot++) _board.TryClaim(slot, _pid);
        var claimed = _board.ClaimAny(_pid);
        for (var slot = 0; slot < Slots; slot++) _board.Release(slot);
        return claimed;
    }
}
