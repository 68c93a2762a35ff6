using Askr.SharedMemory;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Askr.Tables;

/// <summary>
/// A node's shared key-value store: every Octane table and the octane cache table of the node,
/// plus the change ring, in one file under /dev/shm that the supervisor creates and every worker
/// maps. Layout (all little-endian, offsets in bytes):
/// <code>
/// 0     store header (4096): magic "ASKRSTOR", version, table count, node id, hybrid clock,
///       change ring head, ring capacity, schema JSON length and offset
/// 4096  schema JSON (the tables' shapes, so a worker needs nothing but the path)
/// ...   change ring: capacity × 128-byte entries
/// ...   per table: table header (64), buckets (8 × bucket count), rows (row size × rows)
/// </code>
/// Design notes: docs/tables.md.
/// </summary>
public sealed unsafe class TableStore : IDisposable
{
    private const ulong Magic = 0x524F5453524B5341; // "ASKRSTOR"
    private const int Version = 1;
    private const int HeaderBytes = 4096;

    // store header fields
    private const int OffMagic = 0, OffVersion = 8, OffTableCount = 12, OffNodeId = 16, OffClock = 24,
        OffRingHead = 32, OffRingCapacity = 40, OffSchemaLength = 44, OffRingOffset = 48, OffCreatorPid = 56, OffReplicated = 60;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly Dictionary<string, SharedTable> _byName = new(StringComparer.Ordinal);

    private TableStore(MappedFile file)
    {
        _file = file;
        _base = file.Base;
    }

    public string Path => _file.Path;
    public IReadOnlyList<SharedTable> Tables { get; private set; } = [];
    public ChangeRing Changes { get; private set; } = null!;
    public HybridClock Clock { get; private set; } = null!;
    /// <summary>This node's id (random per supervisor start), recorded as a row's origin.</summary>
    public ulong NodeId => *(ulong*)(_base + OffNodeId);
    /// <summary>
    /// Set by the supervisor of a cluster node before its workers start: deletes then keep the row
    /// as a tombstone (so the delete can replicate) instead of freeing it at once, and every write
    /// appends to the change ring (which only replication reads; an unreplicated store skips it).
    /// </summary>
    public bool Replicated
    {
        get => Volatile.Read(ref *(int*)(_base + OffReplicated)) != 0;
        set => Volatile.Write(ref *(int*)(_base + OffReplicated), value ? 1 : 0);
    }

    /// <summary>The hybrid clock's word in the store header (the shim stamps the rows it increments with it).</summary>
    internal long* ClockWord => (long*)(_base + OffClock);
    /// <summary>The <see cref="Replicated"/> flag's word in the store header (the shim reads it before writing a row itself).</summary>
    internal int* ReplicatedWord => (int*)(_base + OffReplicated);

    /// <summary>Size of the mapping in bytes.</summary>
    public long Bytes { get; private set; }

    public SharedTable? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Creates the store file (the supervisor does, once per start). Replaces a stale file of the same path.</summary>
    public static TableStore Create(string path, IReadOnlyList<TableSchema> tables, ulong nodeId, int ringCapacity = 1 << 16)
    {
        if (ringCapacity < 1024 || (ringCapacity & (ringCapacity - 1)) != 0) throw new ArgumentException("ring capacity must be a power of two ≥ 1024");
        var schemaJson = Encoding.UTF8.GetBytes(new JsonArray(tables.Select(t => (JsonNode)t.ToJson()).ToArray()).ToJsonString());
        long offset = HeaderBytes + Align(schemaJson.Length, 4096);
        var ringOffset = offset;
        offset += (long)ringCapacity * ChangeRing.EntryBytes;
        var tableOffsets = new long[tables.Count];
        for (var i = 0; i < tables.Count; i++)
        {
            tableOffsets[i] = offset;
            offset += SharedTable.BytesFor(tables[i]);
        }
        File.Delete(path);
        var store = new TableStore(MappedFile.Create(path, offset)) { Bytes = offset };
        var b = store._base;
        new Span<byte>(b, HeaderBytes).Clear();
        *(int*)(b + OffVersion) = Version;
        *(int*)(b + OffTableCount) = tables.Count;
        *(ulong*)(b + OffNodeId) = nodeId;
        *(int*)(b + OffRingCapacity) = ringCapacity;
        *(int*)(b + OffSchemaLength) = schemaJson.Length;
        *(long*)(b + OffRingOffset) = ringOffset;
        *(int*)(b + OffCreatorPid) = Environment.ProcessId;
        schemaJson.CopyTo(new Span<byte>(b + HeaderBytes, schemaJson.Length));
        for (var i = 0; i < tables.Count; i++) SharedTable.Format(b + tableOffsets[i], tables[i]);
        Volatile.Write(ref *(ulong*)(b + OffMagic), Magic);
        store.Attach(tables, tableOffsets);
        return store;
    }

