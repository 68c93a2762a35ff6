using System.Runtime.InteropServices;
using System.Text;
using Askr.Tables;

namespace Askr.Php;

/// <summary>
/// The table natives' C# side (Ephpm\Octane\table_*): the node's shared tables, opened by name
/// and then used by handle. Reads copy the row into a per-table buffer that the shim decodes
/// (it learnt the layout at table_open); writes arrive as a column area the shim encoded.
/// </summary>
internal sealed unsafe partial class PhpThread
{
    /// <summary>The node's table store, mapped by this worker; null when the server has no tables.</summary>
    public TableStore? Store { get; init; }

    private readonly List<OpenTable> _openTables = [];

    private sealed class OpenTable
    {
        public required SharedTable Table;
        public required RowBuffer Row;
        public ShimInterop.Column* Columns;
        public ShimInterop.Str* ScanKeys;
        public byte* ScanKeyBytes;
        public byte* ScanAreas;
        public int ScanCapacity;
    }

    private OpenTable? Handle(long handle) =>
        handle >= 1 && handle <= _openTables.Count ? _openTables[(int)handle - 1] : null;

    [UnmanagedCallersOnly]
    private static int OnTableOpen(byte* name, long length, ShimInterop.TableInfo* info)
    {
        try { return s_instance!.TableOpen(Encoding.UTF8.GetString(name, (int)length), info); }
        catch (Exception e) { return Fail(e); }
    }

    private int TableOpen(string name, ShimInterop.TableInfo* info)
    {
        if (Store is null) return ShimInterop.TableNoStore;
        var index = _openTables.FindIndex(t => t.Table.Schema.Name == name);
        if (index < 0)
        {
            var table = Store.Find(name);
            if (table is null) return ShimInterop.TableNoTable;
            var schema = table.Schema;
            var open = new OpenTable { Table = table, Row = new RowBuffer(schema) };
            open.Columns = (ShimInterop.Column*)NativeMemory.AllocZeroed((nuint)(Math.Max(1, schema.Columns.Count) * sizeof(ShimInterop.Column)));
            for (var i = 0; i < schema.Columns.Count; i++)
            {
                var c = schema.Columns[i];
                var bytes = Encoding.UTF8.GetBytes(c.Name);
                var copy = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
                bytes.CopyTo(new Span<byte>(copy, bytes.Length));
                open.Columns[i] = new ShimInterop.Column { Name = new ShimInterop.Str { Ptr = copy, Len = bytes.Length }, Type = (int)c.Type, Size = c.Type == ColumnType.String ? c.Size : 8, Offset = c.Offset };
            }
            _openTables.Add(open);
            index = _openTables.Count - 1;
        }
        var t = _openTables[index];
        info->Handle = index + 1;
        info->Rows = t.Table.Schema.Rows;
        info->ColumnCount = t.Table.Schema.Columns.Count;
        info->Columns = t.Columns;
        info->ColumnBytes = t.Table.Schema.ColumnBytes;
        // The shim's own path to the rows (get, exists, incr of an existing row in a store that
        // is not replicated): the same memory, layout and locks as SharedTable's.
        info->Memory = t.Table.Memory;
        info->BucketCount = t.Table.BucketCountOfTable;
        info->RowBytes = t.Table.RowByteCount;
        info->Clock = Store.ClockWord;
        info->Replicated = Store.ReplicatedWord;
        info->NodeId = Store.NodeId;
        info->ClockOffsetMs = HybridClock.MonotonicOffsetMilliseconds;
        return ShimInterop.TableOk;
    }

