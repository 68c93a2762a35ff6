using System.Buffers;
using System.Text;
using Askr.Resp;
using Askr.Tests.Support;

namespace Askr.Tests.Resp;

/// <summary>The RESP request parser on its own: whole, partial, pipelined, inline and malformed input.</summary>
public sealed class RespParserTests
{
    private static readonly RespLimits Limits = new() { MaxBulkBytes = 1024, MaxArrayLength = 16, MaxInlineBytes = 64, MaxCommandBytes = 4096 };

    private static (RespParseStatus Status, string[] Args, int Consumed, int Needed, string? Error) Parse(string text, RespLimits? limits = null) =>
        Parse(Encoding.UTF8.GetBytes(text), limits);

    private static (RespParseStatus Status, string[] Args, int Consumed, int Needed, string? Error) Parse(byte[] input, RespLimits? limits = null)
    {
        var args = new RespArgs();
        var status = RespParser.TryParseCommand(input, limits ?? Limits, args, out var consumed, out var needed, out var error);
        var command = new RespCommand(input, args);
        var list = new string[status == RespParseStatus.Complete ? command.Count : 0];
        for (var i = 0; i < list.Length; i++) list[i] = Encoding.UTF8.GetString(command[i]);
        return (status, list, consumed, needed, error);
    }