    /// <summary>Maps an existing store (a worker does, with the path the supervisor gave it).</summary>
    /// <exception cref="InvalidDataException">when the file is not an askr store of this version.</exception>
    public static TableStore Open(string path)
    {
        var store = new TableStore(MappedFile.Open(path)) { Bytes = new FileInfo(path).Length };
        var b = store._base;
        if (*(ulong*)(b + OffMagic) != Magic || *(int*)(b + OffVersion) != Version)
        {
            store.Dispose();
            throw new InvalidDataException($"{path} is not an askr table store of version {Version}");
        }
        var json = Encoding.UTF8.GetString(b + HeaderBytes, *(int*)(b + OffSchemaLength));
        var tables = JsonNode.Parse(json)!.AsArray().Select(n => TableSchema.FromJson(n!.AsObject())).ToList();
        var offsets = new long[tables.Count];
        long offset = HeaderBytes + Align(*(int*)(b + OffSchemaLength), 4096)
                      + (long)*(int*)(b + OffRingCapacity) * ChangeRing.EntryBytes;
        for (var i = 0; i < tables.Count; i++)
        {
            offsets[i] = offset;
            offset += SharedTable.BytesFor(tables[i]);
        }
        store.Attach(tables, offsets);
        return store;
    }

    private void Attach(IReadOnlyList<TableSchema> tables, long[] offsets)
    {
        Clock = new HybridClock((long*)(_base + OffClock));
        Changes = new ChangeRing(_base + *(long*)(_base + OffRingOffset), (long*)(_base + OffRingHead), *(int*)(_base + OffRingCapacity));
        var list = new List<SharedTable>();
        for (var i = 0; i < tables.Count; i++)
        {
            var t = new SharedTable(this, i, tables[i], _base + offsets[i]);
            list.Add(t);
            _byName[t.Schema.Name] = t;
        }
        Tables = list;
    }

    private static long Align(long n, long to) => (n + to - 1) / to * to;

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// A hybrid logical clock (Kulkarni et al., 2014) shared by all processes of a node, in the
/// store header: 48 bits of Unix milliseconds, 16 bits of logical counter. Every write gets a
/// value greater than any before it on this node; merging across nodes takes the larger.
/// </summary>
public sealed unsafe class HybridClock
{
    private readonly long* _state;

    internal HybridClock(long* state) => _state = state;

    public long Last => Volatile.Read(ref *_state);

    // Wall-clock milliseconds from the coarse monotonic clock (Environment.TickCount64, a few ns)
    // anchored to the real-time clock once per process: reading the real-time clock on every
    // write cost 25-80 ns here, more than the rest of an increment.
    private static readonly long s_anchorUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    private static readonly long s_anchorTicks = Environment.TickCount64;

    /// <summary>
    /// Unix milliseconds minus <see cref="Environment.TickCount64"/> (CLOCK_MONOTONIC_COARSE in
    /// milliseconds on Linux) for this process: the shim's clock (native/shim/tables.c) adds it to
    /// the same monotonic clock, so both sides of the process stamp rows alike.
    /// </summary>
    public static long MonotonicOffsetMilliseconds => s_anchorUnixMs - s_anchorTicks;

