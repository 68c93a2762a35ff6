using Askr.SharedMemory;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Askr.Tables;

/// <summary>Outcome of a write.</summary>
public enum WriteStatus
{
    Ok = Php.ShimInterop.TableOk,
    /// <summary>No free row for a new key: the table holds as many rows as declared.</summary>
    Full = Php.ShimInterop.TableFull,
    /// <summary>The key is empty or longer than <see cref="TableSchema.MaxKeyBytes"/>.</summary>
    BadKey = Php.ShimInterop.TableBadKey,
    /// <summary>incr/decr on a string column.</summary>
    NotNumeric = Php.ShimInterop.TableNotNumeric,
    /// <summary>No such column.</summary>
    NoColumn = Php.ShimInterop.TableNoColumn,
    /// <summary>An update of a row that does not exist (<see cref="SharedTable.Update"/>).</summary>
    NoRow = Php.ShimInterop.TableNoRow,
}

/// <summary>
/// One fixed-capacity table in shared memory, as Swoole\Table: fixed rows, typed fixed-width
/// columns, every operation atomic per row across all processes of the node.
///
/// Layout: a 64-byte header (count, free-list lock, free-list head, next never-used row), then
/// the buckets (a power of two ≥ rows; each an int32 lock word and an int32 chain head), then
/// the rows. A row: int32 next-in-chain, int32 flags, int64 hybrid clock of its last write,
/// uint64 origin node, int32 key length, key[63] padded, then the column area (the values, see
/// <see cref="ColumnSchema"/>), then 24 bytes of metadata per column: int64 clock of the
/// column's last set, this node's counter share since then (int64 or double), int64 clock of
/// this node's last increment of it. The metadata is what merging across nodes needs
/// (docs/cluster.md): last writer wins per column, increments merge as per-node counters.
///
/// Locking: a key's bucket lock guards its whole chain (lookups, inserts, unlinks and the rows'
/// contents). The lock word holds the owner's pid, so a process that died holding it (kill -9)
/// is detected and the lock taken over. Free rows are a stack under its own lock.
/// </summary>
public sealed unsafe partial class SharedTable
{
    // The layout is the seam's (native/shim/constants.json TABLE_LAYOUT): the shim reads rows and
    // increments them in place with the same offsets and the same bucket locks (native/shim/tables.c).
    private const int HeaderBytes = Php.ShimInterop.TableLayoutHeaderBytes;
    private const int OffCount = 0, OffFreeLock = 4, OffFreeHead = 8, OffNextUnused = 12;
    private const int RowHeaderBytes = Php.ShimInterop.TableLayoutRowHeaderBytes; // next, flags, clock, origin, key length, key[63] + pad
    private const int RowOffNext = Php.ShimInterop.TableLayoutRowOffNext, RowOffFlags = Php.ShimInterop.TableLayoutRowOffFlags,
        RowOffClock = Php.ShimInterop.TableLayoutRowOffClock, RowOffOrigin = Php.ShimInterop.TableLayoutRowOffOrigin,
        RowOffKeyLength = Php.ShimInterop.TableLayoutRowOffKeyLength, RowOffKey = Php.ShimInterop.TableLayoutRowOffKey;
    private const int FlagUsed = Php.ShimInterop.TableLayoutRowFlagUsed;
    /// <summary>A deleted row kept so the delete can replicate (only in a replicated store).</summary>
    private const int FlagTombstone = Php.ShimInterop.TableLayoutRowFlagTombstone;
    /// <summary>Bytes of metadata per column: set clock, this node's share, its clock.</summary>
    internal const int ColumnMetaBytes = Php.ShimInterop.TableLayoutColumnMetaBytes;

    private static readonly int s_pid = Environment.ProcessId;

    private readonly TableStore _store;
    private readonly byte* _header;
    private readonly int* _buckets;
    private readonly byte* _rows;
    private readonly int _bucketMask;
    private readonly int _rowBytes;

