using System.Text;
using Askr.Tables;

namespace Askr.ResponseCache;

/// <summary>
/// How a purge reaches the other nodes of a cluster: through the table replication the cluster
/// already has (docs/cluster.md). On a node with both --response-cache and --cluster-port the
/// store holds one more table, <see cref="TableName"/>: one int counter per replication slot
/// ("t0" ... "t8191", a tag slot modulo <see cref="Slots"/>) and one for flush ("flush"). A
/// purge moves the node's own generation at once and increments the row; increments merge
/// across nodes as per-node counters, so none is lost, partitions included. A node that merges
/// a changed row from a peer (push or anti-entropy) bumps its own generations for that row
/// (<see cref="ApplyRemote"/>) and writes nothing back, so nothing echoes. A row covers
/// TagSlots / Slots tag slots: a remote purge invalidates a few more entries than the tag's
/// own, never fewer.
/// </summary>
internal static class CachePurgeReplication
{
    public const string TableName = "askr_cache_purges";
    /// <summary>Replication rows for tags.</summary>
    public const int Slots = 8192;
    private const string FlushKey = "flush";

    public static TableSchema Schema() => new(TableName, Slots + 1, [new ColumnSchema("n", ColumnType.Int, 0)]);

    /// <summary>Records a local purge for the cluster (no-op without the table: not clustered).</summary>
    public static void Record(TableStore? store, IEnumerable<int> tagSlots, bool flush)
    {
        if (store?.Find(TableName) is not { } table) return;
        foreach (var slot in tagSlots.Select(s => s % Slots).Distinct())
            Increment(table, "t" + slot);
        if (flush) Increment(table, FlushKey);
    }

    private static void Increment(SharedTable table, string key)
    {
        var status = table.Increment(Encoding.ASCII.GetBytes(key), 0, 1, out _);
        if (status != WriteStatus.Ok) Logging.LogWriter.Current.Error($"response cache: cannot record the purge {key} for the cluster ({status})");
    }

    /// <summary>A row of <see cref="TableName"/> changed by a peer: invalidate what it covers here.</summary>
    public static void ApplyRemote(CacheStore cache, ReadOnlySpan<byte> key)
    {
        var name = Encoding.ASCII.GetString(key);
        if (name == FlushKey)
        {
            cache.Flush();
        }
        else if (name.StartsWith('t') && int.TryParse(name.AsSpan(1), out var row) && row is >= 0 and < Slots)
        {
            for (var slot = row; slot < CacheStore.TagSlots; slot += Slots) cache.BumpSlot(slot);
        }
        else return;
        cache.Add(CacheStore.Counter.Purges);
        Logging.LogWriter.Current.Debug($"response cache: purge {name} from the cluster applied");
    }
}
