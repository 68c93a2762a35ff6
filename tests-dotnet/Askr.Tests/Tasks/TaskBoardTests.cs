using System.Diagnostics;
using Askr.Control;
using Askr.Tasks;
using Askr.Logging;
using Askr.Supervision;

namespace Askr.Tests.Tasks;

/// <summary>The task board: how HTTP workers and the supervisor share the node's task workers.</summary>
public sealed class TaskBoardTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"askr-test-{Guid.NewGuid():N}.tasks");
    private readonly TaskBoard _board;

    public TaskBoardTests() => _board = TaskBoard.Create(_path, 3);

    public void Dispose() => _board.Dispose();

    [Fact]
    public void A_published_worker_is_seen_by_another_mapping_with_its_socket_and_id()
    {
        _board.Publish(1, 4242, 17, "/tmp/askr-1-x.tasks-17.sock");
        using var other = TaskBoard.Open(_path);
        Assert.Equal(3, other.Slots);
        Assert.Equal(4242, other.Pid(1));
        Assert.Equal(17, other.WorkerId(1));
        Assert.Equal("/tmp/askr-1-x.tasks-17.sock", other.SocketPath(1));
        Assert.Equal(TaskSlotState.Off, other.State(1));
    }

    [Fact]
    public void Only_idle_slots_can_be_claimed_and_each_claim_succeeds_once()
    {
        Assert.Equal(-1, _board.ClaimAny(1));
        _board.Publish(0, 100, 1, "a");
        Assert.True(_board.MakeIdle(0));
        Assert.Equal(0, _board.ClaimAny(7));
        Assert.Equal(7, _board.Claimer(0));
        Assert.False(_board.TryClaim(0, 8));
        Assert.Equal(-1, _board.ClaimAny(8));
        Assert.True(_board.Release(0));
        Assert.Equal(TaskSlotState.Idle, _board.State(0));
        Assert.True(_board.TryClaim(0, 8));
    }

    [Fact]
    public void Concurrent_claimers_never_get_the_same_slot_twice()
    {
        for (var s = 0; s < 3; s++) { _board.Publish(s, 100 + s, s + 1, $"s{s}"); _board.MakeIdle(s); }
        var claimed = new int[3];
        var doubles = 0;
        Parallel.For(0, 4, _ =>
        {
            using var mine = TaskBoard.Open(_path);
            for (var i = 0; i < 20000; i++)
            {
                var slot = mine.ClaimAny(Environment.ProcessId);
                if (slot < 0) continue;
                if (Interlocked.Increment(ref claimed[slot]) != 1) Interlocked.Increment(ref doubles);
                Interlocked.Decrement(ref claimed[slot]);
                Assert.True(mine.Release(slot));
            }
        });
        Assert.Equal(0, doubles);
    }

    [Fact]
    public void A_retired_slot_takes_no_new_claims_and_goes_off_once_its_task_is_done()
    {
        _board.Publish(2, 100, 1, "a");
        _board.MakeIdle(2);
        Assert.True(_board.TryClaim(2, 5));
        _board.Retire(2);
        Assert.Equal(TaskSlotState.BusyRetiring, _board.State(2));
        Assert.False(_board.Release(2));
        Assert.Equal(TaskSlotState.Off, _board.State(2));
        Assert.False(_board.TryClaim(2, 5));

        _board.Publish(1, 101, 2, "b");
        _board.MakeIdle(1);
        _board.Retire(1);
        Assert.Equal(TaskSlotState.Off, _board.State(1));
    }

    [Fact]
    public void The_queue_counter_is_shared()
    {
        using var other = TaskBoard.Open(_path);
        _board.AddQueued(3);
        other.AddQueued(-1);
        Assert.Equal(2, _board.Queued);
    }

    [Fact]
    public void A_file_that_is_not_a_board_is_refused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"askr-test-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, new byte[512]);
        try
        {
            Assert.Throws<InvalidDataException>(() => TaskBoard.Open(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A hub sweeping the board, and slot 0 claimed by a process that has exited.</summary>
    private async Task<TaskHub> HubWithSlotClaimedByADeadProcess()
    {
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await dead.WaitForExitAsync();
        var hub = new TaskHub(new LogWriter(LogFormat.Text, LogLevel.Error, Stream.Null), ticks: true) { Board = _board };
        _board.Publish(0, Environment.ProcessId, 1, "a");
        _board.MakeIdle(0);
        Assert.True(_board.TryClaim(0, dead.Id));
        return hub;
    }

    [Fact]
    public async Task A_slot_claimed_by_a_process_that_died_before_sending_its_task_is_freed()
    {
        using var hub = await HubWithSlotClaimedByADeadProcess();
        // Swept on two ticks in a row (one second apart), so within about three seconds.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (_board.State(0) != TaskSlotState.Idle && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(TaskSlotState.Idle, _board.State(0));
    }

    [Fact]
    public async Task A_slot_whose_worker_has_a_task_in_hand_is_not_freed()
    {
        using var hub = await HubWithSlotClaimedByADeadProcess();
        _board.SetRunning(0, true);
        await Task.Delay(3500);
        Assert.Equal(TaskSlotState.Busy, _board.State(0));
    }
}
