using Askr.Tables;

namespace Askr.Resp;

// The keyspace: every row of every table is a key (docs/resp.md, "Data model").
internal sealed partial class RespSession
{
    /// <summary>
    /// DEL and UNLINK: a <c>table:row</c> key deletes that row; a plain key deletes its cache entry
    /// (an expired entry is removed too, but counts as absent, as in Redis).
    /// </summary>
    private void Del(in RespCommand cmd, ref RespWriter w)
    {
        long deleted = 0;
        var now = NowSeconds();
        for (var i = 1; i < cmd.Count; i++)
        {
            var key = cmd[i];
            if (_keyspace.TryFindRow(key, out var table, out var row))
            {
                if (table.Table.Delete(row)) deleted++;
                continue;
            }
            if (_keyspace.Cache is not { } cache) continue;
            var live = TryGetCached(cache, key, now, out _);
            if (cache.Table.Delete(key) && live) deleted++;
        }
        w.WriteInteger(deleted);
    }

    /// <summary>EXISTS: how many of the keys exist (a key named twice counts twice, as in Redis).</summary>
    private void Exists(in RespCommand cmd, ref RespWriter w)
    {
        long found = 0;
        for (var i = 1; i < cmd.Count; i++)
        {
            var key = cmd[i];
            if (_keyspace.TryFindRow(key, out var table, out var row) ? table.Table.Exists(row) : IsLiveString(key)) found++;
        }
        w.WriteInteger(found);
    }

    /// <summary>TYPE: hash for a table row, string for a live cache entry, none otherwise.</summary>
    private void KeyType(in RespCommand cmd, ref RespWriter w)
    {
        var key = cmd[1];
        if (_keyspace.TryFindRow(key, out var table, out var row))
            w.WriteRaw(table.Table.Exists(row) ? "+hash\r\n"u8 : "+none\r\n"u8);
        else
            w.WriteRaw(IsLiveString(key) ? "+string\r\n"u8 : "+none\r\n"u8);
    }

    /// <summary>
    /// SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]: walks the tables one after the other,
    /// each bucket by bucket (<see cref="SharedTable.Scan"/>). The cursor packs the bucket to
    /// resume at (high bits) and the table's index (low 16 bits); 0 starts and ends the walk.
    /// Keys present for the whole walk are returned exactly once; expired cache entries are skipped.
    /// </summary>
    private void Scan(in RespCommand cmd, ref RespWriter w)
    {
        if (!ulong.TryParse(cmd[1], System.Globalization.NumberStyles.None, null, out var cursor) || (cursor >> 16) > int.MaxValue)
        {
            w.WriteError("ERR invalid cursor");
            return;
        }
        if (!TryScanOptions(cmd, 2, ref w, out var match, out var count, out var type, out _)) return;
        var tables = _keyspace.Tables;
        var tableIndex = (int)(cursor & 0xFFFF);
        var bucket = (int)(cursor >> 16);
        var keys = new List<byte[]>();
        var visited = 0;
        ulong next = 0;
        var now = NowSeconds();
        while (tableIndex < tables.Length)
        {
            var table = tables[tableIndex];
            bucket = table.Table.Scan(bucket, count - visited, Row(table), (row, values) =>
            {
                visited++;
                if (Listed(table, row, values, match, type, now) is { } key) keys.Add(key);
            });
            if (bucket != 0)
            {
                next = ((ulong)bucket << 16) | (uint)tableIndex;
                break;
            }
            tableIndex++;
            if (visited >= count)
            {
                next = tableIndex < tables.Length ? (ulong)tableIndex : 0;
                break;
            }
        }
        w.WriteRaw("*2\r\n"u8);
        w.WriteBulkInteger((long)next);
        w.WriteArrayHeader(keys.Count);
        foreach (var key in keys) w.WriteBulk(key);
    }

    /// <summary>The RESP key of a row if it passes the filters; null otherwise.</summary>
    private byte[]? Listed(RespTable table, byte[] row, RowBuffer values, byte[]? match, byte[]? type, long now)
    {
        var key = _keyspace.KeyOf(table, row, out var isString);
        if (isString && RespKeyspace.IsExpired(values.GetInt(_keyspace.CacheExpiration), now)) return null;
        if (type is not null && !Is(type, isString ? "STRING"u8 : "HASH"u8)) return null;
        if (match is not null && !RespGlob.IsMatch(match, key)) return null;
        return key;
    }

    /// <summary>The options of SCAN and HSCAN from argument <paramref name="from"/> on; false (error written) if malformed.</summary>
    private static bool TryScanOptions(in RespCommand cmd, int from, ref RespWriter w, out byte[]? match, out int count, out byte[]? type, out bool novalues)
    {
        match = null;
        type = null;
        count = 10;
        novalues = false;
        for (var i = from; i < cmd.Count; i++)
        {
            var option = cmd[i];
            var hasValue = i + 1 < cmd.Count;
            if (Is(option, "MATCH"u8) && hasValue) match = cmd[++i].ToArray();
            else if (Is(option, "TYPE"u8) && hasValue) type = cmd[++i].ToArray();
            else if (Is(option, "NOVALUES"u8)) novalues = true;
            else if (Is(option, "COUNT"u8) && hasValue)
            {
                if (!RespNumbers.TryParseInt64(cmd[++i], out var n))
                {
                    w.WriteError("ERR value is not an integer or out of range");
                    return false;
                }
                if (n < 1)
                {
                    w.WriteError("ERR syntax error");
                    return false;
                }
                count = (int)Math.Min(n, 1 << 20);
            }
            else
            {
                w.WriteError("ERR syntax error");
                return false;
            }
        }
        return true;
    }

    /// <summary>KEYS pattern: walks every table at once. Fine for small tables; prefer SCAN for large ones.</summary>
    private void Keys(in RespCommand cmd, ref RespWriter w)
    {
        var match = cmd[1].ToArray();
        var keys = new List<byte[]>();
        var now = NowSeconds();
        foreach (var table in _keyspace.Tables)
        {
            var bucket = 0;
            do
            {
                bucket = table.Table.Scan(bucket, int.MaxValue, Row(table), (row, values) =>
                {
                    if (Listed(table, row, values, match, null, now) is { } key) keys.Add(key);
                });
            }
            while (bucket != 0);
        }
        w.WriteArrayHeader(keys.Count);
        foreach (var key in keys) w.WriteBulk(key);
    }

    /// <summary>FLUSHDB and FLUSHALL [ASYNC | SYNC]: deletes every row of every table (the cache included).</summary>
    private void Flush(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count > 2 || cmd.Count == 2 && !Is(cmd[1], "ASYNC"u8) && !Is(cmd[1], "SYNC"u8))
        {
            w.WriteError("ERR syntax error");
            return;
        }
        foreach (var table in _keyspace.Tables)
        {
            var rows = new List<byte[]>();
            var bucket = 0;
            do bucket = table.Table.Scan(bucket, int.MaxValue, Row(table), (row, _) => rows.Add(row));
            while (bucket != 0);
            foreach (var row in rows) table.Table.Delete(row);
        }
        w.WriteOk();
    }
}
