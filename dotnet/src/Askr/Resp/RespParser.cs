using System.Buffers;
using System.Runtime.CompilerServices;

namespace Askr.Resp;

/// <summary>Outcome of parsing one command from the input.</summary>
internal enum RespParseStatus
{
    /// <summary>A whole command was read; its arguments are in <see cref="RespArgs"/>.</summary>
    Complete,
    /// <summary>Not enough input yet: wait for more and parse again from the same start.</summary>
    Incomplete,
    /// <summary>The frame is malformed; the stream cannot be resynchronised, so the connection ends.</summary>
    Invalid,
}

/// <summary>Where one argument lies: a slice of the frame, or of <see cref="RespArgs.InlineBuffer"/> for an inline command.</summary>
internal readonly record struct RespArgRange(int Start, int Length);

/// <summary>
/// The arguments of the last command parsed, as slices: reused from command to command by one
/// session, so parsing allocates nothing once the arrays have grown to the session's largest command.
/// </summary>
internal sealed class RespArgs
{
    public RespArgRange[] Ranges = new RespArgRange[8];
    public int Count;
    /// <summary>True when the ranges index <see cref="InlineBuffer"/> (an inline command, unescaped there) rather than the frame.</summary>
    public bool Inline;
    public byte[] InlineBuffer = new byte[256];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int start, int length)
    {
        if (Count == Ranges.Length) Array.Resize(ref Ranges, Count * 2);
        Ranges[Count++] = new RespArgRange(start, length);
    }
}

/// <summary>
/// A parsed command: the arguments, name first, as byte spans over the input (or the inline buffer).
/// Valid until the input is advanced past it.
/// </summary>
internal readonly ref struct RespCommand
{
    private readonly ReadOnlySpan<byte> _source;
    private readonly ReadOnlySpan<RespArgRange> _ranges;

    public RespCommand(ReadOnlySpan<byte> frame, RespArgs args)
    {
        _source = args.Inline ? args.InlineBuffer : frame;
        _ranges = new ReadOnlySpan<RespArgRange>(args.Ranges, 0, args.Count);
    }

    /// <summary>Arguments including the command name.</summary>
    public int Count => _ranges.Length;

    public ReadOnlySpan<byte> this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var r = _ranges[index];
            return _source.Slice(r.Start, r.Length);
        }
    }
}

/// <summary>
/// Limits on what a client may send. Redis allows bulk strings of 512 MB; askr's values are
/// bounded by column sizes (at most <see cref="Tables.TableSchema.MaxStringSize"/>), so the
/// default is far lower, and a frame beyond a limit ends the connection.
/// </summary>
internal sealed record RespLimits
{
    /// <summary>Largest bulk string, in bytes (default 1 MB, the largest string column).</summary>
    public int MaxBulkBytes { get; init; } = 1024 * 1024;
    /// <summary>Most elements of a command array (Redis: 1024 × 1024).</summary>
    public int MaxArrayLength { get; init; } = 1024 * 1024;
    /// <summary>Longest inline command line, in bytes (Redis: PROTO_INLINE_MAX_SIZE, 64 KB).</summary>
    public int MaxInlineBytes { get; init; } = 64 * 1024;
    /// <summary>Largest whole command frame, in bytes (default 16 MB): bounds what one connection buffers.</summary>
    public int MaxCommandBytes { get; init; } = 16 * 1024 * 1024;
    /// <summary>
    /// Most reply bytes a connection may hold unsent, Redis' <c>client-output-buffer-limit</c>
    /// (hard limit; default 256 MB, Redis' largest default hard limit, that of its replica class).
    /// Replies are flushed every <see cref="FlushBytes"/> and the session waits for the client to
    /// read them before it runs more commands, so only one reply can reach this (a large MGET,
    /// KEYS, SCAN); a reply past it closes the connection (docs/resp.md, "Protocol and limits").
    /// </summary>
    public long MaxOutputBytes { get; init; } = 256L * 1024 * 1024;
    /// <summary>
    /// Reply bytes after which a session flushes and waits for the socket before running the next
    /// command of a pipeline (default 64 KB, the socket transport's own write-buffer threshold).
    /// </summary>
    public int FlushBytes { get; init; } = 64 * 1024;

    public static RespLimits Default { get; } = new();
}