    [UnmanagedCallersOnly]
    private static int OnTableGet(long handle, byte* key, long keyLength, byte** area)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            if (!t.Table.Get(new ReadOnlySpan<byte>(key, (int)keyLength), t.Row)) return ShimInterop.TableMissing;
            *area = t.Row.Pointer;
            return ShimInterop.TableFound;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnTableSet(long handle, byte* key, long keyLength, byte* area, ulong present)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            return (int)t.Table.Set(new ReadOnlySpan<byte>(key, (int)keyLength), area, present);
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnTableDel(long handle, byte* key, long keyLength)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            return t.Table.Delete(new ReadOnlySpan<byte>(key, (int)keyLength)) ? ShimInterop.TableFound : ShimInterop.TableMissing;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnTableExists(long handle, byte* key, long keyLength)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            return t.Table.Exists(new ReadOnlySpan<byte>(key, (int)keyLength)) ? ShimInterop.TableFound : ShimInterop.TableMissing;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnTableIncr(long handle, byte* key, long keyLength, long column, int floatColumn, long byLong, double byDouble, long* outLong, double* outDouble)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            var k = new ReadOnlySpan<byte>(key, (int)keyLength);
            // The shim tells the column's type (it learnt it at table_open); the store checks it again.
            if (floatColumn != 0)
            {
                var s = t.Table.Increment(k, (int)column, byDouble, out double d);
                *outDouble = d;
                return (int)s;
            }
            var status = t.Table.Increment(k, (int)column, byLong, out long l);
            *outLong = l;
            return (int)status;
        }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static long OnTableCount(long handle)
    {
        try { return s_instance!.Handle(handle)?.Table.Count ?? 0; }
        catch (Exception e) { return Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnTableScan(long handle, long cursor, long count, ShimInterop.Scan* scan)
    {
        try
        {
            var t = s_instance!.Handle(handle);
            if (t is null) return ShimInterop.TableNoTable;
            var schema = t.Table.Schema;
            var rows = new List<(byte[] Key, byte[] Area)>();
            var next = t.Table.Scan((int)Math.Min(cursor, int.MaxValue), (int)Math.Min(count, 100_000), t.Row,
                (key, row) => rows.Add((key, new ReadOnlySpan<byte>(row.Pointer, schema.ColumnBytes).ToArray())));
            if (rows.Count > t.ScanCapacity)
            {
                NativeMemory.Free(t.ScanKeys);
                NativeMemory.Free(t.ScanKeyBytes);
                NativeMemory.Free(t.ScanAreas);
                t.ScanCapacity = rows.Count;
                t.ScanKeys = (ShimInterop.Str*)NativeMemory.Alloc((nuint)(rows.Count * sizeof(ShimInterop.Str)));
                t.ScanKeyBytes = (byte*)NativeMemory.Alloc((nuint)(rows.Count * TableSchema.MaxKeyBytes));
                t.ScanAreas = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, (long)rows.Count * schema.ColumnBytes));
            }
            for (var i = 0; i < rows.Count; i++)
            {
                var keyAt = t.ScanKeyBytes + i * TableSchema.MaxKeyBytes;
                rows[i].Key.CopyTo(new Span<byte>(keyAt, TableSchema.MaxKeyBytes));
                t.ScanKeys[i] = new ShimInterop.Str { Ptr = keyAt, Len = rows[i].Key.Length };
                rows[i].Area.CopyTo(new Span<byte>(t.ScanAreas + (long)i * schema.ColumnBytes, schema.ColumnBytes));
            }
            scan->NextCursor = next;
            scan->Count = rows.Count;
            scan->Keys = t.ScanKeys;
            scan->Areas = t.ScanAreas;
            return ShimInterop.TableOk;
        }
        catch (Exception e) { return Fail(e); }
    }

    private ShimInterop.Str* _tableNames;

    /// <summary>
    /// Ephpm\Octane\table_names(): the store's tables, so a worker opens what the runtime parsed from
    /// --tables instead of parsing the file again. The strings are allocated once per process (the
    /// store's tables are fixed when it is created) and stay valid for the process's life.
    /// </summary>
    [UnmanagedCallersOnly]
    private static int OnTableNames(ShimInterop.Str** names, long* count)
    {
        try { return s_instance!.TableNames(names, count); }
        catch (Exception e) { return Fail(e); }
    }

    private int TableNames(ShimInterop.Str** names, long* count)
    {
        if (Store is null) return ShimInterop.TableNoStore;
        var tables = Store.Tables;
        if (_tableNames is null)
        {
            var strings = (ShimInterop.Str*)NativeMemory.AllocZeroed((nuint)(Math.Max(1, tables.Count) * sizeof(ShimInterop.Str)));
            for (var i = 0; i < tables.Count; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(tables[i].Schema.Name);
                var copy = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, bytes.Length));
                bytes.CopyTo(new Span<byte>(copy, bytes.Length));
                strings[i] = new ShimInterop.Str { Ptr = copy, Len = bytes.Length };
            }
            _tableNames = strings;
        }
        *names = _tableNames;
        *count = tables.Count;
        return ShimInterop.TableOk;
    }
}
