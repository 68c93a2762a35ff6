using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Askr.Resp;

/// <summary>The commands askr answers (docs/resp.md lists their semantics here).</summary>
internal enum RespCommandId : byte
{
    Unknown,
    // connection and server
    Auth, Hello, Ping, Echo, Quit, Select, Command, Info, Client, Config, Time, Cluster,
    // keys
    Del, Unlink, Exists, Type, Scan, Keys, DbSize, FlushDb, FlushAll, Ttl, Pttl,
    Expire, PExpire, ExpireAt, PExpireAt, Persist, ExpireTime, PExpireTime,
    // transactions and pub/sub: known, so that they are refused with a reason (docs/resp.md)
    Multi, Exec, Discard, Watch, Unwatch,
    Subscribe, PSubscribe, SSubscribe, Unsubscribe, PUnsubscribe, SUnsubscribe, Publish, SPublish, PubSub,
    // strings: the octane cache table
    Get, Set, MGet, MSet, Incr, Decr, IncrBy, DecrBy, SetEx, PSetEx, SetNx,
    // hashes: table rows
    HGet, HGetAll, HMGet, HSet, HMSet, HIncrBy, HIncrByFloat, HDel, HExists, HLen, HKeys, HVals, HStrLen, HScan,
}

/// <summary>
/// Name → command lookup without allocating: the name, upper-cased and zero-padded, is read as
/// two 64-bit words and compared with the names of its length only. Arity follows Redis' command
/// table: positive is exact, negative is a minimum, both counting the command name.
/// </summary>
internal static class RespCommands
{
    /// <param name="Lo">The upper-cased name's first 8 bytes read as one word (zero-padded).</param>
    /// <param name="Hi">Its bytes 8 to 15, likewise.</param>
    internal readonly record struct Entry(RespCommandId Id, string Name, int Arity, ulong Lo, ulong Hi);

    private static readonly Entry[] s_all = Build(
        (RespCommandId.Auth, "auth", -2), (RespCommandId.Hello, "hello", -1), (RespCommandId.Ping, "ping", -1),
        (RespCommandId.Echo, "echo", 2), (RespCommandId.Quit, "quit", -1), (RespCommandId.Select, "select", 2),
        (RespCommandId.Command, "command", -1), (RespCommandId.Info, "info", -1), (RespCommandId.Client, "client", -2),
        (RespCommandId.Config, "config", -2), (RespCommandId.Time, "time", 1),
        (RespCommandId.Del, "del", -2), (RespCommandId.Unlink, "unlink", -2), (RespCommandId.Exists, "exists", -2),
        (RespCommandId.Type, "type", 2), (RespCommandId.Scan, "scan", -2), (RespCommandId.Keys, "keys", 2),
        (RespCommandId.DbSize, "dbsize", 1), (RespCommandId.FlushDb, "flushdb", -1), (RespCommandId.FlushAll, "flushall", -1),
        (RespCommandId.Ttl, "ttl", 2), (RespCommandId.Pttl, "pttl", 2),
        (RespCommandId.Cluster, "cluster", -2),
        (RespCommandId.Expire, "expire", -3), (RespCommandId.PExpire, "pexpire", -3),
        (RespCommandId.ExpireAt, "expireat", -3), (RespCommandId.PExpireAt, "pexpireat", -3),
        (RespCommandId.Persist, "persist", 2), (RespCommandId.ExpireTime, "expiretime", 2), (RespCommandId.PExpireTime, "pexpiretime", 2),
        (RespCommandId.Multi, "multi", 1), (RespCommandId.Exec, "exec", 1), (RespCommandId.Discard, "discard", 1),
        (RespCommandId.Watch, "watch", -2), (RespCommandId.Unwatch, "unwatch", 1),
        (RespCommandId.Subscribe, "subscribe", -2), (RespCommandId.PSubscribe, "psubscribe", -2), (RespCommandId.SSubscribe, "ssubscribe", -2),
        (RespCommandId.Unsubscribe, "unsubscribe", -1), (RespCommandId.PUnsubscribe, "punsubscribe", -1), (RespCommandId.SUnsubscribe, "sunsubscribe", -1),
        (RespCommandId.Publish, "publish", 3), (RespCommandId.SPublish, "spublish", 3), (RespCommandId.PubSub, "pubsub", -2),
        (RespCommandId.Get, "get", 2), (RespCommandId.Set, "set", -3), (RespCommandId.MGet, "mget", -2),
        (RespCommandId.MSet, "mset", -3), (RespCommandId.Incr, "incr", 2), (RespCommandId.Decr, "decr", 2),
        (RespCommandId.IncrBy, "incrby", 3), (RespCommandId.DecrBy, "decrby", 3),
        (RespCommandId.SetEx, "setex", 4), (RespCommandId.PSetEx, "psetex", 4), (RespCommandId.SetNx, "setnx", 3),
        (RespCommandId.HGet, "hget", 3), (RespCommandId.HGetAll, "hgetall", 2), (RespCommandId.HMGet, "hmget", -3),
        (RespCommandId.HSet, "hset", -4), (RespCommandId.HMSet, "hmset", -4), (RespCommandId.HIncrBy, "hincrby", 4),
        (RespCommandId.HIncrByFloat, "hincrbyfloat", 4), (RespCommandId.HDel, "hdel", -3), (RespCommandId.HExists, "hexists", 3),
        (RespCommandId.HLen, "hlen", 2), (RespCommandId.HKeys, "hkeys", 2), (RespCommandId.HVals, "hvals", 2),
        (RespCommandId.HStrLen, "hstrlen", 3), (RespCommandId.HScan, "hscan", -3));