/// <summary>
/// RESP2 request parsing, in Garnet's style: <c>TryParse…</c> over a span never throws and never
/// consumes a partial command; on short input it answers <see cref="RespParseStatus.Incomplete"/>
/// with the input length worth waiting for. Requests are either arrays of bulk strings
/// (<c>*2\r\n$3\r\nGET\r\n$1\r\nk\r\n</c>, what client libraries send) or inline commands
/// (<c>GET k\r\n</c>, what telnet sends), told apart by the first byte as Redis does
/// (networking.c, processInputBuffer). Protocol error texts are Redis' own.
/// </summary>
internal static class RespParser
{
    /// <summary>
    /// Parses the command at the start of <paramref name="input"/>.
    /// </summary>
    /// <param name="consumed">On Complete: bytes the command took.</param>
    /// <param name="needed">On Incomplete: the input length below which parsing again cannot succeed.</param>
    /// <param name="error">On Invalid: the error text, to send as <c>-ERR Protocol error: …</c>.</param>
    /// <remarks>
    /// An empty array (<c>*0</c>, <c>*-1</c>) or an empty inline line completes with no arguments;
    /// Redis ignores those, and so does the session.
    /// </remarks>
    public static RespParseStatus TryParseCommand(ReadOnlySpan<byte> input, RespLimits limits, RespArgs args,
        out int consumed, out int needed, out string? error)
    {
        args.Count = 0;
        args.Inline = false;
        consumed = 0;
        needed = 0;
        error = null;
        if (input.IsEmpty)
        {
            needed = 1;
            return RespParseStatus.Incomplete;
        }
        return input[0] == (byte)'*'
            ? TryParseArray(input, limits, args, out consumed, out needed, out error)
            : TryParseInline(input, limits, args, out consumed, out needed, out error);
    }

    /// <summary>
    /// As <see cref="TryParseCommand(ReadOnlySpan{byte}, RespLimits, RespArgs, out int, out int, out string?)"/>
    /// over buffered input in segments: in place when the command lies within the first segment
    /// (the usual case), else from a copy of a growing prefix into <paramref name="copy"/>. The copy
    /// is made only once the input is at least as long as the parser said it must be, so a large
    /// value arriving in pieces is copied a bounded number of times, not once per piece.
    /// </summary>
    /// <param name="frame">On Complete: the bytes the arguments are slices of (with <paramref name="args"/>, a <see cref="RespCommand"/>).</param>
    public static RespParseStatus TryParseCommand(scoped in ReadOnlySequence<byte> input, RespLimits limits, RespArgs args, ref byte[] copy,
        out ReadOnlySpan<byte> frame, out int consumed, out int needed, out string? error)
    {
        frame = input.FirstSpan;
        var status = TryParseCommand(frame, limits, args, out consumed, out needed, out error);
        if (status != RespParseStatus.Incomplete || frame.Length == input.Length || needed > input.Length) return status;
        var take = (int)Math.Min(input.Length, Math.Max(needed, Math.Max(frame.Length * 2L, 256)));
        while (true)
        {
            if (copy.Length < take) copy = new byte[Math.Max(take, (int)Math.Min(copy.Length * 2L, limits.MaxCommandBytes + 64L))];
            input.Slice(0, take).CopyTo(copy);
            frame = copy.AsSpan(0, take);
            status = TryParseCommand(frame, limits, args, out consumed, out needed, out error);
            if (status != RespParseStatus.Incomplete || take == input.Length || needed > input.Length) return status;
            take = (int)Math.Min(input.Length, Math.Max(needed, take * 2L));
        }
    }

    private static RespParseStatus TryParseArray(ReadOnlySpan<byte> input, RespLimits limits, RespArgs args,
        out int consumed, out int needed, out string? error)
    {
        consumed = 0;
        needed = 0;
        error = null;
        var pos = 1;
        var status = TryReadLength(input, ref pos, limits.MaxArrayLength, out var count);
        if (status != RespParseStatus.Complete || count > limits.MaxArrayLength)
            return NotYetOr(status, input.Length, "invalid multibulk length", out needed, out error);
        if (count <= 0)
        {
            consumed = pos;
            return RespParseStatus.Complete;
        }
        for (long i = 0; i < count; i++)
        {
            if (pos >= input.Length)
            {
                needed = pos + 4; // "$0\r\n" at least
                return RespParseStatus.Incomplete;
            }
            if (input[pos] != (byte)'$')
            {
                error = $"expected '$', got '{Printable(input[pos])}'";
                return RespParseStatus.Invalid;
            }
            pos++;
            status = TryReadLength(input, ref pos, limits.MaxBulkBytes, out var length);
            if (status != RespParseStatus.Complete || length < 0 || length > limits.MaxBulkBytes)
                return NotYetOr(status == RespParseStatus.Complete ? RespParseStatus.Invalid : status, input.Length, "invalid bulk length", out needed, out error);
            var end = pos + length + 2;
            if (end > limits.MaxCommandBytes)
            {
                error = "command too large";
                return RespParseStatus.Invalid;
            }
            if (input.Length < end)
            {
                needed = (int)end;
                return RespParseStatus.Incomplete;
            }
            if (input[(int)end - 2] != (byte)'\r' || input[(int)end - 1] != (byte)'\n')
            {
                error = "bulk data not followed by CRLF";
                return RespParseStatus.Invalid;
            }
            args.Add(pos, (int)length);
            pos = (int)end;
        }
        consumed = pos;
        return RespParseStatus.Complete;
    }

