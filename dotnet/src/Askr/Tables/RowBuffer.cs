using System.Runtime.InteropServices;
using System.Text;

namespace Askr.Tables;

/// <summary>
/// A private copy of one row's column area (same layout as in shared memory, see
/// <see cref="ColumnSchema"/>), plus a mask of the columns it carries. Used to read a row out
/// of a table under its lock, and to hand a row's new values to <see cref="SharedTable.Set"/>.
/// Backed by native memory so the shim can read and write it directly. Not thread-safe: one
/// per thread or session.
/// </summary>
public sealed unsafe class RowBuffer : IDisposable
{
    /// <summary>Each column's offset, and its size if it is a string column (else 0): the schema's arrays.</summary>
    private readonly int[] _offsets, _stringSizes;

    public RowBuffer(TableSchema schema)
    {
        Schema = schema;
        Pointer = (byte*)NativeMemory.AllocZeroed((nuint)Math.Max(8, schema.ColumnBytes));
        _offsets = schema.Offsets;
        _stringSizes = schema.StringSizes;
    }

    public TableSchema Schema { get; }
    /// <summary>The column area: <see cref="TableSchema.ColumnBytes"/> bytes.</summary>
    public byte* Pointer { get; private set; }
    /// <summary>Bit i set: column i is present (to write, or was read).</summary>
    public ulong Present { get; set; }

    public void Clear()
    {
        Present = 0;
        new Span<byte>(Pointer, Schema.ColumnBytes).Clear();
    }

    public long GetInt(int column) => *(long*)(Pointer + _offsets[column]);
    public double GetFloat(int column) => *(double*)(Pointer + _offsets[column]);

    public ReadOnlySpan<byte> GetString(int column)
    {
        var p = Pointer + _offsets[column];
        return new ReadOnlySpan<byte>(p + 4, Math.Min(*(int*)p, _stringSizes[column]));
    }

    public void SetInt(int column, long value)
    {
        *(long*)(Pointer + _offsets[column]) = value;
        Present |= 1UL << column;
    }

    public void SetFloat(int column, double value)
    {
        *(double*)(Pointer + _offsets[column]) = value;
        Present |= 1UL << column;
    }

    /// <summary>Sets a string column; false if it is longer than the column's size.</summary>
    public bool SetString(int column, ReadOnlySpan<byte> value)
    {
        var size = _stringSizes[column];
        if (value.Length > size) return false;
        var p = Pointer + _offsets[column];
        *(int*)p = value.Length;
        value.CopyTo(new Span<byte>(p + 4, size));
        Present |= 1UL << column;
        return true;
    }

    /// <summary>A column's value as Redis shows it (integers and floats in their shortest text form).</summary>
    public string Format(int column) => Schema.Columns[column].Type switch
    {
        ColumnType.Int => GetInt(column).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ColumnType.Float => GetFloat(column).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => Encoding.UTF8.GetString(GetString(column)),
    };

    public void Dispose()
    {
        if (Pointer != null) NativeMemory.Free(Pointer);
        Pointer = null;
    }
}
