using System.Buffers.Binary;
using System.Text;

namespace Askr.ResponseCache;

/// <summary>
/// A stored response's payload (the blob after the key): int16 tag count, then per tag (int32
/// slot, int64 generation), int16 status, int16 header count, per header (uint16 name length,
/// name, int32 value length, value; Latin-1), int32 body length, body.
/// </summary>
internal static class CachedResponse
{
    public static byte[] Encode(IReadOnlyList<(int Slot, long Generation)> tags, int status, IReadOnlyList<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body)
    {
        var size = 2 + tags.Count * 12 + 4 + 4 + body.Length;
        foreach (var (name, value) in headers) size += 2 + Encoding.Latin1.GetByteCount(name) + 4 + Encoding.Latin1.GetByteCount(value);
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        var at = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)tags.Count); at += 2;
        foreach (var (slot, generation) in tags)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], slot); at += 4;
            BinaryPrimitives.WriteInt64LittleEndian(span[at..], generation); at += 8;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)status); at += 2;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)headers.Count); at += 2;
        foreach (var (name, value) in headers)
        {
            var n = Encoding.Latin1.GetBytes(name, span[(at + 2)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)n); at += 2 + n;
            var v = Encoding.Latin1.GetBytes(value, span[(at + 4)..]);
            BinaryPrimitives.WriteInt32LittleEndian(span[at..], v); at += 4 + v;
        }
        BinaryPrimitives.WriteInt32LittleEndian(span[at..], body.Length); at += 4;
        body.CopyTo(span[at..]);
        return buffer;
    }

    /// <summary>Whether every tag's generation is still the one recorded (none was purged since the store).</summary>
    public static bool TagsCurrent(CacheStore store, ReadOnlySpan<byte> payload)
    {
        var count = BinaryPrimitives.ReadUInt16LittleEndian(payload);
        for (var i = 0; i < count; i++)
        {
            var slot = BinaryPrimitives.ReadInt32LittleEndian(payload[(2 + i * 12)..]);
            var generation = BinaryPrimitives.ReadInt64LittleEndian(payload[(6 + i * 12)..]);
            if (store.TagGeneration(slot) != generation) return false;
        }
        return true;
    }

    /// <summary>Status, headers and where the body is in <paramref name="payload"/>.</summary>
    public static (int Status, List<KeyValuePair<string, string>> Headers, int BodyOffset, int BodyLength) Decode(ReadOnlySpan<byte> payload)
    {
        var at = 2 + BinaryPrimitives.ReadUInt16LittleEndian(payload) * 12;
        var status = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]); at += 2;
        var count = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]); at += 2;
        var headers = new List<KeyValuePair<string, string>>(count);
        for (var i = 0; i < count; i++)
        {
            var n = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]); at += 2;
            var name = Encoding.Latin1.GetString(payload.Slice(at, n)); at += n;
            var v = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]); at += 4;
            var value = Encoding.Latin1.GetString(payload.Slice(at, v)); at += v;
            headers.Add(new(name, value));
        }
        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]); at += 4;
        return (status, headers, at, bodyLength);
    }

    /// <summary>A Vary marker's payload: int16 count, per name (uint16 length, name).</summary>
    public static byte[] EncodeVary(IReadOnlyList<string> names)
    {
        var size = 2;
        foreach (var n in names) size += 2 + Encoding.Latin1.GetByteCount(n);
        var buffer = new byte[size];
        var at = 2;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)names.Count);
        foreach (var n in names)
        {
            var c = Encoding.Latin1.GetBytes(n, buffer.AsSpan(at + 2));
            BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(at), (ushort)c);
            at += 2 + c;
        }
        return buffer;
    }

    public static List<string> DecodeVary(ReadOnlySpan<byte> payload)
    {
        var count = BinaryPrimitives.ReadUInt16LittleEndian(payload);
        var names = new List<string>(count);
        var at = 2;
        for (var i = 0; i < count; i++)
        {
            var n = BinaryPrimitives.ReadUInt16LittleEndian(payload[at..]); at += 2;
            names.Add(Encoding.Latin1.GetString(payload.Slice(at, n))); at += n;
        }
        return names;
    }
}

/// <summary>
/// Reads a stored response's status and headers in place, without decoding them to strings
/// (the HIT path): <see cref="TryNext"/> until false, then <see cref="ReadBody"/>.
/// </summary>
internal ref struct StoredHeaderReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _at;
    private int _left;

    public StoredHeaderReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        _at = 2 + BinaryPrimitives.ReadUInt16LittleEndian(payload) * 12;
        Status = BinaryPrimitives.ReadUInt16LittleEndian(payload[_at..]); _at += 2;
        _left = BinaryPrimitives.ReadUInt16LittleEndian(payload[_at..]); _at += 2;
    }

    public int Status { get; }

    /// <summary>The next header's name and value (Latin-1 bytes), or false after the last.</summary>
    public bool TryNext(out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (_left == 0) { name = value = default; return false; }
        _left--;
        var n = BinaryPrimitives.ReadUInt16LittleEndian(_payload[_at..]); _at += 2;
        name = _payload.Slice(_at, n); _at += n;
        var v = BinaryPrimitives.ReadInt32LittleEndian(_payload[_at..]); _at += 4;
        value = _payload.Slice(_at, v); _at += v;
        return true;
    }

    /// <summary>Where the body is in the payload (after every header was read).</summary>
    public void ReadBody(out int offset, out int length)
    {
        while (TryNext(out _, out _)) { }
        length = BinaryPrimitives.ReadInt32LittleEndian(_payload[_at..]);
        offset = _at + 4;
    }
}

/// <summary>
/// The process's strings for stored header names and values (Latin-1), so a HIT does not
/// allocate a string per header: a lookup by the bytes decoded to chars on the stack. Bounded
/// (<see cref="MaxStrings"/>, <see cref="MaxLength"/>); past either, strings are allocated per hit.
/// </summary>
internal static class HeaderStrings
{
    public const int MaxStrings = 8192;
    public const int MaxLength = 256;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> s_strings = new(StringComparer.Ordinal);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_lookup =
        s_strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public static string Get(ReadOnlySpan<byte> latin1)
    {
        if (latin1.Length > MaxLength) return Encoding.Latin1.GetString(latin1);
        Span<char> chars = stackalloc char[latin1.Length];
        Encoding.Latin1.GetChars(latin1, chars);
        if (s_lookup.TryGetValue(chars, out var s)) return s;
        s = new string(chars);
        return s_strings.Count < MaxStrings ? s_strings.GetOrAdd(s, s) : s;
    }
}