    private static RespParseStatus NotYetOr(RespParseStatus status, int inputLength, string message, out int needed, out string? error)
    {
        needed = 0;
        error = null;
        if (status == RespParseStatus.Incomplete)
        {
            needed = inputLength + 1;
            return status;
        }
        error = message;
        return RespParseStatus.Invalid;
    }

    /// <summary>
    /// Reads a decimal integer (optional '-', digits) and its CRLF at <paramref name="pos"/>,
    /// moving past both. Anything else where a digit or CRLF belongs is Invalid, and so is a value
    /// above <paramref name="max"/> as soon as its digits say so (no waiting for the rest).
    /// </summary>
    internal static RespParseStatus TryReadLength(ReadOnlySpan<byte> input, ref int pos, long max, out long value)
    {
        value = 0;
        var negative = false;
        var p = pos;
        if (p < input.Length && input[p] == (byte)'-')
        {
            negative = true;
            p++;
        }
        var digits = 0;
        while (p < input.Length)
        {
            var b = input[p];
            var d = (uint)(b - '0');
            if (d <= 9)
            {
                value = value * 10 + d;
                if (++digits > 18 || value > max) return RespParseStatus.Invalid;
                p++;
                continue;
            }
            if (b != (byte)'\r' || digits == 0) return RespParseStatus.Invalid;
            if (p + 1 >= input.Length) return RespParseStatus.Incomplete;
            if (input[p + 1] != (byte)'\n') return RespParseStatus.Invalid;
            pos = p + 2;
            if (negative) value = -value;
            return RespParseStatus.Complete;
        }
        return RespParseStatus.Incomplete;
    }

    private static RespParseStatus TryParseInline(ReadOnlySpan<byte> input, RespLimits limits, RespArgs args,
        out int consumed, out int needed, out string? error)
    {
        consumed = 0;
        needed = 0;
        error = null;
        var newline = input.IndexOf((byte)'\n');
        if (newline < 0 ? input.Length > limits.MaxInlineBytes : newline > limits.MaxInlineBytes)
        {
            error = "too big inline request";
            return RespParseStatus.Invalid;
        }
        if (newline < 0)
        {
            needed = input.Length + 1;
            return RespParseStatus.Incomplete;
        }
        var line = input[..newline];
        if (!line.IsEmpty && line[^1] == (byte)'\r') line = line[..^1];
        if (!SplitInline(line, args))
        {
            args.Count = 0;
            error = "unbalanced quotes in request";
            return RespParseStatus.Invalid;
        }
        consumed = newline + 1;
        return RespParseStatus.Complete;
    }

    /// <summary>
    /// Splits an inline command line into arguments as Redis' sdssplitargs does: blanks separate;
    /// "double quotes" take \n \r \t \b \a \xHH and \c escapes; 'single quotes' take \' only; a
    /// closing quote must be followed by a blank or the end. Unescaped bytes go to the inline buffer.
    /// </summary>
    private static bool SplitInline(ReadOnlySpan<byte> line, RespArgs args)
    {
        args.Inline = true;
        if (args.InlineBuffer.Length < line.Length) args.InlineBuffer = new byte[Math.Max(line.Length, args.InlineBuffer.Length * 2)];
        var output = args.InlineBuffer;
        var o = 0;
        var p = 0;
        while (true)
        {
            while (p < line.Length && IsSpace(line[p])) p++;
            if (p == line.Length) return true;
            var start = o;
            bool inDouble = false, inSingle = false, done = false;
            while (!done)
            {
                if (inDouble)
                {
                    if (p == line.Length) return false;
                    var c = line[p];
                    if (c == '\\' && p + 3 < line.Length && line[p + 1] == 'x' && IsHex(line[p + 2]) && IsHex(line[p + 3]))
                    {
                        output[o++] = (byte)(HexValue(line[p + 2]) * 16 + HexValue(line[p + 3]));
                        p += 3;
                    }
                    else if (c == '\\' && p + 1 < line.Length)
                    {
                        p++;
                        output[o++] = line[p] switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                    }
                    else if (c == '"')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return false;
                        done = true;
                    }
                    else output[o++] = c;
                }
                else if (inSingle)
                {
                    if (p == line.Length) return false;
                    var c = line[p];
                    if (c == '\\' && p + 1 < line.Length && line[p + 1] == '\'')
                    {
                        p++;
                        output[o++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (p + 1 < line.Length && !IsSpace(line[p + 1])) return false;
                        done = true;
                    }
                    else output[o++] = c;
                }
                else
                {
                    if (p == line.Length) break;
                    var c = line[p];
                    if (IsSpace(c) || c == 0) done = true;
                    else if (c == '"') inDouble = true;
                    else if (c == '\'') inSingle = true;
                    else output[o++] = c;
                }
                if (p < line.Length) p++;
            }
            args.Add(start, o - start);
        }
    }

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;
    private static bool IsHex(byte c) => char.IsAsciiHexDigit((char)c);
    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    private static string Printable(byte b) => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:x2}";
}
