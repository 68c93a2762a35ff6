using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Askr.Resp;

/// <summary>
/// Writes RESP2 replies straight into the connection's output buffer (Kestrel's BufferWriter
/// pattern): it holds the current span and commits it in one <see cref="IBufferWriter{T}.Advance"/>
/// when full or when the batch ends, so a pipeline of replies costs one flush.
/// </summary>
internal ref struct RespWriter
{
    private readonly IBufferWriter<byte> _output;
    private readonly long _limit;
    private Span<byte> _span;
    private int _buffered;

    /// <param name="output">Where replies go (the connection's output pipe).</param>
    /// <param name="limit">Most bytes this writer may write; going past it throws <see cref="RespOutputLimitException"/> (checked per buffer, every 4 KB or so).</param>
    public RespWriter(IBufferWriter<byte> output, long limit = long.MaxValue)
    {
        _output = output;
        _limit = limit;
        _span = default;
        _buffered = 0;
    }

    /// <summary>Bytes written since the writer was made (committed or not).</summary>
    public long Written { get; private set; }

    /// <summary>Hands the buffered bytes to the output. Call before flushing.</summary>
    public void Commit()
    {
        if (_buffered > 0) _output.Advance(_buffered);
        _buffered = 0;
        _span = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Ensure(int bytes)
    {
        if (_span.Length - _buffered < bytes) Grow(bytes);
        return _span[_buffered..];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int bytes)
    {
        // Checked here, once per buffer, not per value: the hot path stays a bounds check.
        if (Written + bytes > _limit) throw new RespOutputLimitException(_limit);
        if (_buffered > 0) _output.Advance(_buffered);
        _buffered = 0;
        _span = _output.GetSpan(Math.Max(bytes, 4096));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Wrote(int bytes)
    {
        _buffered += bytes;
        Written += bytes;
    }

    /// <summary>Pre-encoded bytes, e.g. <c>"+OK\r\n"u8</c>.</summary>
    public void WriteRaw(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= 4096)
        {
            bytes.CopyTo(Ensure(bytes.Length));
            Wrote(bytes.Length);
            return;
        }
        while (!bytes.IsEmpty)
        {
            var span = Ensure(Math.Min(bytes.Length, 4096));
            var n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            Wrote(n);
            bytes = bytes[n..];
        }
    }

    public void WriteOk() => WriteRaw("+OK\r\n"u8);
    public void WriteNullBulk() => WriteRaw("$-1\r\n"u8);
    public void WriteNullArray() => WriteRaw("*-1\r\n"u8);

    public void WriteSimpleString(string text)
    {
        WriteRaw("+"u8);
        WriteAscii(text);
        WriteRaw("\r\n"u8);
    }

    /// <summary>An error reply; <paramref name="message"/> starts with its code (ERR, WRONGTYPE, NOAUTH…). CR and LF become spaces.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void WriteError(string message)
    {
        WriteRaw("-"u8);
        var bytes = Encoding.UTF8.GetBytes(message);
        for (var i = 0; i < bytes.Length; i++) if (bytes[i] is (byte)'\r' or (byte)'\n') bytes[i] = (byte)' ';
        WriteRaw(bytes);
        WriteRaw("\r\n"u8);
    }

    public void WriteInteger(long value)
    {
        var span = Ensure(24);
        span[0] = (byte)':';
        Utf8Formatter.TryFormat(value, span[1..], out var n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Wrote(n + 3);
    }

    public void WriteArrayHeader(long count) => WriteHeader((byte)'*', count);

    private void WriteHeader(byte type, long count)
    {
        var span = Ensure(24);
        span[0] = type;
        Utf8Formatter.TryFormat(count, span[1..], out var n);
        span[n + 1] = (byte)'\r';
        span[n + 2] = (byte)'\n';
        Wrote(n + 3);
    }

    public void WriteBulk(scoped ReadOnlySpan<byte> value)
    {
        if (value.Length <= 4000)
        {
            var span = Ensure(value.Length + 16);
            span[0] = (byte)'$';
            Utf8Formatter.TryFormat(value.Length, span[1..], out var n);
            span[n + 1] = (byte)'\r';
            span[n + 2] = (byte)'\n';
            value.CopyTo(span[(n + 3)..]);
            var at = n + 3 + value.Length;
            span[at] = (byte)'\r';
            span[at + 1] = (byte)'\n';
            Wrote(at + 2);
            return;
        }
        WriteHeader((byte)'$', value.Length);
        WriteRaw(value);
        WriteRaw("\r\n"u8);
    }

    public void WriteBulk(string value) => WriteBulk(Encoding.UTF8.GetBytes(value));

    /// <summary>An integer as a bulk string (a column's value, as HGET shows it).</summary>
    public void WriteBulkInteger(long value)
    {
        Span<byte> text = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, text, out var n);
        WriteBulk(text[..n]);
    }

    /// <summary>A float as a bulk string, in its shortest round-trip form ("10.5", "inf" as Redis writes infinities).</summary>
    public void WriteBulkDouble(double value)
    {
        Span<byte> text = stackalloc byte[32];
        WriteBulk(text[..FormatDouble(value, text)]);
    }

    /// <summary>Formats a float as askr shows it: shortest round-trip text; inf, -inf, nan as Redis.</summary>
    public static int FormatDouble(double value, Span<byte> into)
    {
        ReadOnlySpan<byte> special = double.IsNaN(value) ? "nan"u8 : double.IsPositiveInfinity(value) ? "inf"u8 : double.IsNegativeInfinity(value) ? "-inf"u8 : default;
        if (!special.IsEmpty)
        {
            special.CopyTo(into);
            return special.Length;
        }
        value.TryFormat(into, out var n, "R", CultureInfo.InvariantCulture);
        return n;
    }

    public void WriteAscii(string text)
    {
        var span = Ensure(Encoding.UTF8.GetMaxByteCount(text.Length));
        var n = Encoding.UTF8.GetBytes(text, span);
        Wrote(n);
    }
}

/// <summary>A reply would take a connection past <see cref="RespLimits.MaxOutputBytes"/>: the session closes it.</summary>
internal sealed class RespOutputLimitException(long limit)
    : Exception($"a reply went past the output buffer limit of {limit} bytes (--resp-output-buffer-limit)")
{
    public long Limit { get; } = limit;
}
