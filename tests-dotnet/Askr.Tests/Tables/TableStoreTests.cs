using System.Text;
using Askr.Tables;

namespace Askr.Tests.Tables;

/// <summary>The shared-memory store through its C# API, with two mappings of one file standing in for two processes.</summary>
public sealed class TableStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-test-{Guid.NewGuid():N}.store");
    private readonly TableStore _store;

    public TableStoreTests()
    {
        _store = TableStore.Create(_path, TableSchema.ParseConfig("""
            {"tables": {"users:8": {"name": "string:10", "votes": "int", "score": "float"}}, "cache": {"rows": 4, "bytes": 32}}
            """), nodeId: 42, ringCapacity: 1024);
    }

    public void Dispose() => _store.Dispose();

    private static byte[] K(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void A_row_written_through_one_mapping_is_read_through_another_at_once()
    {
        using var other = TableStore.Open(_path);
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        row.SetString(0, K("ada"));
        row.SetInt(1, 3);
        Assert.Equal(WriteStatus.Ok, users.Set(K("u1"), row));

        using var read = new RowBuffer(users.Schema);
        Assert.True(other.Find("users")!.Get(K("u1"), read));
        Assert.Equal("ada", Encoding.UTF8.GetString(read.GetString(0)));
        Assert.Equal(3, read.GetInt(1));
        Assert.Equal(0.0, read.GetFloat(2));
    }

    [Fact]
    public void Set_writes_only_the_given_columns_of_an_existing_row()
    {
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        row.SetString(0, K("grace"));
        row.SetInt(1, 7);
        users.Set(K("u"), row);
        using var update = new RowBuffer(users.Schema);
        update.SetInt(1, 9);
        users.Set(K("u"), update);
        users.Get(K("u"), row);
        Assert.Equal("grace", Encoding.UTF8.GetString(row.GetString(0)));
        Assert.Equal(9, row.GetInt(1));
    }

    [Fact]
    public void Update_writes_the_given_columns_of_an_existing_row_and_never_creates_or_revives_one()
    {
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        row.SetString(0, K("ada"));
        row.SetInt(1, 1);
        users.Set(K("upd"), row);
        using var update = new RowBuffer(users.Schema);
        update.SetInt(1, 5);
        Assert.True(users.Update(K("upd"), update));
        users.Get(K("upd"), row);
        Assert.Equal("ada", Encoding.UTF8.GetString(row.GetString(0)));
        Assert.Equal(5, row.GetInt(1));

        Assert.False(users.Update(K("upd-absent"), update));
        Assert.False(users.Exists(K("upd-absent")));
        users.Delete(K("upd"));
        Assert.False(users.Update(K("upd"), update));
        Assert.False(users.Exists(K("upd")));
    }

    [Fact]
    public void A_full_table_refuses_new_keys_but_updates_existing_ones()
    {
        var cache = _store.Find(TableSchema.CacheTableName)!;
        using var row = new RowBuffer(cache.Schema);
        row.SetInt(1, 1);
        for (var i = 0; i < 4; i++) Assert.Equal(WriteStatus.Ok, cache.Set(K($"k{i}"), row));
        Assert.Equal(WriteStatus.Full, cache.Set(K("k4"), row));
        Assert.Equal(WriteStatus.Full, cache.Increment(K("k5"), 1, 1L, out _));
        Assert.Equal(WriteStatus.Ok, cache.Set(K("k0"), row));
        Assert.Equal(4, cache.Count);
        Assert.True(cache.Delete(K("k1")));
        Assert.Equal(WriteStatus.Ok, cache.Set(K("k4"), row));
        Assert.Equal(4, cache.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(64)]
    public void Keys_that_are_empty_or_longer_than_63_bytes_are_rejected(int length)
    {
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        Assert.Equal(WriteStatus.BadKey, users.Set(new byte[length], row));
        Assert.Equal(WriteStatus.Ok, users.Set(new byte[63], row));
    }

    [Fact]
    public void A_string_longer_than_its_column_is_refused_by_the_row_buffer()
    {
        using var row = new RowBuffer(_store.Find("users")!.Schema);
        Assert.False(row.SetString(0, new byte[11]));
        Assert.True(row.SetString(0, new byte[10]));
    }

    [Fact]
    public void Increments_from_many_threads_and_two_mappings_end_at_the_exact_total()
    {
        using var other = TableStore.Open(_path);
        var tables = new[] { _store.Find("users")!, other.Find("users")! };
        const int threads = 8, each = 20_000;
        Parallel.For(0, threads, t =>
        {
            var table = tables[t % 2];
            for (var i = 0; i < each; i++) table.Increment(K("counter"), 1, 1L, out _);
        });
        using var row = new RowBuffer(tables[0].Schema);
        tables[0].Get(K("counter"), row);
        Assert.Equal(threads * each, row.GetInt(1));
    }

    [Fact]
    public void Float_increments_add_to_a_float_column_and_string_columns_cannot_be_incremented()
    {
        var users = _store.Find("users")!;
        Assert.Equal(WriteStatus.Ok, users.Increment(K("f"), 2, 1.25, out double a));
        Assert.Equal(WriteStatus.Ok, users.Increment(K("f"), 2, 1.25, out double b));
        Assert.Equal((1.25, 2.5), (a, b));
        Assert.Equal(WriteStatus.NotNumeric, users.Increment(K("f"), 0, 1L, out long _));
        Assert.Equal(WriteStatus.NoColumn, users.Increment(K("f"), 9, 1L, out long _));
    }

    [Fact]
    public void Scan_visits_every_row_once_across_batches()
    {
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        for (var i = 0; i < 8; i++) { row.SetInt(1, i); users.Set(K($"row{i}"), row); }
        var seen = new List<string>();
        var cursor = 0;
        do
        {
            cursor = users.Scan(cursor, 2, row, (key, r) => seen.Add(Encoding.UTF8.GetString(key) + "=" + r.GetInt(1)));
        } while (cursor != 0);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"row{i}={i}").Order(), seen.Order());
    }

    [Fact]
    public void Every_write_is_in_the_change_ring_with_a_growing_hybrid_clock_and_the_origin_node()
    {
        _store.Replicated = true; // only replication reads the ring
        var users = _store.Find("users")!;
        var start = _store.Changes.Head;
        using var row = new RowBuffer(users.Schema);
        users.Set(K("a"), row);
        users.Increment(K("a"), 1, 1L, out _);
        users.Delete(K("a"));
        var changes = new List<Change>();
        for (var seq = start + 1; _store.Changes.TryRead(seq, out var c, out _); seq++) changes.Add(c);
        Assert.Equal([ChangeKind.Set, ChangeKind.Increment, ChangeKind.Delete], changes.Select(c => c.Kind));
        Assert.All(changes, c => Assert.Equal("a", Encoding.UTF8.GetString(c.Key)));
        Assert.True(changes[0].Clock < changes[1].Clock && changes[1].Clock < changes[2].Clock);

        users.Set(K("b"), row);
        Assert.True(users.GetVersion(K("b"), out var clock, out var origin));
        Assert.Equal(42UL, origin);
        Assert.True(HybridClock.Milliseconds(clock) > DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds());
    }

    [Fact]
    public void A_store_that_is_not_replicated_leaves_the_change_ring_alone()
    {
        var users = _store.Find("users")!;
        var start = _store.Changes.Head;
        using var row = new RowBuffer(users.Schema);
        users.Set(K("a"), row);
        users.Increment(K("a"), 1, 1L, out _);
        users.Increment(K("a"), 2, 0.5, out double _);
        users.Delete(K("a"));
        Assert.Equal(start, _store.Changes.Head);
        Assert.False(_store.Changes.TryRead(start + 1, out _, out _));
    }

    [Fact]
    public void A_reader_lapped_by_the_writers_learns_it_lost_changes()
    {
        _store.Replicated = true;
        var users = _store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        var start = _store.Changes.Head + 1;
        for (var i = 0; i < 1500; i++) users.Set(K("x"), row);
        Assert.False(_store.Changes.TryRead(start, out _, out var overrun));
        Assert.True(overrun);
    }

    [Fact]
    public void A_lock_left_by_a_process_that_died_is_taken_over()
    {
        using var gone = System.Diagnostics.Process.Start("true")!;
        gone.WaitForExit();
        var users = _store.Find("users")!;
        users.LockBucketAsForTest(K("victim"), gone.Id);
        using var row = new RowBuffer(users.Schema);
        row.SetInt(1, 5);
        var write = Task.Run(() => users.Set(K("victim"), row));
        Assert.True(write.Wait(TimeSpan.FromSeconds(10)), "the write waited forever on a dead process's lock");
        Assert.Equal(WriteStatus.Ok, write.Result);
    }

    [Theory]
    [InlineData("sequential")]
    [InlineData("byte 7 only")]
    [InlineData("last byte only")]
    [InlineData("short")]
    [InlineData("md5")]
    public void Keys_spread_over_the_buckets_as_if_at_random(string shape)
    {
        // 4096 distinct keys into 4096 buckets: at random, ~63% of the buckets are used and the
        // longest chain is 6 or 7. A hash that ignored some of the key's bytes would do far worse.
        const int n = 4096;
        var keys = Enumerable.Range(0, n).Select(i => shape switch
        {
            "sequential" => K($"bench:key:{i}"),
            "byte 7 only" => [.. K("abcdefg"), (byte)i, (byte)(i >> 8), .. K("12345678")],
            "last byte only" => [.. new byte[60], (byte)i, (byte)(i >> 8), (byte)(i >> 16)],
            "short" => i < 256 ? [(byte)i] : [(byte)i, (byte)(i >> 8)],
            _ => K(Convert.ToHexString(System.Security.Cryptography.MD5.HashData(K(i.ToString())))),
        }).ToList();
        Assert.Equal(n, keys.Select(Convert.ToHexString).Distinct().Count());
        var chains = new int[n];
        foreach (var key in keys) chains[SharedTable.BucketHash(key) & (n - 1)]++;
        Assert.InRange(chains.Count(c => c > 0), n * 55 / 100, n * 70 / 100);
        Assert.InRange(chains.Max(), 1, 12);
    }

    [Fact]
    public void Opening_a_file_that_is_not_a_store_fails_clearly()
    {
        var path = Path.GetTempFileName();
        File.WriteAllBytes(path, new byte[8192]);
        try { Assert.Throws<InvalidDataException>(() => TableStore.Open(path)); }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("""{"tables": {"nocount": {"a": "int"}}}""", "'name:rows'")]
    [InlineData("""{"tables": {"t:10": {"a": "blob"}}}""", "is not 'int', 'float' or 'string:size'")]
    [InlineData("""{"tables": {"t:10": {"a": "string"}}}""", "string:size")]
    [InlineData("not json", "not JSON")]
    [InlineData("""{"users:100": {"name": "string:64"}}""", "unknown key \"users:100\"")]
    [InlineData("""{"tables": {"t:10": {"a": "int"}}, "cach": {"rows": 10}}""", "unknown key \"cach\"")]
    [InlineData("""{"tables": ["t:10"]}""", "\"tables\" must be an object")]
    [InlineData("""{"cache": {"rows": 10, "byte": 100}}""", "unknown key \"byte\" in \"cache\"")]
    [InlineData("""{"cache": {"rows": "many"}}""", "must be whole numbers")]
    [InlineData("""{"tables": {"t:10": {"a": 5}}}""", "type \"5\" is not 'int'")]
    public void A_bad_tables_config_is_rejected_with_what_is_wrong(string json, string message)
    {
        var e = Assert.Throws<FormatException>(() => TableSchema.ParseConfig(json));
        Assert.Contains(message, e.Message);
    }
}