    private const int MaxNameLength = 16;
    /// <summary>
    /// Clears bit 5 of every byte: upper-cases ASCII letters. Every name is letters only, and a
    /// byte ANDed with 0xDF equals a capital letter only if it is that letter in either case, so
    /// the masked words of a name equal a command's only if the name is that command's.
    /// </summary>
    private const ulong UpperMask = 0xDFDFDFDFDFDFDFDFUL;
    private static readonly Entry[][] s_byLength = Enumerable.Range(0, MaxNameLength + 1)
        .Select(n => s_all.Where(e => e.Name.Length == n).ToArray()).ToArray();

    private static Entry[] Build(params (RespCommandId Id, string Name, int Arity)[] commands) =>
        commands.Select(c =>
        {
            if (c.Name.Length > MaxNameLength || !c.Name.All(char.IsAsciiLetterLower)) throw new ArgumentException($"bad command name {c.Name}");
            Pack(Encoding.ASCII.GetBytes(c.Name.ToUpperInvariant()), out var lo, out var hi);
            return new Entry(c.Id, c.Name, c.Arity, lo, hi);
        }).ToArray();

    /// <summary>A name of at most 16 bytes as two words, zero-padded, upper-cased.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pack(ReadOnlySpan<byte> name, out ulong lo, out ulong hi)
    {
        lo = 0;
        hi = 0;
        if (name.Length <= 8)
        {
            name.CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref lo)));
        }
        else
        {
            lo = MemoryMarshal.Read<ulong>(name);
            name[8..].CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref hi)));
        }
        lo &= UpperMask;
        hi &= UpperMask;
    }

    public static IReadOnlyList<Entry> All => s_all;

    /// <summary>
    /// Commands executed since start, per thread, by <see cref="RespCommandId"/>, for GET /metrics
    /// (<see cref="ExecutedTotals"/>): each thread writes its own array without an atomic, so
    /// sessions on different threads never contend for one cache line.
    /// </summary>
    private static readonly ThreadLocal<long[]> s_executed = new(() => new long[256], trackAllValues: true);

    /// <summary>Counts one execution of <paramref name="id"/> on this thread.</summary>
    internal static void CountExecuted(RespCommandId id) => s_executed.Value![(int)id]++;

    /// <summary>Executions so far on every thread, indexed by <see cref="RespCommandId"/> (a scrape may miss the last few).</summary>
    internal static long[] ExecutedTotals()
    {
        var totals = new long[256];
        foreach (var counts in s_executed.Values)
            for (var i = 0; i < totals.Length; i++) totals[i] += Volatile.Read(ref counts[i]);
        return totals;
    }

    /// <summary>The command named <paramref name="name"/> (any case); false if askr has none.</summary>
    public static bool TryFind(ReadOnlySpan<byte> name, out Entry entry)
    {
        entry = default;
        if (name.Length > MaxNameLength) return false;
        Pack(name, out var lo, out var hi);
        foreach (var e in s_byLength[name.Length])
        {
            if (e.Lo == lo && e.Hi == hi)
            {
                entry = e;
                return true;
            }
        }
        return false;
    }

    /// <summary>Arity check as Redis does it: exact for positive arity, at least |arity| for negative.</summary>
    public static bool ArityOk(int arity, int count) => arity >= 0 ? count == arity : count >= -arity;
}
