using System.Buffers.Text;
using System.Numerics;
using Askr.Tables;

namespace Askr.Resp;

// Table rows as Redis hashes: key "table:row", one field per column. A row has all its table's
// columns once it exists (unset ones read as 0 or ""), as a Swoole\Table row does.
internal sealed partial class RespSession
{
    /// <summary>
    /// The table row a hash command names; false (reply written) otherwise. For a read,
    /// <paramref name="emptyReply"/> is what a missing key answers; a plain key holding a live
    /// cache entry (a string) answers WRONGTYPE. A write to a plain key is an error: hashes exist
    /// only as table rows.
    /// </summary>
    private bool TryHash(ReadOnlySpan<byte> key, ref RespWriter w, ReadOnlySpan<byte> emptyReply, out RespTable table, out ReadOnlySpan<byte> row)
    {
        if (_keyspace.TryFindRow(key, out table, out row)) return true;
        if (emptyReply.IsEmpty)
        {
            var colon = key.IndexOf((byte)':');
            w.WriteError(colon > 0
                ? $"ERR no table '{Text(key[..colon])}': a hash key is <table>:<row key>"
                : $"ERR key '{Text(key)}' names no table: a hash key is <table>:<row key>");
            return false;
        }
        if (IsLiveString(key)) w.WriteError(WrongType);
        else w.WriteRaw(emptyReply);
        return false;
    }

    private static void WriteColumn(ref RespWriter w, RespTable table, RowBuffer row, int column)
    {
        switch (table.Types[column])
        {
            case ColumnType.Int: w.WriteBulkInteger(row.GetInt(column)); break;
            case ColumnType.Float: w.WriteBulkDouble(row.GetFloat(column)); break;
            default: w.WriteBulk(row.GetString(column)); break;
        }
    }

    private void NoColumn(ref RespWriter w, RespTable table, ReadOnlySpan<byte> field) =>
        w.WriteError($"ERR table '{table.Schema.Name}' has no column '{Text(field)}'");

