using System.Buffers.Text;
using Askr.Tables;

namespace Askr.Resp;

// Plain string keys: rows of the octane cache table (value, expiration), read and written the
// way Laravel Octane's OctaneStore does, so both see the same entries.
internal sealed partial class RespSession
{
    /// <summary>OctaneStore::forever() stores items for one year; so does SET without an expiry.</summary>
    internal const long ForeverSeconds = 31536000;
    private const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    private const string NoCacheTable = "ERR no octane cache table in this store: plain keys are rows of the table 'octane_cache'";

    /// <summary>
    /// The cache table, for a string command on <paramref name="key"/>; null (error written) when
    /// the key names a table row (a hash: WRONGTYPE) or the store has no cache table.
    /// </summary>
    private RespTable? CacheFor(ReadOnlySpan<byte> key, ref RespWriter w)
    {
        if (_keyspace.TryFindRow(key, out _, out _))
        {
            w.WriteError(WrongType);
            return null;
        }
        if (_keyspace.Cache is null) w.WriteError(NoCacheTable);
        return _keyspace.Cache;
    }

    /// <summary>Reads a live (present, unexpired) cache entry into the session's cache row buffer.</summary>
    private bool TryGetCached(RespTable cache, ReadOnlySpan<byte> key, long now, out RowBuffer row)
    {
        row = Row(cache);
        return cache.Table.Get(key, row) && !RespKeyspace.IsExpired(row.GetInt(_keyspace.CacheExpiration), now);
    }

    private void Get(in RespCommand cmd, ref RespWriter w)
    {
        var key = cmd[1];
        var cache = CacheFor(key, ref w);
        if (cache is null) return;
        if (TryGetCached(cache, key, NowSeconds(), out var row)) w.WriteBulk(row.GetString(_keyspace.CacheValue));
        else w.WriteNullBulk();
    }

    /// <summary>SET key value [EX s | PX ms | EXAT t | PXAT t | KEEPTTL]. NX, XX and GET are refused: the table has no conditional write.</summary>
    private void Set(in RespCommand cmd, ref RespWriter w)
    {
        var key = cmd[1];
        var value = cmd[2];
        var cache = CacheFor(key, ref w);
        if (cache is null) return;
        var now = NowSeconds();
        long expiration = now + ForeverSeconds;
        var expirySet = false;
        var keepTtl = false;
        for (var i = 3; i < cmd.Count; i++)
        {
            var option = cmd[i];
            if (Is(option, "KEEPTTL"u8) && !expirySet)
            {
                keepTtl = expirySet = true;
                continue;
            }
            if (Is(option, "NX"u8) || Is(option, "XX"u8) || Is(option, "GET"u8))
            {
                w.WriteError($"ERR SET {Text(option).ToUpperInvariant()} is not supported here (a table row has no conditional write)");
                return;
            }
            var ex = Is(option, "EX"u8);
            var px = Is(option, "PX"u8);
            var exat = Is(option, "EXAT"u8);
            var pxat = Is(option, "PXAT"u8);
            if (!(ex || px || exat || pxat) || expirySet || i + 1 == cmd.Count)
            {
                w.WriteError("ERR syntax error");
                return;
            }
            if (!RespNumbers.TryParseInt64(cmd[++i], out var amount))
            {
                w.WriteError("ERR value is not an integer or out of range");
                return;
            }
            if (amount <= 0 || amount > long.MaxValue / 2000)
            {
                w.WriteError("ERR invalid expire time in 'set' command");
                return;
            }
            expirySet = true;
            // The column holds Unix seconds (OctaneStore: now + seconds); milliseconds round up.
            expiration = ex ? now + amount
                : exat ? amount
                : px ? (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + amount + 999) / 1000
                : (amount + 999) / 1000;
        }
        var row = Row(cache);
        if (keepTtl && cache.Table.Get(key, row) && !RespKeyspace.IsExpired(row.GetInt(_keyspace.CacheExpiration), now))
            expiration = row.GetInt(_keyspace.CacheExpiration);
        Store(cache, key, value, expiration, ref w);
    }

