using System.Buffers;
using System.Net;
using System.Text;
using Askr.Resp;
using Askr.Tests.Support;
using Askr.Tables;

namespace Askr.Tests.Resp;

/// <summary>
/// A session's batch processing (<c>RespSession.Process</c>) without sockets: however the input is
/// cut into buffer segments and however much of it has arrived, the replies are those of the whole
/// input at once. And the command lookup: any case of a name finds it, nothing else does.
/// </summary>
public sealed class RespSessionTests : IAsyncLifetime
{
    private TableStore _store = null!;
    private RespServer _server = null!;

    public Task InitializeAsync()
    {
        _store = TableStore.Create($"/dev/shm/askr-resp-session-test-{Guid.NewGuid():N}", RespFixture.Schemas(), nodeId: 7);
        _server = new RespServer(_store, new IPEndPoint(IPAddress.Loopback, 0), null, _ => { });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _store.Dispose();
    }

    // Replies that do not change when the pipeline runs again: the row bench:s exists beforehand, so HSET answers 0.
    private const string Pipeline =
        "*3\r\n$3\r\nSET\r\n$2\r\nsk\r\n$5\r\nhello\r\n" +
        "*2\r\n$3\r\nget\r\n$2\r\nsk\r\n" +
        "PING\r\n" +
        "*4\r\n$4\r\nHSET\r\n$7\r\nbench:s\r\n$4\r\nname\r\n$5\r\nvalue\r\n" +
        "*3\r\n$4\r\nhget\r\n$7\r\nbench:s\r\n$4\r\nname\r\n" +
        "*2\r\n$4\r\nECHO\r\n$40\r\n0123456789012345678901234567890123456789\r\n" +
        "*2\r\n$4\r\nNOPE\r\n$1\r\nx\r\n" +
        "ECHO \"two words\"\r\n" +
        "*1\r\n$4\r\nPING\r\n";

    private const string Replies =
        "+OK\r\n$5\r\nhello\r\n+PONG\r\n:0\r\n$5\r\nvalue\r\n$40\r\n0123456789012345678901234567890123456789\r\n" +
        "-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n$9\r\ntwo words\r\n+PONG\r\n";

    private RespSession NewSession() => new(_server, null!, 1);

    /// <summary>bytes[from..to] as a sequence cut at the given positions (of bytes) that fall inside.</summary>
    private static ReadOnlySequence<byte> Split(byte[] bytes, int from, int to, params int[] cuts) =>
        Segments.Split(bytes, from, to, cuts.Where(c => c > from && c < to));

    /// <summary>
    /// Feeds <paramref name="bytes"/> to one session as reads that end at <paramref name="arrivals"/>
    /// (then at the end), each read's buffer cut into segments at <paramref name="cuts"/>, keeping what a
    /// read left unconsumed for the next, as RunAsync does. Returns the replies, whether the
    /// connection stayed open and how many bytes were left unconsumed.
    /// </summary>
    private (string Replies, bool Open, long Left) Feed(byte[] bytes, int[] arrivals, params int[] cuts)
    {
        var session = NewSession();
        var output = new ArrayBufferWriter<byte>();
        var consumed = 0;
        var open = true;
        foreach (var end in arrivals.Where(a => a < bytes.Length).Append(bytes.Length))
        {
            if (end < consumed) continue;
            var buffer = Split(bytes, consumed, end, cuts);
            open = session.Process(ref buffer, output, out _);
            consumed = end - (int)buffer.Length;
            if (!open) break;
        }
        return (Encoding.UTF8.GetString(output.WrittenSpan), open, bytes.Length - consumed);
    }

