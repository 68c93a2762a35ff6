using System.Buffers.Binary;
using Askr.Control;
using Askr.Tasks;

namespace Askr.Tests.Control;

public sealed class ControlMessageTests
{
    [Fact]
    public async Task A_frame_round_trips()
    {
        var frame = new StatsMessage { Slot = 2, Pid = 42, Requests = 7 }.ToFrame();
        var read = Assert.IsType<StatsMessage>(await ControlMessage.ReadAsync(new MemoryStream(frame), CancellationToken.None));
        Assert.Equal((2, 42, 7L), (read.Slot, read.Pid, read.Requests));
    }

    [Fact]
    public async Task End_of_stream_between_frames_reads_as_null()
    {
        Assert.Null(await ControlMessage.ReadAsync(new MemoryStream(), CancellationToken.None));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(ControlMessage.MaxFrameBytes + 1)]
    public async Task A_frame_length_outside_the_limit_is_rejected(int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(header, length);
        await Assert.ThrowsAsync<InvalidDataException>(() => ControlMessage.ReadAsync(new MemoryStream(header), CancellationToken.None));
    }

    [Fact]
    public async Task A_truncated_frame_is_rejected()
    {
        var frame = new ReadyMessage().ToFrame();
        await Assert.ThrowsAsync<InvalidDataException>(() => ControlMessage.ReadAsync(new MemoryStream(frame[..^2]), CancellationToken.None));
    }

    [Fact]
    public async Task A_frame_that_is_not_json_is_rejected()
    {
        var frame = new byte[4 + 3];
        BinaryPrimitives.WriteInt32LittleEndian(frame, 3);
        "{{{"u8.CopyTo(frame.AsSpan(4));
        await Assert.ThrowsAsync<InvalidDataException>(() => ControlMessage.ReadAsync(new MemoryStream(frame), CancellationToken.None));
    }

    [Fact]
    public async Task Each_kind_of_message_round_trips_as_its_own_type_with_its_own_fields()
    {
        ControlMessage[] messages =
        [
            new HelloMessage { Kind = "task" },
            new SubmitTasksMessage { Tasks = [new QueuedTask(7, "a"u8.ToArray()), new QueuedTask(8, [])], Wait = true },
            new RunTaskMessage { Id = 3, Kind = TaskKind.Tick },
            new TaskResultMessage { Id = 7, Status = TaskOutcomeStatus.Unavailable, Message = "none" },
            new TaskWorkerIdleMessage(),
        ];
        var stream = new MemoryStream();
        foreach (var m in messages) stream.Write(m.ToFrame());
        stream.Position = 0;

        Assert.Equal("task", Assert.IsType<HelloMessage>(await ControlMessage.ReadAsync(stream, CancellationToken.None)).Kind);
        var submit = Assert.IsType<SubmitTasksMessage>(await ControlMessage.ReadAsync(stream, CancellationToken.None));
        Assert.True(submit.Wait);
        Assert.Equal([7L, 8L], submit.Tasks.Select(t => t.Id));
        Assert.Equal("a", System.Text.Encoding.UTF8.GetString(submit.Tasks[0].Payload));
        var run = Assert.IsType<RunTaskMessage>(await ControlMessage.ReadAsync(stream, CancellationToken.None));
        Assert.Equal((3L, TaskKind.Tick, (byte[]?)null), (run.Id, run.Kind, run.Payload));
        var result = Assert.IsType<TaskResultMessage>(await ControlMessage.ReadAsync(stream, CancellationToken.None));
        Assert.Equal(new TaskOutcome(TaskOutcomeStatus.Unavailable, null, "none"), result.ToOutcome());
        Assert.IsType<TaskWorkerIdleMessage>(await ControlMessage.ReadAsync(stream, CancellationToken.None));
        Assert.Null(await ControlMessage.ReadAsync(stream, CancellationToken.None));
    }

    [Fact]
    public void A_task_status_goes_on_the_wire_by_the_name_php_and_c_give_it()
    {
        var json = System.Text.Encoding.UTF8.GetString(new TaskResultMessage { Id = 1, Status = TaskOutcomeStatus.Timeout }.ToFrame().AsSpan(4));
        Assert.Contains("\"status\":\"timeout\"", json);
        Assert.StartsWith("{\"type\":\"task-result\"", json);
        Assert.Equal(["ok", "error", "timeout", "unavailable"], Enum.GetValues<TaskOutcomeStatus>().Select(WireNameConverter<TaskOutcomeStatus>.Name));
    }

    [Theory]
    [InlineData("{\"type\":\"no-such-message\"}")]
    [InlineData("{\"pid\":1}")]
    [InlineData("{\"type\":\"task-result\",\"id\":1,\"status\":\"fine\"}")]
    public async Task A_message_this_runtime_cannot_read_is_a_bad_frame(string json)
    {
        var body = System.Text.Encoding.UTF8.GetBytes(json);
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        await Assert.ThrowsAsync<InvalidDataException>(() => ControlMessage.ReadAsync(new MemoryStream(frame), CancellationToken.None));
    }
}
