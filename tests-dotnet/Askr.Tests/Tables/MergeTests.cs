using System.Text;
using Askr.Tables;

namespace Askr.Tests.Tables;

/// <summary>Merging rows between nodes: three stores standing in for three nodes, synced by export and merge.</summary>
public sealed class MergeTests : IDisposable
{
    private sealed class Node : IDisposable
    {
        public readonly TableStore Store;
        public readonly ShareBook Book = new();
        public readonly ulong Id;
        public SharedTable T => Store.Find("t")!;

        public Node(ulong id)
        {
            Id = id;
            var path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-merge-{Guid.NewGuid():N}.store");
            Store = TableStore.Create(path, TableSchema.ParseConfig("""{"tables": {"t:64": {"name": "string:16", "n": "int", "f": "float"}}}"""), id, 1024);
            Store.Replicated = true;
        }

        public List<RowState> ExportAll()
        {
            var rows = new List<RowState>();
            var cursor = 0;
            do cursor = T.ExportScan(cursor, 100, Book, Id, rows); while (cursor != 0);
            return rows;
        }

        public long Int(string key)
        {
            using var row = new RowBuffer(T.Schema);
            return T.Get(K(key), row) ? row.GetInt(1) : long.MinValue;
        }

        public string? Name(string key)
        {
            using var row = new RowBuffer(T.Schema);
            return T.Get(K(key), row) ? Encoding.UTF8.GetString(row.GetString(0)) : null;
        }

        public void Dispose() => Store.Dispose();
    }