    [Fact]
    public void A_batch_stops_at_the_flush_threshold_and_the_rest_runs_on_the_next_call_in_order()
    {
        var server = new RespServer(_store, new IPEndPoint(IPAddress.Loopback, 0), null, _ => { }, RespLimits.Default with { FlushBytes = 64 });
        var session = new RespSession(server, null!, 1);
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 40).Select(i => $"ECHO value-{i:D2}\r\n")));
        var expected = string.Concat(Enumerable.Range(0, 40).Select(i => $"$8\r\nvalue-{i:D2}\r\n"));
        var output = new ArrayBufferWriter<byte>();
        var buffer = new ReadOnlySequence<byte>(input);
        var calls = 0;
        while (!buffer.IsEmpty)
        {
            Assert.True(session.Process(ref buffer, output, out var wrote, out var paused));
            Assert.True(wrote);
            // Each call writes the replies of whole commands up to just past 64 bytes (14 bytes each: 5 a call).
            Assert.Equal(!buffer.IsEmpty, paused);
            calls++;
        }
        Assert.Equal(8, calls);
        Assert.Equal(expected, Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void A_reply_past_the_output_limit_throws_before_it_is_all_built()
    {
        var server = new RespServer(_store, new IPEndPoint(IPAddress.Loopback, 0), null, _ => { }, RespLimits.Default with { MaxOutputBytes = 10_000 });
        var session = new RespSession(server, null!, 1);
        var output = new ArrayBufferWriter<byte>();
        var fine = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("*2\r\n$4\r\nECHO\r\n$5000\r\n" + new string('x', 5000) + "\r\n"));
        Assert.True(session.Process(ref fine, output, out _));
        var keys = string.Concat(Enumerable.Repeat("$2\r\nsk\r\n", 5000)); // MGET sk ×5000: nil replies, 25 KB
        var big = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("*5001\r\n$4\r\nMGET\r\n" + keys));
        var e = Assert.Throws<RespOutputLimitException>(() => session.Process(ref big, output, out _));
        Assert.Equal(10_000, e.Limit);
        Assert.True(output.WrittenCount < 5020 + 10_000 + 4096, $"{output.WrittenCount} bytes written");
    }

    [Fact]
    public void A_pipeline_in_one_buffer_gets_every_reply_in_order()
    {
        Assert.Equal(":1\r\n", Feed(Encoding.ASCII.GetBytes("*4\r\n$4\r\nHSET\r\n$7\r\nbench:s\r\n$4\r\nname\r\n$1\r\nv\r\n"), []).Replies);
        Assert.Equal((Replies, true, 0L), Feed(Encoding.ASCII.GetBytes(Pipeline), []));
    }

    [Fact]
    public void Any_cut_into_segments_gives_the_same_replies()
    {
        Feed(Encoding.ASCII.GetBytes("*4\r\n$4\r\nHSET\r\n$7\r\nbench:s\r\n$4\r\nname\r\n$1\r\nv\r\n"), []);
        var bytes = Encoding.ASCII.GetBytes(Pipeline);
        for (var a = 0; a <= bytes.Length; a++)
        {
            Assert.Equal((Replies, true, 0L), Feed(bytes, [], a));
            for (var b = a + 1; b < bytes.Length; b += 7) Assert.Equal((Replies, true, 0L), Feed(bytes, [], a, b));
        }
    }

    [Fact]
    public void Any_split_into_reads_gives_the_same_replies()
    {
        Feed(Encoding.ASCII.GetBytes("*4\r\n$4\r\nHSET\r\n$7\r\nbench:s\r\n$4\r\nname\r\n$1\r\nv\r\n"), []);
        var bytes = Encoding.ASCII.GetBytes(Pipeline);
        for (var a = 0; a <= bytes.Length; a++)
        {
            Assert.Equal((Replies, true, 0L), Feed(bytes, [a]));
            // Segments cut where the first read ended, as a pipe appends the next read to a new segment.
            Assert.Equal((Replies, true, 0L), Feed(bytes, [a], a));
            for (var b = a + 1; b < bytes.Length; b += 5) Assert.Equal((Replies, true, 0L), Feed(bytes, [a, b], a, b));
        }
    }

    [Fact]
    public void A_partial_command_is_left_unconsumed_until_it_is_whole()
    {
        var bytes = Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$10\r\n01234");
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var (replies, open, left) = Feed(bytes, [], cut);
            Assert.Equal("+PONG\r\n", replies);
            Assert.True(open);
            Assert.Equal(bytes.Length - 14, left);
        }
    }

    [Theory]
    [InlineData("*1\r\n:3\r\n", "-ERR Protocol error: expected '$', got ':'\r\n")]
    [InlineData("*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk data not followed by CRLF\r\n")]
    [InlineData("SET k \"open\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    public void A_bad_frame_after_good_ones_is_answered_and_closes_however_it_is_cut(string frame, string error)
    {
        var bytes = Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\nPING\r\n" + frame + "*1\r\n$4\r\nPING\r\n");
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var (replies, open, _) = Feed(bytes, [], cut);
            Assert.Equal("+PONG\r\n+PONG\r\n" + error, replies);
            Assert.False(open);
        }
    }

    [Fact]
    public void Quit_answers_ok_and_stops_at_once()
    {
        var bytes = Encoding.ASCII.GetBytes("PING\r\n*1\r\n$4\r\nquit\r\nPING\r\n");
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var (replies, open, left) = Feed(bytes, [], cut);
            Assert.Equal("+PONG\r\n+OK\r\n", replies);
            Assert.False(open);
            Assert.Equal(6, left);
        }
    }

    [Fact]
    public void Every_command_is_found_in_any_case_and_no_other_name_is()
    {
        foreach (var entry in RespCommands.All)
        {
            var name = Encoding.ASCII.GetBytes(entry.Name);
            Assert.True(RespCommands.TryFind(name, out var found) && found.Id == entry.Id, entry.Name);
            Assert.True(RespCommands.TryFind(Encoding.ASCII.GetBytes(entry.Name.ToUpperInvariant()), out found) && found.Id == entry.Id, entry.Name);
            var mixed = name.Select((b, i) => i % 2 == 0 ? (byte)char.ToUpperInvariant((char)b) : b).ToArray();
            Assert.True(RespCommands.TryFind(mixed, out found) && found.Id == entry.Id, entry.Name);
            // Any one byte changed: found only if the result is (in some case) a command's name, and then that one.
            var names = RespCommands.All.ToDictionary(e => e.Name, e => e.Id);
            for (var i = 0; i < name.Length; i++)
            {
                var changed = (byte[])name.Clone();
                for (var b = 0; b < 256; b++)
                {
                    changed[i] = (byte)b;
                    var text = Encoding.Latin1.GetString(changed);
                    var expected = text.All(char.IsAsciiLetter) && names.TryGetValue(text.ToLowerInvariant(), out var id) ? id : RespCommandId.Unknown;
                    Assert.Equal(expected, RespCommands.TryFind(changed, out found) ? found.Id : RespCommandId.Unknown);
                }
            }
            Assert.False(RespCommands.TryFind(name.Append((byte)0).ToArray(), out _), entry.Name + "\\0");
            Assert.False(RespCommands.TryFind(name[..^1], out found) && found.Id == entry.Id, entry.Name + " without its last letter");
        }
        Assert.False(RespCommands.TryFind(""u8, out _));
        Assert.False(RespCommands.TryFind("hincrbyfloatxxxxx"u8, out _));
    }
}