    /// <summary>
    /// SETEX key seconds value and PSETEX key milliseconds value: SET with EX or PX (StackExchange.Redis
    /// sends these for a string set with an expiry).
    /// </summary>
    private void SetEx(in RespCommand cmd, ref RespWriter w, bool milliseconds)
    {
        var key = cmd[1];
        var cache = CacheFor(key, ref w);
        if (cache is null) return;
        if (!RespNumbers.TryParseInt64(cmd[2], out var amount))
        {
            w.WriteError("ERR value is not an integer or out of range");
            return;
        }
        if (amount <= 0 || amount > long.MaxValue / 2000)
        {
            w.WriteError($"ERR invalid expire time in '{(milliseconds ? "psetex" : "setex")}' command");
            return;
        }
        var expiration = milliseconds ? (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + amount + 999) / 1000 : NowSeconds() + amount;
        Store(cache, key, cmd[3], expiration, ref w);
    }

    /// <summary>Writes a cache entry (value and expiration in Unix seconds) and replies OK or the write's error.</summary>
    private void Store(RespTable cache, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expiration, ref RespWriter w)
    {
        var row = Row(cache);
        row.Present = 0;
        if (!row.SetString(_keyspace.CacheValue, value))
        {
            ValueTooLong(ref w, cache, _keyspace.CacheValue);
            return;
        }
        row.SetInt(_keyspace.CacheExpiration, expiration);
        var status = cache.Table.Set(key, row);
        if (status == WriteStatus.Ok) w.WriteOk();
        else WriteWriteError(ref w, status, cache);
    }

    private static void ValueTooLong(ref RespWriter w, RespTable table, int column)
    {
        var c = table.Schema.Columns[column];
        w.WriteError($"ERR value too long for column '{c.Name}' of table '{table.Schema.Name}' ({c.Size} bytes at most)");
    }

    private void MGet(in RespCommand cmd, ref RespWriter w)
    {
        w.WriteArrayHeader(cmd.Count - 1);
        var cache = _keyspace.Cache;
        var now = NowSeconds();
        for (var i = 1; i < cmd.Count; i++)
        {
            var key = cmd[i];
            // As Redis: a key of another type reads as nil here.
            if (cache is not null && !_keyspace.TryFindRow(key, out _, out _) && TryGetCached(cache, key, now, out var row))
                w.WriteBulk(row.GetString(_keyspace.CacheValue));
            else
                w.WriteNullBulk();
        }
    }

    private void MSet(in RespCommand cmd, ref RespWriter w)
    {
        if ((cmd.Count & 1) == 0)
        {
            w.WriteError("ERR wrong number of arguments for 'mset' command");
            return;
        }
        RespTable? cache = null;
        // Check every pair before writing any, so a bad one leaves nothing half-done.
        for (var i = 1; i < cmd.Count; i += 2)
        {
            cache = CacheFor(cmd[i], ref w);
            if (cache is null) return;
            if (cmd[i].Length is 0 or > TableSchema.MaxKeyBytes)
            {
                WriteWriteError(ref w, WriteStatus.BadKey, cache);
                return;
            }
            if (cmd[i + 1].Length > cache.Schema.Columns[_keyspace.CacheValue].Size)
            {
                ValueTooLong(ref w, cache, _keyspace.CacheValue);
                return;
            }
        }
        var row = Row(cache!);
        var expiration = NowSeconds() + ForeverSeconds;
        for (var i = 1; i < cmd.Count; i += 2)
        {
            row.Present = 0;
            row.SetString(_keyspace.CacheValue, cmd[i + 1]);
            row.SetInt(_keyspace.CacheExpiration, expiration);
            var status = cache!.Table.Set(cmd[i], row);
            if (status != WriteStatus.Ok)
            {
                WriteWriteError(ref w, status, cache);
                return;
            }
        }
        w.WriteOk();
    }

