using System.Diagnostics;
using System.Text;
using Askr.WebSockets;

namespace Askr.Tests.WebSockets;

/// <summary>The node's Pusher event ring, mapped twice (as two processes would) in /dev/shm.</summary>
public sealed class EventRingTests : IDisposable
{
    private readonly string _path = $"/dev/shm/askr-test-{Guid.NewGuid():N}.pusher";
    private readonly EventRing _owner;

    public EventRingTests() => _owner = EventRing.Create(_path, 64 * 1024);

    public void Dispose() => _owner.Dispose(); // the creator's mapping deletes the file

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static List<string> Drain(EventRing.Reader reader)
    {
        var list = new List<string>();
        while (reader.TryRead(out var payload, out _)) list.Add(Encoding.UTF8.GetString(payload));
        return list;
    }

    [Fact]
    public void Another_process_reads_every_record_in_order_and_a_process_skips_its_own()
    {
        using var worker1 = EventRing.Open(_path, 1001);
        using var worker2 = EventRing.Open(_path, 1002);
        var reader2 = worker2.NewReader();
        var reader1 = worker1.NewReader();
        for (var i = 0; i < 50; i++) (i % 2 == 0 ? worker1 : worker2).Append(Bytes($"e{i}"));
        Assert.Equal(Enumerable.Range(0, 50).Where(i => i % 2 == 0).Select(i => $"e{i}"), Drain(reader2));
        Assert.Equal(Enumerable.Range(0, 50).Where(i => i % 2 == 1).Select(i => $"e{i}"), Drain(reader1));
        Assert.Equal(0, reader1.Overruns + reader2.Overruns);
    }

    [Fact]
    public void Records_wrap_around_the_end_and_a_reader_that_keeps_up_loses_none()
    {
        using var writer = EventRing.Open(_path, 1001);
        using var other = EventRing.Open(_path, 1002);
        var reader = other.NewReader();
        var sent = new List<string>();
        var got = new List<string>();
        for (var i = 0; i < 3000; i++)
        {
            var text = $"{i}:" + new string('x', i * 37 % 700);
            writer.Append(Bytes(text));
            sent.Add(text);
            if (i % 10 == 9) got.AddRange(Drain(reader)); // keeps up: never a capacity behind
        }
        got.AddRange(Drain(reader));
        Assert.Equal(sent, got);
        Assert.Equal(0, reader.Overruns);
    }

    [Fact]
    public void A_reader_a_whole_ring_behind_counts_an_overrun_and_goes_on_with_what_comes_next()
    {
        using var writer = EventRing.Open(_path, 1001);
        using var other = EventRing.Open(_path, 1002);
        var reader = other.NewReader();
        for (var i = 0; i < 200; i++) writer.Append(new byte[1000]); // ~200 KB through a 64 KiB ring
        Assert.Empty(Drain(reader));
        Assert.Equal(1, reader.Overruns);
        writer.Append(Bytes("after"));
        Assert.Equal(["after"], Drain(reader));
    }

    [Fact]
    public async Task A_sleeping_reader_is_woken_by_an_append_of_another_mapping()
    {
        using var writer = EventRing.Open(_path, 1001);
        using var other = EventRing.Open(_path, 1002);
        var reader = other.NewReader();
        var woke = new TaskCompletionSource<TimeSpan>();
        var thread = new Thread(() =>
        {
            var sw = Stopwatch.StartNew();
            reader.Wait(60_000); // only a wake (not the timeout) ends this in time
            woke.SetResult(sw.Elapsed);
        });
        thread.Start();
        await Task.Delay(200);
        writer.Append(Bytes("wake"));
        Assert.True(await Task.WhenAny(woke.Task, Task.Delay(TimeSpan.FromSeconds(20))) == woke.Task, "the reader was not woken by the append");
        Assert.Equal(["wake"], Drain(reader));
    }

    [Fact]
    public void An_event_larger_than_an_eighth_of_the_ring_is_refused_with_the_limit()
    {
        var e = Assert.Throws<ArgumentException>(() => _owner.Append(new byte[_owner.MaxPayloadBytes + 1]));
        Assert.Contains($"{_owner.MaxPayloadBytes}-byte limit", e.Message);
    }
}