    [Fact]
    public void An_array_of_bulk_strings_is_one_command()
    {
        var r = Parse("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
        Assert.Equal(RespParseStatus.Complete, r.Status);
        Assert.Equal(["SET", "k", "hello"], r.Args);
        Assert.Equal(31, r.Consumed);
    }

    [Fact]
    public void Bulk_strings_may_hold_any_bytes_including_crlf()
    {
        var r = Parse("*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n");
        Assert.Equal(["ECHO", "a\r\nb"], r.Args);
        Assert.Equal(["GET", ""], Parse("*2\r\n$3\r\nGET\r\n$0\r\n\r\n").Args);
    }

    [Fact]
    public void Every_strict_prefix_of_a_command_is_incomplete_and_consumes_nothing()
    {
        const string frame = "*3\r\n$4\r\nHSET\r\n$7\r\nusers:1\r\n$10\r\n0123456789\r\n";
        for (var length = 0; length < frame.Length; length++)
        {
            var r = Parse(frame[..length]);
            Assert.True(r.Status == RespParseStatus.Incomplete, $"prefix of {length} bytes: {r.Status} {r.Error}");
            Assert.Equal(0, r.Consumed);
            Assert.InRange(r.Needed, length + 1, frame.Length);
        }
        Assert.Equal(RespParseStatus.Complete, Parse(frame).Status);
    }

    [Fact]
    public void Incomplete_bulk_data_says_how_much_input_to_wait_for()
    {
        var r = Parse("*2\r\n$3\r\nGET\r\n$100\r\nabc");
        Assert.Equal(RespParseStatus.Incomplete, r.Status);
        Assert.Equal(4 + 9 + 6 + 102, r.Needed);
    }

    [Fact]
    public void Pipelined_commands_are_read_one_at_a_time()
    {
        var input = Encoding.UTF8.GetBytes("*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n*1\r\n$4\r\nPI");
        var commands = new List<string>();
        var at = 0;
        while (true)
        {
            var r = Parse(input[at..]);
            if (r.Status != RespParseStatus.Complete) break;
            commands.Add(string.Join(' ', r.Args));
            at += r.Consumed;
        }
        Assert.Equal(["PING", "GET a", "PING"], commands);
        Assert.Equal(input.Length - 10, at); // the last, partial command is left for later
    }

    [Theory]
    [InlineData("PING\r\n", new[] { "PING" })]
    [InlineData("PING\n", new[] { "PING" })]
    [InlineData("  SET   k  v \r\n", new[] { "SET", "k", "v" })]
    [InlineData("SET k \"a b\\x41\\n\"\r\n", new[] { "SET", "k", "a bA\n" })]
    [InlineData("SET k 'it\\'s'\r\n", new[] { "SET", "k", "it's" })]
    [InlineData("SET k \"\"\r\n", new[] { "SET", "k", "" })]
    public void Inline_commands_split_as_redis_sdssplitargs(string line, string[] expected)
    {
        var r = Parse(line);
        Assert.Equal(RespParseStatus.Complete, r.Status);
        Assert.Equal(expected, r.Args);
        Assert.Equal(Encoding.UTF8.GetByteCount(line), r.Consumed);
    }

    [Theory]
    [InlineData("\r\n")]
    [InlineData("   \n")]
    [InlineData("*0\r\n")]
    [InlineData("*-1\r\n")]
    public void Empty_commands_complete_with_no_arguments(string text)
    {
        var r = Parse(text);
        Assert.Equal(RespParseStatus.Complete, r.Status);
        Assert.Empty(r.Args);
        Assert.Equal(text.Length, r.Consumed);
    }

    [Fact]
    public void An_inline_command_without_its_newline_is_incomplete()
    {
        Assert.Equal(RespParseStatus.Incomplete, Parse("GET somek").Status);
    }

    [Theory]
    [InlineData("*x\r\n", "invalid multibulk length")]
    [InlineData("*\r\n", "invalid multibulk length")]
    [InlineData("*1x\r\n", "invalid multibulk length")]
    [InlineData("*1\rx", "invalid multibulk length")]
    [InlineData("*17\r\n", "invalid multibulk length")] // more than MaxArrayLength
    [InlineData("*1234567890123456789\r\n", "invalid multibulk length")]
    [InlineData("*1\r\n:3\r\n", "expected '$', got ':'")]
    [InlineData("*1\r\n+OK\r\n", "expected '$', got '+'")]
    [InlineData("*1\r\n$x\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$-1\r\n", "invalid bulk length")]
    [InlineData("*1\r\n$1025\r\n", "invalid bulk length")] // more than MaxBulkBytes
    [InlineData("*1\r\n$3\r\nGETxx", "bulk data not followed by CRLF")]
    [InlineData("*1\r\n$3\r\nGET\n\n", "bulk data not followed by CRLF")]
    [InlineData("SET k \"unterminated\r\n", "unbalanced quotes in request")]
    [InlineData("SET k \"a\"b\r\n", "unbalanced quotes in request")]
    [InlineData("SET k 'a\r\n", "unbalanced quotes in request")]
    public void Malformed_frames_are_invalid_with_redis_error_text(string text, string error)
    {
        var r = Parse(text);
        Assert.Equal(RespParseStatus.Invalid, r.Status);
        Assert.Equal(error, r.Error);
    }

    [Fact]
    public void A_bad_frame_is_invalid_even_before_the_rest_arrives()
    {
        // The bad type byte is judged as soon as it is seen, without waiting for more input.
        Assert.Equal(RespParseStatus.Invalid, Parse("*2\r\n!").Status);
        Assert.Equal(RespParseStatus.Invalid, Parse("*2\r\n$4\r\nPING\r\n$9999").Status);
    }

    [Fact]
    public void Inline_lines_and_whole_commands_have_size_limits()
    {
        Assert.Equal("too big inline request", Parse(new string('a', 65)).Error);
        Assert.Equal("too big inline request", Parse(new string('a', 70) + "\r\n").Error);
        // Bulks within their limit that add up to more than MaxCommandBytes.
        var frame = new StringBuilder("*5\r\n");
        for (var i = 0; i < 5; i++) frame.Append("$1000\r\n").Append('x', 1000).Append("\r\n");
        Assert.Equal("command too large", Parse(frame.ToString()).Error);
    }

    [Fact]
    public void The_default_limits_take_a_one_megabyte_value_and_refuse_more()
    {
        var ok = Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${1024 * 1024}\r\n").Concat(new byte[1024 * 1024]).Concat("\r\n"u8.ToArray()).ToArray();
        Assert.Equal(RespParseStatus.Complete, Parse(ok, RespLimits.Default).Status);
        Assert.Equal("invalid bulk length", Parse($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${1024 * 1024 + 1}\r\n", RespLimits.Default).Error);
    }

    [Fact]
    public void Argument_slices_grow_past_their_initial_capacity()
    {
        var frame = new StringBuilder("*16\r\n");
        for (var i = 0; i < 16; i++) frame.Append($"$2\r\n{i:00}\r\n");
        var r = Parse(frame.ToString());
        Assert.Equal(Enumerable.Range(0, 16).Select(i => i.ToString("00")), r.Args);
    }
}

public sealed class RespGlobTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("*", "", true)]
    [InlineData("users:*", "users:1", true)]
    [InlineData("users:*", "user:1", false)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[b-a]llo", "hallo", true)]
    [InlineData("h[a-b]llo", "hcllo", false)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hello", false)]
    [InlineData("*a*b*c", "xxaxxbxxc", true)]
    [InlineData("*a*b*c", "xxaxxcxxb", false)]
    [InlineData("a*", "b", false)]
    [InlineData("[abc", "a", true)] // an unterminated class ends at the pattern's end, as in Redis
    public void Matches_as_redis_stringmatchlen(string pattern, string subject, bool expected)
    {
        Assert.Equal(expected, RespGlob.IsMatch(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(subject)));
    }

    [Fact]
    public void Pathological_patterns_take_linear_time()
    {
        var pattern = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("a*", 30)) + "b");
        var subject = Encoding.UTF8.GetBytes(new string('a', 5000));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(RespGlob.IsMatch(pattern, subject));
        Assert.True(watch.ElapsedMilliseconds < 1000);
    }
}

/// <summary>The parser over input in segments, as the socket delivers it: any split gives the same result as one span.</summary>
public sealed class RespSegmentedParserTests
{
    private static readonly RespLimits Limits = new() { MaxBulkBytes = 1024, MaxArrayLength = 16, MaxInlineBytes = 64, MaxCommandBytes = 4096 };