    /// <summary>
    /// INCR, DECR, INCRBY, DECRBY. The value must be an integer: either raw ("41", as SET stores it)
    /// or PHP-serialized ("i:41;", as Laravel's Cache::increment stores it through OctaneStore);
    /// the result keeps the form it had. A missing or expired key counts as 0 and is stored raw,
    /// for one year. The expiration of a live key is kept.
    /// </summary>
    private void IncrementBy(in RespCommand cmd, long delta, ref RespWriter w, bool negate = false)
    {
        var key = cmd[1];
        var cache = CacheFor(key, ref w);
        if (cache is null) return;
        if (cmd.Count == 3)
        {
            if (!RespNumbers.TryParseInt64(cmd[2], out delta))
            {
                w.WriteError("ERR value is not an integer or out of range");
                return;
            }
            if (negate)
            {
                if (delta == long.MinValue)
                {
                    w.WriteError("ERR decrement would overflow");
                    return;
                }
                delta = -delta;
            }
        }
        lock (_server.CacheLock(key))
        {
            var now = NowSeconds();
            long current = 0, expiration = now + ForeverSeconds;
            var serialized = false;
            if (TryGetCached(cache, key, now, out var row))
            {
                var text = row.GetString(_keyspace.CacheValue);
                serialized = text.Length > 3 && text.StartsWith("i:"u8) && text[^1] == (byte)';';
                if (!RespNumbers.TryParseInt64(serialized ? text[2..^1] : text, out current))
                {
                    w.WriteError("ERR value is not an integer or out of range");
                    return;
                }
                expiration = row.GetInt(_keyspace.CacheExpiration);
            }
            long result;
            try
            {
                result = checked(current + delta);
            }
            catch (OverflowException)
            {
                w.WriteError("ERR increment or decrement would overflow");
                return;
            }
            Span<byte> formatted = stackalloc byte[24];
            var n = 0;
            if (serialized)
            {
                "i:"u8.CopyTo(formatted);
                n = 2;
            }
            Utf8Formatter.TryFormat(result, formatted[n..], out var digits);
            n += digits;
            if (serialized) formatted[n++] = (byte)';';
            row.Present = 0;
            if (!row.SetString(_keyspace.CacheValue, formatted[..n]))
            {
                ValueTooLong(ref w, cache, _keyspace.CacheValue);
                return;
            }
            row.SetInt(_keyspace.CacheExpiration, expiration);
            var status = cache.Table.Set(key, row);
            if (status == WriteStatus.Ok) w.WriteInteger(result);
            else WriteWriteError(ref w, status, cache);
        }
    }