    private void HGet(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, "$-1\r\n"u8, out var table, out var key)) return;
        var column = table.ColumnIndex(cmd[2]);
        var row = Row(table);
        if (column >= 0 && table.Table.Get(key, row)) WriteColumn(ref w, table, row, column);
        else w.WriteNullBulk();
    }

    private void HMGet(in RespCommand cmd, ref RespWriter w)
    {
        if (!_keyspace.TryFindRow(cmd[1], out var table, out var key))
        {
            if (IsLiveString(cmd[1])) w.WriteError(WrongType);
            else
            {
                w.WriteArrayHeader(cmd.Count - 2);
                for (var i = 2; i < cmd.Count; i++) w.WriteNullBulk();
            }
            return;
        }
        var row = Row(table);
        var exists = table.Table.Get(key, row);
        w.WriteArrayHeader(cmd.Count - 2);
        for (var i = 2; i < cmd.Count; i++)
        {
            var column = exists ? table.ColumnIndex(cmd[i]) : -1;
            if (column >= 0) WriteColumn(ref w, table, row, column);
            else w.WriteNullBulk();
        }
    }

    /// <summary>True if a plain key holds a live cache entry (a string, in Redis terms).</summary>
    private bool IsLiveString(ReadOnlySpan<byte> key) =>
        _keyspace.Cache is { } cache && TryGetCached(cache, key, NowSeconds(), out _);

    private void HGetAll(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, "*0\r\n"u8, out var table, out var key)) return;
        var row = Row(table);
        if (!table.Table.Get(key, row))
        {
            w.WriteRaw("*0\r\n"u8);
            return;
        }
        w.WriteArrayHeader(table.Columns.Length * 2);
        for (var i = 0; i < table.Columns.Length; i++)
        {
            w.WriteBulk(table.Columns[i]);
            WriteColumn(ref w, table, row, i);
        }
    }

    /// <summary>
    /// HSET key field value [field value …] (and HMSET): every value is checked against its
    /// column's type and size before anything is written; then the row is written at once.
    /// Replies the number of distinct fields given if the row was new, else 0 (Redis counts
    /// fields added; a row's columns all exist as soon as it does).
    /// </summary>
    private void HSet(in RespCommand cmd, ref RespWriter w, bool hmset)
    {
        if ((cmd.Count & 1) != 0)
        {
            w.WriteError($"ERR wrong number of arguments for '{(hmset ? "hmset" : "hset")}' command");
            return;
        }
        if (!TryHash(cmd[1], ref w, default, out var table, out var key)) return;
        var row = Row(table);
        row.Present = 0;
        for (var i = 2; i < cmd.Count; i += 2)
        {
            if (!TryEncodeColumn(ref w, table, row, cmd[i], cmd[i + 1])) return;
        }
        var status = table.Table.Set(key, row, out var created);
        if (status != WriteStatus.Ok) WriteWriteError(ref w, status, table);
        else if (hmset) w.WriteOk();
        else w.WriteInteger(created ? BitOperations.PopCount(row.Present) : 0);
    }

    /// <summary>Puts a field's value into the row buffer, parsed to its column's type; false (error written) if it does not fit.</summary>
    private bool TryEncodeColumn(ref RespWriter w, RespTable table, RowBuffer row, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var column = table.ColumnIndex(field);
        if (column < 0)
        {
            NoColumn(ref w, table, field);
            return false;
        }
        switch (table.Types[column])
        {
            case ColumnType.Int:
                if (!RespNumbers.TryParseInt64(value, out var l))
                {
                    w.WriteError("ERR value is not an integer or out of range");
                    return false;
                }
                row.SetInt(column, l);
                return true;
            case ColumnType.Float:
                if (!RespNumbers.TryParseDouble(value, out var d))
                {
                    w.WriteError("ERR value is not a valid float");
                    return false;
                }
                row.SetFloat(column, d);
                return true;
            default:
                if (row.SetString(column, value)) return true;
                ValueTooLong(ref w, table, column);
                return false;
        }
    }

    /// <summary>HINCRBY on an int column, atomic across the node (SharedTable.Increment). Wraps around on overflow, as Swoole\Table::incr.</summary>
    private void HIncrBy(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, default, out var table, out var key)) return;
        var column = table.ColumnIndex(cmd[2]);
        if (column < 0)
        {
            NoColumn(ref w, table, cmd[2]);
            return;
        }
        if (table.Types[column] != ColumnType.Int)
        {
            w.WriteError("ERR hash value is not an integer");
            return;
        }
        if (!RespNumbers.TryParseInt64(cmd[3], out var by))
        {
            w.WriteError("ERR value is not an integer or out of range");
            return;
        }
        var status = table.Table.Increment(key, column, by, out long result);
        if (status == WriteStatus.Ok) w.WriteInteger(result);
        else WriteWriteError(ref w, status, table);
    }

    /// <summary>HINCRBYFLOAT on a float column; on an int column only by a whole number (the column cannot hold a fraction).</summary>
    private void HIncrByFloat(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, default, out var table, out var key)) return;
        var column = table.ColumnIndex(cmd[2]);
        if (column < 0)
        {
            NoColumn(ref w, table, cmd[2]);
            return;
        }
        if (!RespNumbers.TryParseDouble(cmd[3], out var by))
        {
            w.WriteError("ERR value is not a valid float");
            return;
        }
        WriteStatus status;
        switch (table.Types[column])
        {
            case ColumnType.Float:
                status = table.Table.Increment(key, column, by, out double sum);
                if (status == WriteStatus.Ok) w.WriteBulkDouble(sum);
                break;
            case ColumnType.Int when by == Math.Floor(by) && Math.Abs(by) < 9.2e18:
                status = table.Table.Increment(key, column, (long)by, out long total);
                if (status == WriteStatus.Ok) w.WriteBulkInteger(total);
                break;
            case ColumnType.Int:
                w.WriteError($"ERR column '{table.Schema.Columns[column].Name}' holds integers: the increment must be a whole number");
                return;
            default:
                w.WriteError("ERR hash value is not a float");
                return;
        }
        if (status != WriteStatus.Ok) WriteWriteError(ref w, status, table);
    }

    /// <summary>
    /// HDEL: a table's columns cannot be removed one by one, so deleting every column deletes the
    /// row (reply: the number of columns), fields that are not columns count as absent (0), and
    /// deleting some columns but not all is an error.
    /// </summary>
    private void HDel(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, ":0\r\n"u8, out var table, out var key)) return;
        ulong named = 0;
        for (var i = 2; i < cmd.Count; i++)
        {
            var column = table.ColumnIndex(cmd[i]);
            if (column >= 0) named |= 1UL << column;
        }
        if (named == 0 || !table.Table.Exists(key))
        {
            w.WriteInteger(0);
            return;
        }
        if (named != table.AllColumns)
        {
            w.WriteError($"ERR a row of table '{table.Schema.Name}' keeps all its columns: HDEL all {table.Columns.Length} of them, or DEL the key, to delete it");
            return;
        }
        w.WriteInteger(table.Table.Delete(key) ? table.Columns.Length : 0);
    }

    private void HExists(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, ":0\r\n"u8, out var table, out var key)) return;
        w.WriteInteger(table.ColumnIndex(cmd[2]) >= 0 && table.Table.Exists(key) ? 1 : 0);
    }

    private void HLen(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, ":0\r\n"u8, out var table, out var key)) return;
        w.WriteInteger(table.Table.Exists(key) ? table.Columns.Length : 0);
    }

    private void HKeysOrVals(in RespCommand cmd, ref RespWriter w, bool keys)
    {
        if (!TryHash(cmd[1], ref w, "*0\r\n"u8, out var table, out var key)) return;
        var row = Row(table);
        if (!table.Table.Get(key, row))
        {
            w.WriteRaw("*0\r\n"u8);
            return;
        }
        w.WriteArrayHeader(table.Columns.Length);
        for (var i = 0; i < table.Columns.Length; i++)
        {
            if (keys) w.WriteBulk(table.Columns[i]);
            else WriteColumn(ref w, table, row, i);
        }
    }

    private void HStrLen(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryHash(cmd[1], ref w, ":0\r\n"u8, out var table, out var key)) return;
        var column = table.ColumnIndex(cmd[2]);
        var row = Row(table);
        if (column < 0 || !table.Table.Get(key, row))
        {
            w.WriteInteger(0);
            return;
        }
        Span<byte> text = stackalloc byte[32];
        var length = table.Types[column] switch
        {
            ColumnType.Int => Utf8Formatter.TryFormat(row.GetInt(column), text, out var n) ? n : 0,
            ColumnType.Float => RespWriter.FormatDouble(row.GetFloat(column), text),
            _ => row.GetString(column).Length,
        };
        w.WriteInteger(length);
    }

    /// <summary>HSCAN key cursor [MATCH pattern] [COUNT n] [NOVALUES]: a row is small, so it comes whole, with cursor 0.</summary>
    private void HScan(in RespCommand cmd, ref RespWriter w)
    {
        if (!TryScanOptions(cmd, 3, ref w, out var match, out _, out _, out var novalues)) return;
        if (!TryHash(cmd[1], ref w, "*2\r\n$1\r\n0\r\n*0\r\n"u8, out var table, out var key)) return;
        var row = Row(table);
        var exists = table.Table.Get(key, row);
        var columns = new List<int>();
        for (var i = 0; exists && i < table.Columns.Length; i++)
            if (match is null || RespGlob.IsMatch(match, table.Columns[i])) columns.Add(i);
        w.WriteRaw("*2\r\n$1\r\n0\r\n"u8);
        w.WriteArrayHeader(columns.Count * (novalues ? 1 : 2));
        foreach (var i in columns)
        {
            w.WriteBulk(table.Columns[i]);
            if (!novalues) WriteColumn(ref w, table, row, i);
        }
    }
}