    internal SharedTable(TableStore store, int id, TableSchema schema, byte* at)
    {
        _store = store;
        Id = id;
        Schema = schema;
        _header = at;
        var buckets = BucketCount(schema.Rows);
        _bucketMask = buckets - 1;
        _buckets = (int*)(at + HeaderBytes);
        _rows = at + HeaderBytes + (long)buckets * 8;
        _rowBytes = RowBytes(schema);
        _offsets = schema.Columns.Select(c => c.Offset).ToArray();
        _types = schema.Columns.Select(c => c.Type).ToArray();
        _stringSizes = schema.Columns.Select(c => c.Type == ColumnType.String ? c.Size : 0).ToArray();
        _allColumns = schema.Columns.Count == 64 ? ulong.MaxValue : (1UL << schema.Columns.Count) - 1;
        _columnBytes = schema.ColumnBytes;
    }

    private readonly int[] _offsets;
    private readonly ColumnType[] _types;
    private readonly int[] _stringSizes;
    private readonly ulong _allColumns;
    private readonly int _columnBytes;

    public int Id { get; }
    public TableSchema Schema { get; }
    /// <summary>Rows in use.</summary>
    public int Count => Volatile.Read(ref *(int*)(_header + OffCount));
    /// <summary>The table's shared memory: its header, then the buckets and the rows (TABLE_LAYOUT of native/shim/constants.json). The shim reads and increments rows through it.</summary>
    internal byte* Memory => _header;
    /// <summary>Buckets of the table (a power of two).</summary>
    internal int BucketCountOfTable => _bucketMask + 1;
    /// <summary>Bytes of one row: header, column area, column metadata.</summary>
    internal int RowByteCount => _rowBytes;
    /// <summary>Bytes of shared memory this table takes.</summary>
    public long Bytes => BytesFor(Schema);