    private readonly Node _a = new(1), _b = new(2), _c = new(3);

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
    }

    private static byte[] K(string s) => Encoding.UTF8.GetBytes(s);

    private static void Sync(Node from, Node to)
    {
        foreach (var row in from.ExportAll()) to.T.Merge(row, to.Book, to.Id);
    }

    private void SyncAll()
    {
        for (var round = 0; round < 2; round++)
            foreach (var x in new[] { _a, _b, _c })
                foreach (var y in new[] { _a, _b, _c })
                    if (x != y) Sync(x, y);
    }

    private static void SetName(Node n, string key, string name)
    {
        using var row = new RowBuffer(n.T.Schema);
        row.SetString(0, K(name));
        n.T.Set(K(key), row);
    }

    private static void SetInt(Node n, string key, long value)
    {
        using var row = new RowBuffer(n.T.Schema);
        row.SetInt(1, value);
        n.T.Set(K(key), row);
    }

    [Fact]
    public void A_row_set_on_one_node_reads_the_same_on_the_others()
    {
        SetName(_a, "k", "ada");
        SyncAll();
        Assert.Equal("ada", _b.Name("k"));
        Assert.Equal("ada", _c.Name("k"));
    }

    [Fact]
    public void Concurrent_increments_on_three_nodes_converge_to_the_exact_total()
    {
        for (var i = 0; i < 5; i++) _a.T.Increment(K("c"), 1, 1L, out _);
        for (var i = 0; i < 7; i++) _b.T.Increment(K("c"), 1, 1L, out _);
        for (var i = 0; i < 3; i++) _c.T.Increment(K("c"), 1, -1L, out _);
        SyncAll();
        Assert.Equal([9L, 9L, 9L], new[] { _a.Int("c"), _b.Int("c"), _c.Int("c") });
        // More increments after the first sync still add up.
        _b.T.Increment(K("c"), 1, 10L, out _);
        _a.T.Increment(K("c"), 1, 1L, out _);
        SyncAll();
        Assert.Equal([20L, 20L, 20L], new[] { _a.Int("c"), _b.Int("c"), _c.Int("c") });
    }

    [Fact]
    public void Float_counters_from_several_nodes_add_up()
    {
        _a.T.Increment(K("f"), 2, 0.5, out double _);
        _b.T.Increment(K("f"), 2, 0.25, out double _);
        SyncAll();
        using var row = new RowBuffer(_c.T.Schema);
        _c.T.Get(K("f"), row);
        Assert.Equal(0.75, row.GetFloat(2));
    }

    [Fact]
    public void The_later_set_wins_on_every_node()
    {
        SetName(_a, "k", "first");
        Thread.Sleep(2);
        SetName(_b, "k", "second");
        SyncAll();
        Assert.Equal(new string?[] { "second", "second", "second" }, new[] { _a.Name("k"), _b.Name("k"), _c.Name("k") });
    }

    [Fact]
    public void Increments_after_a_set_add_to_the_set_value_everywhere()
    {
        SetInt(_a, "k", 10);
        SyncAll();
        _b.T.Increment(K("k"), 1, 2L, out _);
        _c.T.Increment(K("k"), 1, 3L, out _);
        SyncAll();
        Assert.Equal([15L, 15L, 15L], new[] { _a.Int("k"), _b.Int("k"), _c.Int("k") });
    }

    [Fact]
    public void A_set_supersedes_increments_made_before_it_but_not_those_made_after()
    {
        _b.T.Increment(K("k"), 1, 100L, out _);
        SyncAll();
        SetInt(_a, "k", 1);
        SyncAll();
        Assert.Equal([1L, 1L, 1L], new[] { _a.Int("k"), _b.Int("k"), _c.Int("k") });
        _b.T.Increment(K("k"), 1, 1L, out _);
        SyncAll();
        Assert.Equal([2L, 2L, 2L], new[] { _a.Int("k"), _b.Int("k"), _c.Int("k") });
    }

    [Fact]
    public void A_delete_replicates_as_a_tombstone_and_beats_older_writes()
    {
        SetName(_a, "k", "x");
        SyncAll();
        var stale = _c.ExportAll().Single(r => Encoding.UTF8.GetString(r.Key) == "k");
        Assert.True(_b.T.Delete(K("k")));
        SyncAll();
        Assert.Equal(new string?[] { null, null, null }, new[] { _a.Name("k"), _b.Name("k"), _c.Name("k") });
        // A copy of the row from before the delete, arriving late, does not bring it back.
        Assert.Equal(SharedTable.MergeOutcome.Unchanged, _a.T.Merge(stale, _a.Book, _a.Id));
        Assert.Null(_a.Name("k"));
        Assert.Equal(0, _a.T.Count);
        Assert.Equal(1, _a.T.TombstoneCount());
    }

    [Fact]
    public void A_write_after_a_delete_brings_the_row_back_everywhere_without_its_old_values()
    {
        SetName(_a, "k", "old");
        SetInt(_a, "k", 5);
        SyncAll();
        _a.T.Delete(K("k"));
        SyncAll();
        Thread.Sleep(2);
        SetName(_c, "k", "new");
        SyncAll();
        Assert.Equal(new string?[] { "new", "new", "new" }, new[] { _a.Name("k"), _b.Name("k"), _c.Name("k") });
        Assert.Equal([0L, 0L, 0L], new[] { _a.Int("k"), _b.Int("k"), _c.Int("k") });
    }

    [Fact]
    public void Merging_the_same_state_twice_changes_nothing_and_converged_nodes_hash_alike()
    {
        SetName(_a, "k", "v");
        _b.T.Increment(K("k"), 1, 4L, out _);
        SyncAll();
        foreach (var row in _a.ExportAll()) Assert.Equal(SharedTable.MergeOutcome.Unchanged, _b.T.Merge(row, _b.Book, _b.Id));
        var hashes = new[] { _a, _b, _c }.Select(n => n.ExportAll().Where(r => !r.Deleted).Aggregate(0UL, (h, r) => h ^ SharedTable.ContentHash(r))).ToArray();
        Assert.Equal(hashes[0], hashes[1]);
        Assert.Equal(hashes[0], hashes[2]);
    }

    [Fact]
    public void Tombstones_older_than_the_horizon_are_collected()
    {
        SetName(_a, "k", "x");
        _a.T.Delete(K("k"));
        Assert.Equal(1, _a.T.TombstoneCount());
        Assert.Empty(_a.T.CollectTombstones(0));
        Assert.Single(_a.T.CollectTombstones(long.MaxValue));
        Assert.Equal(0, _a.T.TombstoneCount());
        SetName(_a, "k2", "y");
        Assert.Equal(1, _a.T.Count);
    }
}
