using System.Buffers.Binary;
using Askr.Control;

namespace Askr.Tests.Unit;

public sealed class ControlMessageTests
{
    [Fact]
    public async Task A_frame_round_trips()
    {
        var frame = new ControlMessage { Type = ControlMessage.Stats, Slot = 2, Pid = 42, Requests = 7 }.ToFrame();
        var read = await ControlMessage.ReadAsync(new MemoryStream(frame), CancellationToken.None);
        Assert.Equal((ControlMessage.Stats, 2, 42, 7L), (read!.Type, read.Slot, read.Pid, read.Requests));
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
        var frame = new ControlMessage { Type = ControlMessage.Ready }.ToFrame();
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
}
