using System.Runtime.InteropServices;
using System.Text;

namespace Askr.Php;

/// <summary>
/// Native memory that holds one request envelope (docs: php/octane-driver/stubs/natives.php,
/// take_request()) while the shim turns it into a PHP array. Reused for every request of the
/// PHP thread: no allocation per request once it has grown to the largest request seen.
/// Strings are stored as offsets while the arena is filled (it may move when it grows) and
/// turned into pointers by <see cref="Publish"/>.
/// </summary>
internal sealed unsafe class EnvelopeArena : IEnvelopeSink, IDisposable
{
    private byte* _bytes;
    private int _capacity;
    private int _used;
    private readonly List<(int Offset, int Length)> _headers = new(32);
    private readonly List<(int Offset, int Length)> _server = new(64);
    private (int Offset, int Length) _method, _uri, _protocol;
    private ShimInterop.Str* _table;
    private int _tableCapacity;
    private GCHandle _body;

    public EnvelopeArena(int initialCapacity = 16 * 1024)
    {
        _capacity = initialCapacity;
        _bytes = (byte*)NativeMemory.Alloc((nuint)_capacity);
    }

    public void Reset()
    {
        _used = 0;
        _headers.Clear();
        _server.Clear();
        if (_body.IsAllocated) _body.Free();
    }

    public void SetMethod(string value) => _method = Add(value);
    public void SetUri(string value) => _uri = Add(value);
    public void SetProtocol(string value) => _protocol = Add(value);

    public void AddHeader(string name, string value)
    {
        _headers.Add(Add(name));
        _headers.Add(Add(value));
    }

    public void AddServer(string name, string value)
    {
        _server.Add(Add(name));
        _server.Add(Add(value));
    }

    /// <summary>Adds a CGI meta-variable named from a header: "HTTP_" + upper case, '-' as '_' (RFC 3875 4.1.18).</summary>
    public void AddServerFromHeader(string header, string value)
    {
        var length = 5 + header.Length;
        Ensure(length);
        var start = _used;
        var span = new Span<byte>(_bytes + _used, length);
        "HTTP_"u8.CopyTo(span);
        for (var i = 0; i < header.Length; i++)
        {
            var c = header[i];
            span[5 + i] = c == '-' ? (byte)'_' : (byte)char.ToUpperInvariant(c);
        }
        _used += length;
        _server.Add((start, length));
        _server.Add(Add(value));
    }

    private (int, int) Add(string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(max);
        var written = Encoding.UTF8.GetBytes(value, new Span<byte>(_bytes + _used, max));
        var start = _used;
        _used += written;
        return (start, written);
    }

    private void Ensure(int more)
    {
        if (_used + more <= _capacity) return;
        var capacity = Math.Max(_capacity * 2, _used + more);
        _bytes = (byte*)NativeMemory.Realloc(_bytes, (nuint)capacity);
        _capacity = capacity;
    }

    /// <summary>Fills <paramref name="envelope"/> with pointers into this arena and the pinned body.</summary>
    public void Publish(PhpRequest request, ShimInterop.Envelope* envelope)
    {
        var entries = _headers.Count + _server.Count;
        if (entries > _tableCapacity)
        {
            _tableCapacity = Math.Max(entries, _tableCapacity * 2);
            _table = (ShimInterop.Str*)NativeMemory.Realloc(_table, (nuint)(_tableCapacity * sizeof(ShimInterop.Str)));
        }
        for (var i = 0; i < _headers.Count; i++) _table[i] = Str(_headers[i]);
        for (var i = 0; i < _server.Count; i++) _table[_headers.Count + i] = Str(_server[i]);
        envelope->Id = request.Id;
        envelope->Method = Str(_method);
        envelope->Uri = Str(_uri);
        envelope->Protocol = Str(_protocol);
        envelope->Headers = _table;
        envelope->HeaderCount = _headers.Count / 2;
        envelope->Server = _table + _headers.Count;
        envelope->ServerCount = _server.Count / 2;
        if (request.Body is { } body && request.BodyLength > 0)
        {
            _body = GCHandle.Alloc(body, GCHandleType.Pinned);
            envelope->Body = new ShimInterop.Str { Ptr = (byte*)_body.AddrOfPinnedObject(), Len = request.BodyLength };
        }
        else
        {
            envelope->Body = default;
        }
    }

    private ShimInterop.Str Str((int Offset, int Length) s) => new() { Ptr = _bytes + s.Offset, Len = s.Length };

    public void Dispose()
    {
        Reset();
        NativeMemory.Free(_bytes);
        NativeMemory.Free(_table);
        _bytes = null;
        _table = null;
    }
}