    internal static int BucketCount(int rows) => (int)Math.Max(16, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)rows));
    internal static int RowBytes(TableSchema s) => RowHeaderBytes + s.ColumnBytes + s.Columns.Count * ColumnMetaBytes;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long* Meta(byte* row, int column) => (long*)(row + RowHeaderBytes + _columnBytes + column * ColumnMetaBytes);
    internal static long BytesFor(TableSchema s) => HeaderBytes + (long)BucketCount(s.Rows) * 8 + (long)s.Rows * RowBytes(s);

    internal static void Format(byte* at, TableSchema s) => new Span<byte>(at, (int)Math.Min(int.MaxValue, HeaderBytes + (long)BucketCount(s.Rows) * 8)).Clear();

    // ---------- operations ----------

    /// <summary>Copies the row of <paramref name="key"/> into <paramref name="into"/>; false if absent.</summary>
    public bool Get(ReadOnlySpan<byte> key, RowBuffer into)
    {
        if (!KeyOk(key)) return false;
        var lockWord = LockBucket(key, out var head);
        try
        {
            var row = Find(*head, key);
            if (row == null || IsTombstone(row)) return false;
            CopyOut(row, into.Pointer);
            into.Present = _allColumns;
            return true;
        }
        finally
        {
            Unlock(lockWord);
        }
    }

    public bool Exists(ReadOnlySpan<byte> key)
    {
        if (!KeyOk(key)) return false;
        var lockWord = LockBucket(key, out var head);
        try { return Find(*head, key) is var row && row != null && !IsTombstone(row); }
        finally { Unlock(lockWord); }
    }

    /// <summary>
    /// Writes the present columns of <paramref name="values"/> to the row of <paramref name="key"/>,
    /// creating it (other columns zero) if absent; columns not present keep their values, as in
    /// Swoole\Table::set. Setting a numeric column resets this node's counter delta for it.
    /// </summary>
    public WriteStatus Set(ReadOnlySpan<byte> key, RowBuffer values) => Set(key, values.Pointer, values.Present);

    /// <summary>
    /// As <see cref="Set(ReadOnlySpan{byte}, RowBuffer)"/>, from a column area laid out as the
    /// schema says (the shim encodes PHP values straight into one); bit i of
    /// <paramref name="present"/> marks column i as given.
    /// </summary>
    public WriteStatus Set(ReadOnlySpan<byte> key, byte* columnArea, ulong present) => Set(key, columnArea, present, out _);

    /// <summary>As <see cref="Set(ReadOnlySpan{byte}, RowBuffer)"/>, telling whether the row was created (atomically with the write).</summary>
    public WriteStatus Set(ReadOnlySpan<byte> key, RowBuffer values, out bool created) => Set(key, values.Pointer, values.Present, out created);

    /// <summary>
    /// As <see cref="Set(ReadOnlySpan{byte}, RowBuffer)"/>, but only if the row exists: never
    /// creates one (a RESP EXPIRE sets the expiration column of a cache entry, and must not bring
    /// back an entry deleted meanwhile). False, and nothing written, if the row is absent.
    /// </summary>
    public bool Update(ReadOnlySpan<byte> key, RowBuffer values) =>
        Set(key, values.Pointer, values.Present, out _, mustExist: true) == WriteStatus.Ok;

    private WriteStatus Set(ReadOnlySpan<byte> key, byte* columnArea, ulong present, out bool created, bool mustExist = false)
    {
        created = false;
        if (!KeyOk(key)) return WriteStatus.BadKey;
        var lockWord = LockBucket(key, out var head);
        long clock;
        try
        {
            var row = Find(*head, key);
            if (mustExist && (row == null || IsTombstone(row))) return WriteStatus.NoRow;
            if (row == null)
            {
                row = Insert(head, key);
                if (row == null) return WriteStatus.Full;
                created = true;
            }
            else if (IsTombstone(row))
            {
                Revive(row);
                created = true;
            }
            present &= _allColumns;
            for (var bits = present; bits != 0; bits &= bits - 1)
            {
                var i = BitOperations.TrailingZeroCount(bits);
                var offset = _offsets[i];
                var src = columnArea + offset;
                var dst = row + RowHeaderBytes + offset;
                var size = _stringSizes[i];
                if (size > 0)
                {
                    var length = Math.Min(*(int*)src, size);
                    *(int*)dst = length;
                    Buffer.MemoryCopy(src + 4, dst + 4, size, length);
                }
                else
                {
                    *(long*)dst = *(long*)src;
                }
            }
            clock = Stamp(row);
            for (var bits = present; bits != 0; bits &= bits - 1)
            {
                var meta = Meta(row, BitOperations.TrailingZeroCount(bits));
                meta[0] = clock;   // a new epoch for this column: earlier increments are folded into the value
                meta[1] = 0;
                meta[2] = 0;
            }
        }
        finally
        {
            Unlock(lockWord);
        }
        Changed(ChangeKind.Set, key, clock);
        return WriteStatus.Ok;
    }

    /// <summary>Removes the row; false if it was absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        if (!KeyOk(key)) return false;
        var lockWord = LockBucket(key, out var head);
        byte* removed = null;
        long clock;
        try
        {
            var row = Find(*head, key);
            if (row == null || IsTombstone(row)) return false;
            if (_store.Replicated)
            {
                // Keep the row as a tombstone, so the delete replicates and wins over older writes.
                *(int*)(row + RowOffFlags) = FlagUsed | FlagTombstone;
                Interlocked.Decrement(ref *(int*)(_header + OffCount));
                clock = Stamp(row);
            }
            else
            {
                removed = Unlink(head, key);
                clock = _store.Clock.Next();
            }
        }
        finally
        {
            Unlock(lockWord);
        }
        if (removed != null) Free(removed);
        Changed(ChangeKind.Delete, key, clock);
        return true;
    }

    /// <summary>
    /// Adds <paramref name="by"/> to an int column atomically across all workers, creating the row
    /// (zeroed) if absent, as Swoole\Table::incr does. Decrement with a negative value.
    /// </summary>
    public WriteStatus Increment(ReadOnlySpan<byte> key, int column, long by, out long result)
    {
        result = 0;
        if ((uint)column >= (uint)_types.Length) return WriteStatus.NoColumn;
        var type = _types[column];
        if (type == ColumnType.String) return WriteStatus.NotNumeric;
        if (type == ColumnType.Float)
        {
            var floatStatus = Increment(key, column, (double)by, out var d);
            result = (long)d;
            return floatStatus;
        }
        var row = LockRowForUpdate(key, out var lockWord, out var status);
        if (row == null) return status;
        long clock;
        try
        {
            var p = (long*)(row + RowHeaderBytes + _offsets[column]);
            *p = unchecked(*p + by);
            result = *p;
            clock = Stamp(row);
            var meta = Meta(row, column);
            meta[1] = unchecked(meta[1] + by);
            meta[2] = clock;
        }
        finally
        {
            Unlock(lockWord);
        }
        Changed(ChangeKind.Increment, key, clock);
        return WriteStatus.Ok;
    }

    /// <summary>As <see cref="Increment(ReadOnlySpan{byte}, int, long, out long)"/> for a float column (an int column adds the truncated value).</summary>
    public WriteStatus Increment(ReadOnlySpan<byte> key, int column, double by, out double result)
    {
        result = 0;
        if ((uint)column >= (uint)Schema.Columns.Count) return WriteStatus.NoColumn;
        var c = Schema.Columns[column];
        if (c.Type == ColumnType.String) return WriteStatus.NotNumeric;
        if (c.Type == ColumnType.Int)
        {
            var s = Increment(key, column, (long)by, out var l);
            result = l;
            return s;
        }
        var row = LockRowForUpdate(key, out var lockWord, out var status);
        if (row == null) return status;
        long clock;
        try
        {
            var p = (double*)(row + RowHeaderBytes + c.Offset);
            *p += by;
            result = *p;
            clock = Stamp(row);
            var meta = Meta(row, column);
            *(double*)(meta + 1) += by;
            meta[2] = clock;
        }
        finally
        {
            Unlock(lockWord);
        }
        Changed(ChangeKind.Increment, key, clock);
        return WriteStatus.Ok;
    }

    /// <summary>Finds or creates the row of key with its bucket locked; null (lock released) with the reason otherwise.</summary>
    private byte* LockRowForUpdate(ReadOnlySpan<byte> key, out int* lockWord, out WriteStatus status)
    {
        lockWord = null;
        if (!KeyOk(key))
        {
            status = WriteStatus.BadKey;
            return null;
        }
        lockWord = LockBucket(key, out var head);
        var row = Find(*head, key);
        if (row == null) row = Insert(head, key);
        else if (IsTombstone(row)) Revive(row);
        if (row == null)
        {
            Unlock(lockWord);
            status = WriteStatus.Full;
            return null;
        }
        status = WriteStatus.Ok;
        return row;
    }

    /// <summary>
    /// Visits rows bucket by bucket from <paramref name="cursor"/> (0 to start), each bucket's
    /// rows under its lock, until at least <paramref name="count"/> rows were visited. Returns the
    /// cursor to continue from, 0 when the table has been walked (as Redis SCAN). Rows present for
    /// the whole walk are visited exactly once.
    /// </summary>
    public int Scan(int cursor, int count, RowBuffer buffer, ScanVisitor visit)
    {
        var visited = 0;
        var bucket = cursor;
        while (bucket <= _bucketMask && visited < count)
        {
            var lockWord = _buckets + bucket * 2;
            Lock(lockWord);
            var rows = new List<(byte[] Key, byte[] Columns)>();
            try
            {
                var index = lockWord[1];
                while (index != 0)
                {
                    var row = Row(index);
                    if (!IsTombstone(row))
                    {
                        var klen = *(int*)(row + RowOffKeyLength);
                        rows.Add((new ReadOnlySpan<byte>(row + RowOffKey, klen).ToArray(),
                            new ReadOnlySpan<byte>(row + RowHeaderBytes, Schema.ColumnBytes).ToArray()));
                    }
                    index = *(int*)(row + RowOffNext);
                }
            }
            finally
            {
                Unlock(lockWord);
            }
            foreach (var (key, columns) in rows)
            {
                columns.CopyTo(new Span<byte>(buffer.Pointer, Schema.ColumnBytes));
                buffer.Present = Schema.Columns.Count == 64 ? ulong.MaxValue : (1UL << Schema.Columns.Count) - 1;
                visit(key, buffer);
                visited++;
            }
            bucket++;
        }
        return bucket > _bucketMask ? 0 : bucket;
    }

    public delegate void ScanVisitor(byte[] key, RowBuffer row);

    /// <summary>The hybrid clock and origin node of a row's last write; false if absent.</summary>
    public bool GetVersion(ReadOnlySpan<byte> key, out long clock, out ulong origin)
    {
        clock = 0;
        origin = 0;
        if (!KeyOk(key)) return false;
        var lockWord = LockBucket(key, out var head);
        try
        {
            var row = Find(*head, key);
            if (row == null || IsTombstone(row)) return false;
            clock = *(long*)(row + RowOffClock);
            origin = *(ulong*)(row + RowOffOrigin);
            return true;
        }
        finally
        {
            Unlock(lockWord);
        }
    }

    /// <summary>Test seam: marks the bucket of <paramref name="key"/> as locked by <paramref name="pid"/>, as a process killed mid-operation leaves it.</summary>
    internal void LockBucketAsForTest(ReadOnlySpan<byte> key, int pid) =>
        Volatile.Write(ref *(_buckets + (int)(BucketHash(key) & (uint)_bucketMask) * 2), pid);

    // ---------- internals ----------

    private static bool KeyOk(ReadOnlySpan<byte> key) => key.Length is > 0 and <= TableSchema.MaxKeyBytes;

    /// <summary>
    /// Records a write in the change ring, which only replication reads: a store that is not
    /// replicated skips it. (Appending cost ~6 ns per write, an atomic on the shared head and a
    /// fresh line of the 8 MiB ring, and pushed the rows out of the cache.) A cluster node's
    /// supervisor sets <see cref="TableStore.Replicated"/> before any worker starts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Changed(ChangeKind kind, ReadOnlySpan<byte> key, long clock)
    {
        if (_store.Replicated) _store.Changes.Append(Id, kind, key, clock);
    }

    private long Stamp(byte* row)
    {
        var clock = _store.Clock.Next();
        *(long*)(row + RowOffClock) = clock;
        *(ulong*)(row + RowOffOrigin) = _store.NodeId;
        return clock;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte* Row(int index) => _rows + (long)(index - 1) * _rowBytes;

    /// <summary>Copies a row's values out: numbers whole, strings only as long as they are (a cache value column may be 10 kB wide).</summary>
    private void CopyOut(byte* row, byte* into)
    {
        var area = row + RowHeaderBytes;
        for (var i = 0; i < _offsets.Length; i++)
        {
            var offset = _offsets[i];
            if (_stringSizes[i] == 0)
            {
                *(long*)(into + offset) = *(long*)(area + offset);
            }
            else
            {
                var length = Math.Clamp(*(int*)(area + offset), 0, _stringSizes[i]);
                Buffer.MemoryCopy(area + offset, into + offset, 4 + _stringSizes[i], 4 + length);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTombstone(byte* row) => (*(int*)(row + RowOffFlags) & FlagTombstone) != 0;

    /// <summary>Turns a tombstone back into an empty live row (a write after a delete). Bucket lock held.</summary>
    private void Revive(byte* row)
    {
        new Span<byte>(row + RowHeaderBytes, _rowBytes - RowHeaderBytes).Clear();
        // Every column is set to empty now, so the other nodes drop what the row held before the delete.
        var clock = _store.Clock.Next();
        for (var i = 0; i < _offsets.Length; i++) Meta(row, i)[0] = clock;
        *(int*)(row + RowOffFlags) = FlagUsed;
        Interlocked.Increment(ref *(int*)(_header + OffCount));
    }

    private byte* Find(int index, ReadOnlySpan<byte> key)
    {
        while (index != 0)
        {
            var row = Row(index);
            if (*(int*)(row + RowOffKeyLength) == key.Length
                && key.SequenceEqual(new ReadOnlySpan<byte>(row + RowOffKey, key.Length)))
                return row;
            index = *(int*)(row + RowOffNext);
        }
        return null;
    }

    /// <summary>Takes a free row, links it at the chain's head. Bucket lock held. Null when full.</summary>
    private byte* Insert(int* head, ReadOnlySpan<byte> key)
    {
        var index = Allocate();
        if (index == 0) return null;
        var row = Row(index);
        new Span<byte>(row, _rowBytes).Clear();
        *(int*)(row + RowOffKeyLength) = key.Length;
        key.CopyTo(new Span<byte>(row + RowOffKey, TableSchema.MaxKeyBytes));
        *(int*)(row + RowOffFlags) = FlagUsed;
        *(int*)(row + RowOffNext) = *head;
        *head = index;
        Interlocked.Increment(ref *(int*)(_header + OffCount));
        return row;
    }

    private byte* Unlink(int* head, ReadOnlySpan<byte> key)
    {
        var link = head;
        while (*link != 0)
        {
            var row = Row(*link);
            if (*(int*)(row + RowOffKeyLength) == key.Length
                && key.SequenceEqual(new ReadOnlySpan<byte>(row + RowOffKey, key.Length)))
            {
                *link = *(int*)(row + RowOffNext);
                if (!IsTombstone(row)) Interlocked.Decrement(ref *(int*)(_header + OffCount));
                *(int*)(row + RowOffFlags) = 0;
                return row;
            }
            link = (int*)(row + RowOffNext);
        }
        return null;
    }

    private int Allocate()
    {
        var freeLock = (int*)(_header + OffFreeLock);
        Lock(freeLock);
        try
        {
            var head = *(int*)(_header + OffFreeHead);
            if (head != 0)
            {
                *(int*)(_header + OffFreeHead) = *(int*)(Row(head) + RowOffNext);
                return head;
            }
            var next = *(int*)(_header + OffNextUnused);
            if (next >= Schema.Rows) return 0;
            *(int*)(_header + OffNextUnused) = next + 1;
            return next + 1;
        }
        finally
        {
            Unlock(freeLock);
        }
    }

    private void Free(byte* row)
    {
        var index = (int)((row - _rows) / _rowBytes) + 1;
        var freeLock = (int*)(_header + OffFreeLock);
        Lock(freeLock);
        try
        {
            *(int*)(row + RowOffNext) = *(int*)(_header + OffFreeHead);
            *(int*)(_header + OffFreeHead) = index;
        }
        finally
        {
            Unlock(freeLock);
        }
    }

    /// <summary>
    /// FNV-1a, 64 bit: stable across processes (string.GetHashCode is randomised per process) and
    /// across nodes: the cluster cuts the key space by it (<see cref="KeyHash"/>) and hashes row
    /// contents with it. Not what places a row in a bucket (<see cref="BucketHash"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Hash(ReadOnlySpan<byte> key)
    {
        var h = 14695981039346656037UL;
        foreach (var b in key) h = (h ^ b) * 1099511628211UL;
        return h ^ (h >> 32);
    }

    /// <summary>
    /// The hash that places a key in a bucket: 8 bytes at a time (FNV-1a's byte-at-a-time chain of
    /// multiplications cost more than the rest of an increment). Stable across processes, which is
    /// all it needs: only this node's processes, running this code, place rows in its store.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong BucketHash(ReadOnlySpan<byte> key)
    {
        const ulong M = 0x9E3779B97F4A7C15UL;
        ref var p = ref MemoryMarshal.GetReference(key);
        var n = key.Length;
        var h = (ulong)n * M;
        ulong w;
        if (n >= 8)
        {
            var i = 0;
            for (; i + 8 < n; i += 8)
            {
                h = (h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i))) * M;
                h ^= h >> 32;
            }
            w = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, n - 8)); // the last 8 bytes (overlapping the previous word)
        }
        else if (n >= 4)
        {
            w = Unsafe.ReadUnaligned<uint>(ref p) | (ulong)Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref p, n - 4)) << 32;
        }
        else
        {
            w = n == 0 ? 0 : p | (ulong)Unsafe.Add(ref p, n >> 1) << 8 | (ulong)Unsafe.Add(ref p, n - 1) << 16;
        }
        h = (h ^ w) * M;
        h ^= h >> 32;
        h *= M;
        return h ^ (h >> 29);
    }

    private int* LockBucket(ReadOnlySpan<byte> key, out int* head)
    {
        var word = _buckets + (int)(BucketHash(key) & (uint)_bucketMask) * 2;
        Lock(word);
        head = word + 1;
        return word;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lock(int* word)
    {
        if (Interlocked.CompareExchange(ref *word, s_pid, 0) == 0) return;
        LockContended(word);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LockContended(int* word)
    {
        var spin = new SpinWait();
        var spins = 0;
        while (true)
        {
            var owner = Volatile.Read(ref *word);
            if (owner == 0)
            {
                if (Interlocked.CompareExchange(ref *word, s_pid, 0) == 0) return;
            }
            else if (++spins % 4096 == 0 && owner != s_pid && !ProcessLiveness.IsAlive(owner))
            {
                // The owner died holding the lock (kill -9 mid-operation): take it over.
                if (Interlocked.CompareExchange(ref *word, s_pid, owner) == owner) return;
            }
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unlock(int* word) => Volatile.Write(ref *word, 0);

}
