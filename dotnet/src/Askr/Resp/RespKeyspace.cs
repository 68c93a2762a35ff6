using System.Text;
using Askr.Tables;

namespace Askr.Resp;

/// <summary>A table as the RESP endpoint sees it: its name and column names as UTF-8, for lookups without strings.</summary>
internal sealed class RespTable
{
    public RespTable(SharedTable table)
    {
        Table = table;
        Name = Encoding.UTF8.GetBytes(table.Schema.Name);
        Columns = table.Schema.Columns.Select(c => Encoding.UTF8.GetBytes(c.Name)).ToArray();
        Types = table.Schema.Columns.Select(c => c.Type).ToArray();
        AllColumns = table.Schema.Columns.Count == 64 ? ulong.MaxValue : (1UL << table.Schema.Columns.Count) - 1;
    }

    public SharedTable Table { get; }
    public TableSchema Schema => Table.Schema;
    public int Id => Table.Id;
    public byte[] Name { get; }
    public byte[][] Columns { get; }
    /// <summary>The columns' types, by index.</summary>
    public ColumnType[] Types { get; }
    /// <summary>A mask with a bit for every column.</summary>
    public ulong AllColumns { get; }

    /// <summary>Index of the column named <paramref name="name"/>; -1 if none.</summary>
    public int ColumnIndex(ReadOnlySpan<byte> name)
    {
        var columns = Columns;
        for (var i = 0; i < columns.Length; i++) if (name.SequenceEqual(columns[i])) return i;
        return -1;
    }
}

/// <summary>
/// How RESP keys map onto a <see cref="TableStore"/> (docs/resp.md, "Data model"):
/// <list type="bullet">
/// <item><c>table:row</c>, where the text before the first ':' names a table, is that table's row,
/// seen as a Redis hash whose fields are the columns;</item>
/// <item>any other key is a plain string key: the row of that whole key in the octane cache table,
/// its value column being the string.</item>
/// </list>
/// So a cache key that itself begins with a table's name and a colon can be reached only as the
/// hash <c>octane_cache:key</c>.
/// </summary>
internal sealed class RespKeyspace
{
    public RespKeyspace(TableStore store)
    {
        Store = store;
        Tables = store.Tables.Select(t => new RespTable(t)).ToArray();
        var cache = Tables.FirstOrDefault(t => t.Schema.Name == TableSchema.CacheTableName);
        if (cache is not null)
        {
            var value = cache.Schema.ColumnIndex("value");
            var expiration = cache.Schema.ColumnIndex("expiration");
            if (value >= 0 && expiration >= 0 && cache.Schema.Columns[value].Type == ColumnType.String
                && cache.Schema.Columns[expiration].Type == ColumnType.Int)
            {
                Cache = cache;
                CacheValue = value;
                CacheExpiration = expiration;
            }
        }
    }

    public TableStore Store { get; }
    /// <summary>The store's tables, in store order (index = <see cref="SharedTable.Id"/>).</summary>
    public RespTable[] Tables { get; }
    /// <summary>The octane cache table, if the store has one of the expected shape.</summary>
    public RespTable? Cache { get; }
    public int CacheValue { get; }
    public int CacheExpiration { get; }

    /// <summary>
    /// The table row that <paramref name="key"/> names (<c>table:row</c>); false when the key is
    /// a plain (cache) key. The row key may be empty or too long: the table then reports it absent.
    /// </summary>
    public bool TryFindRow(ReadOnlySpan<byte> key, out RespTable table, out ReadOnlySpan<byte> row)
    {
        table = null!;
        row = default;
        var colon = key.IndexOf((byte)':');
        if (colon <= 0) return false;
        var prefix = key[..colon];
        foreach (var t in Tables)
        {
            if (prefix.SequenceEqual(t.Name))
            {
                table = t;
                row = key[(colon + 1)..];
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The RESP name of a row: <c>table:row</c>, or for a cache row the plain key itself when it
    /// reads back as a cache key (else <c>octane_cache:key</c>). <paramref name="isString"/> says
    /// which of the two a cache row got.
    /// </summary>
    public byte[] KeyOf(RespTable table, byte[] row, out bool isString)
    {
        isString = false;
        if (table == Cache && !TryFindRow(row, out _, out _))
        {
            isString = true;
            return row;
        }
        var key = new byte[table.Name.Length + 1 + row.Length];
        table.Name.CopyTo(key, 0);
        key[table.Name.Length] = (byte)':';
        row.CopyTo(key, table.Name.Length + 1);
        return key;
    }

    /// <summary>Now, in Unix seconds: the clock of the cache table's expiration column (Octane's Carbon::now()->getTimestamp()).</summary>
    public static long NowSeconds() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A cache row is expired when its expiration is at or before now, as OctaneStore::recordIsFalseOrExpired says.</summary>
    public static bool IsExpired(long expiration, long nowSeconds) => expiration <= nowSeconds;
}