    /// <summary>Unix milliseconds, by the monotonic clock since this process's anchor.</summary>
    public static long PhysicalMilliseconds => s_anchorUnixMs + (Environment.TickCount64 - s_anchorTicks);

    /// <summary>A new timestamp for a local write.</summary>
    public long Next()
    {
        var physical = PhysicalMilliseconds << 16;
        while (true)
        {
            var last = Volatile.Read(ref *_state);
            var next = Math.Max(physical, last + 1);
            if (Interlocked.CompareExchange(ref *_state, next, last) == last) return next;
        }
    }

    /// <summary>Moves the clock past a timestamp received from another node.</summary>
    public void Observe(long remote)
    {
        while (true)
        {
            var last = Volatile.Read(ref *_state);
            if (remote <= last || Interlocked.CompareExchange(ref *_state, remote, last) == last) return;
        }
    }

    /// <summary>Unix milliseconds of a timestamp.</summary>
    public static long Milliseconds(long hlc) => hlc >> 16;
}

/// <summary>The kind of a change in the ring.</summary>
public enum ChangeKind : byte { Set = 1, Delete = 2, Increment = 3 }

/// <summary>One change: which row of which table, when (hybrid clock) and how.</summary>
public readonly record struct Change(long Sequence, long Clock, int Table, ChangeKind Kind, byte[] Key);

/// <summary>
/// The change feed: a multi-producer ring in shared memory that every write of a replicated store
/// (<see cref="TableStore.Replicated"/>) appends to (table, key, kind, hybrid clock), and that the
/// supervisor tails to replicate. A reader that falls more
/// than the ring's capacity behind learns it lost entries (<see cref="TryRead"/> reports an
/// overrun) and must resynchronise by scanning the tables.
/// Entry (128 bytes): int64 sequence (written last: the entry is complete when it equals the
/// expected sequence), int64 clock, int32 table, uint8 kind, uint8 key length, key[63].
/// </summary>
public sealed unsafe class ChangeRing
{
    public const int EntryBytes = 128;
    private readonly byte* _entries;
    private readonly long* _head;
    private readonly int _mask;

    internal ChangeRing(byte* entries, long* head, int capacity)
    {
        _entries = entries;
        _head = head;
        _mask = capacity - 1;
        Capacity = capacity;
    }

    public int Capacity { get; }
    /// <summary>Sequence number of the last entry claimed by a writer (entries start at 1).</summary>
    public long Head => Volatile.Read(ref *_head);

    internal void Append(int table, ChangeKind kind, ReadOnlySpan<byte> key, long clock)
    {
        var seq = Interlocked.Increment(ref *_head);
        var e = _entries + (seq & _mask) * EntryBytes;
        Volatile.Write(ref *(long*)e, 0);
        *(long*)(e + 8) = clock;
        *(int*)(e + 16) = table;
        e[20] = (byte)kind;
        e[21] = (byte)key.Length;
        key.CopyTo(new Span<byte>(e + 22, TableSchema.MaxKeyBytes));
        Volatile.Write(ref *(long*)e, seq);
    }

    /// <summary>
    /// Reads the entry with sequence <paramref name="next"/>. Returns false if it is not written
    /// yet. Sets <paramref name="overrun"/> when the writers have lapped the reader.
    /// </summary>
    public bool TryRead(long next, out Change change, out bool overrun)
    {
        change = default;
        overrun = Head - next >= Capacity;
        if (overrun) return false;
        var e = _entries + (next & _mask) * EntryBytes;
        var seq = Volatile.Read(ref *(long*)e);
        if (seq != next) return false;
        var key = new ReadOnlySpan<byte>(e + 22, Math.Min((int)e[21], TableSchema.MaxKeyBytes)).ToArray();
        change = new Change(seq, *(long*)(e + 8), *(int*)(e + 16), (ChangeKind)e[20], key);
        // The entry may have been overwritten while it was copied.
        if (Volatile.Read(ref *(long*)e) != seq)
        {
            overrun = true;
            return false;
        }
        return true;
    }
}