    /// <summary>TTL and PTTL: -2 if the key is absent (or expired), -1 for a table row (rows do not expire), else the time left.</summary>
    private void Ttl(in RespCommand cmd, ref RespWriter w, bool milliseconds)
    {
        var key = cmd[1];
        if (_keyspace.TryFindRow(key, out var table, out var row))
        {
            w.WriteInteger(table.Table.Exists(row) ? -1 : -2);
            return;
        }
        var cache = _keyspace.Cache;
        var now = NowSeconds();
        if (cache is null || !TryGetCached(cache, key, now, out var buffer))
        {
            w.WriteInteger(-2);
            return;
        }
        var expiration = buffer.GetInt(_keyspace.CacheExpiration);
        w.WriteInteger(milliseconds
            ? Math.Max(0, expiration * 1000 - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
            : expiration - now);
    }

    /// <summary>How EXPIRE and its kin give the time: relative or absolute, seconds or milliseconds.</summary>
    private enum ExpireForm { Seconds, Milliseconds, UnixSeconds, UnixMilliseconds }

    private static string ExpireName(ExpireForm form) => form switch
    {
        ExpireForm.Seconds => "expire", ExpireForm.Milliseconds => "pexpire", ExpireForm.UnixSeconds => "expireat", _ => "pexpireat",
    };

    /// <summary>
    /// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time: sets a live cache entry's expiration column
    /// (Unix seconds; milliseconds round up, as SET PX). 1 if set, 0 if the key is absent or
    /// expired. A time not in the future deletes the entry, as Redis does. Table rows do not
    /// expire (an error). NX, XX, GT and LT are refused: they are conditional writes.
    /// </summary>
    private void Expire(in RespCommand cmd, ref RespWriter w, ExpireForm form)
    {
        var key = cmd[1];
        if (!RespNumbers.TryParseInt64(cmd[2], out var amount))
        {
            w.WriteError("ERR value is not an integer or out of range");
            return;
        }
        if (cmd.Count > 3)
        {
            var option = cmd[3];
            if (Is(option, "NX"u8) || Is(option, "XX"u8) || Is(option, "GT"u8) || Is(option, "LT"u8))
                w.WriteError($"ERR {ExpireName(form).ToUpperInvariant()} {Text(option).ToUpperInvariant()} is not supported here (a table row has no conditional write)");
            else
                w.WriteError($"ERR Unsupported option {Text(option)}");
            return;
        }
        if (amount > long.MaxValue / 2000 || amount < -(long.MaxValue / 2000))
        {
            w.WriteError($"ERR invalid expire time in '{ExpireName(form)}' command");
            return;
        }
        if (_keyspace.TryFindRow(key, out var table, out _))
        {
            w.WriteError($"ERR a row of table '{table.Schema.Name}' does not expire: only plain keys (octane cache entries) do");
            return;
        }
        if (_keyspace.Cache is not { } cache)
        {
            w.WriteInteger(0);
            return;
        }
        var now = NowSeconds();
        var expiration = form switch
        {
            ExpireForm.Seconds => now + amount,
            ExpireForm.UnixSeconds => amount,
            ExpireForm.Milliseconds => (long)Math.Ceiling((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + amount) / 1000.0),
            _ => (long)Math.Ceiling(amount / 1000.0),
        };
        lock (_server.CacheLock(key))
        {
            if (!TryGetCached(cache, key, now, out var row))
            {
                w.WriteInteger(0);
                return;
            }
            if (RespKeyspace.IsExpired(expiration, now))
            {
                cache.Table.Delete(key);
                w.WriteInteger(1);
                return;
            }
            // Only the expiration column, and only if the row is still there: a value PHP wrote
            // meanwhile is kept, an entry deleted meanwhile is not brought back.
            row.Present = 0;
            row.SetInt(_keyspace.CacheExpiration, expiration);
            w.WriteInteger(cache.Table.Update(key, row) ? 1 : 0);
        }
    }

    /// <summary>PERSIST: a live cache entry gets OctaneStore's "forever" (one year from now, as SET without EX). 1 if set, 0 if absent.</summary>
    private void Persist(in RespCommand cmd, ref RespWriter w)
    {
        var key = cmd[1];
        if (_keyspace.TryFindRow(key, out _, out _) || _keyspace.Cache is not { } cache)
        {
            w.WriteInteger(0); // a table row never has an expiration to remove
            return;
        }
        var now = NowSeconds();
        lock (_server.CacheLock(key))
        {
            if (!TryGetCached(cache, key, now, out var row))
            {
                w.WriteInteger(0);
                return;
            }
            row.Present = 0;
            row.SetInt(_keyspace.CacheExpiration, now + ForeverSeconds);
            w.WriteInteger(cache.Table.Update(key, row) ? 1 : 0);
        }
    }

    /// <summary>EXPIRETIME and PEXPIRETIME: the Unix time a cache entry expires at; -2 if absent, -1 for a table row (rows do not expire).</summary>
    private void ExpireTime(in RespCommand cmd, ref RespWriter w, bool milliseconds)
    {
        var key = cmd[1];
        if (_keyspace.TryFindRow(key, out var table, out var row))
        {
            w.WriteInteger(table.Table.Exists(row) ? -1 : -2);
            return;
        }
        if (_keyspace.Cache is not { } cache || !TryGetCached(cache, key, NowSeconds(), out var buffer))
        {
            w.WriteInteger(-2);
            return;
        }
        var expiration = buffer.GetInt(_keyspace.CacheExpiration);
        w.WriteInteger(milliseconds ? expiration * 1000 : expiration);
    }
}