    private static ReadOnlySequence<byte> Split(byte[] bytes, params int[] cuts) => Segments.Split(bytes, 0, bytes.Length, cuts);

    private static (RespParseStatus, string, int, string?) Parse(ReadOnlySequence<byte> input)
    {
        var args = new RespArgs();
        var copy = Array.Empty<byte>();
        var status = RespParser.TryParseCommand(input, Limits, args, ref copy, out var frame, out var consumed, out _, out var error);
        var command = new RespCommand(frame, args);
        var text = new List<string>();
        for (var i = 0; status == RespParseStatus.Complete && i < command.Count; i++) text.Add(Encoding.UTF8.GetString(command[i]));
        return (status, string.Join('|', text), consumed, error);
    }

    [Theory]
    [InlineData("*3\r\n$4\r\nHSET\r\n$7\r\nusers:1\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\n")]
    [InlineData("SET k \"a b\"\r\nPING\r\n")]
    [InlineData("*2\r\n$3\r\nGET\r\n$x\r\n")]
    [InlineData("*1\r\n$3\r\nGETxx")]
    [InlineData("*2\r\n$3\r\nGET\r\n$5\r\nab")]
    public void Any_two_or_three_way_split_parses_as_the_whole(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var whole = Parse(new ReadOnlySequence<byte>(bytes));
        for (var a = 0; a <= bytes.Length; a++)
        {
            Assert.Equal(whole, Parse(Split(bytes, a)));
            for (var b = a; b <= bytes.Length; b += 3) Assert.Equal(whole, Parse(Split(bytes, a, b)));
        }
    }

    [Fact]
    public void A_large_value_in_small_segments_is_copied_once_it_is_all_there()
    {
        var value = new string('v', 1000);
        var bytes = Encoding.UTF8.GetBytes($"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000\r\n{value}\r\n");
        var cuts = Enumerable.Range(1, bytes.Length / 16).Select(i => i * 16).Where(c => c < bytes.Length).ToArray();
        var (status, args, consumed, _) = Parse(Split(bytes, cuts));
        Assert.Equal(RespParseStatus.Complete, status);
        Assert.Equal($"SET|k|{value}", args);
        Assert.Equal(bytes.Length, consumed);
        var partial = Split(bytes[..500], cuts.Where(c => c < 500).ToArray());
        var copy = Array.Empty<byte>();
        Assert.Equal(RespParseStatus.Incomplete, RespParser.TryParseCommand(partial, Limits, new RespArgs(), ref copy, out _, out _, out var needed, out _));
        Assert.Equal(bytes.Length, needed);
        Assert.True(copy.Length < 500, "nothing worth copying before the value can be whole");
    }
}
