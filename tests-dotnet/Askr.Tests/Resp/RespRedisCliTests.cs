using System.Text;
using Askr.Tables;

namespace Askr.Tests.Resp;

/// <summary>The RESP endpoint driven by the real redis-cli (Debian redis-tools), one command per run unless said otherwise.</summary>
public sealed class RespRedisCliTests(RespFixture server) : IClassFixture<RespFixture>
{
    [Fact]
    public async Task Ping_and_echo_answer_as_redis()
    {
        Assert.Equal("PONG", await server.Cli("PING"));
        Assert.Equal("hello world", await server.Cli("ECHO", "hello world"));
    }

    [Fact]
    public async Task Hset_then_hget_and_hgetall_return_every_column()
    {
        Assert.Equal("2", await server.Cli("HSET", "users:ada", "name", "Ada", "votes", "3"));
        Assert.Equal("Ada", await server.Cli("HGET", "users:ada", "name"));
        Assert.Equal("3", await server.Cli("HGET", "users:ada", "votes"));
        // All columns, as Swoole\Table::get returns them; the unset float reads as 0.
        Assert.Equal("name\nAda\nvotes\n3\nscore\n0", await server.Cli("HGETALL", "users:ada"));
        Assert.Equal("0", await server.Cli("HSET", "users:ada", "score", "1.5"));
        Assert.Equal("1.5", await server.Cli("HGET", "users:ada", "score"));
        Assert.Equal("3", await server.Cli("HLEN", "users:ada"));
        Assert.Equal("name\nvotes\nscore", await server.Cli("HKEYS", "users:ada"));
        Assert.Equal("Ada\n3\n1.5", await server.Cli("HVALS", "users:ada"));
        Assert.Equal("Ada\n\n3", await server.Cli("HMGET", "users:ada", "name", "nope", "votes"));
        Assert.Equal("1\n0", string.Join('\n', await server.CliLines("HEXISTS users:ada votes", "HEXISTS users:ada nope")));
    }

    [Fact]
    public async Task Hset_checks_values_against_column_types_and_sizes()
    {
        Assert.Equal("ERR value is not an integer or out of range", (await server.Cli("HSET", "users:typed", "votes", "x")).Trim());
        Assert.Equal("ERR value is not a valid float", (await server.Cli("HSET", "users:typed", "score", "abc")).Trim());
        Assert.Contains("column 'name' of table 'users' (16 bytes at most)", await server.Cli("HSET", "users:typed", "name", new string('x', 17)));
        Assert.Contains("table 'users' has no column 'age'", await server.Cli("HSET", "users:typed", "age", "3"));
        // Nothing was written by the failed commands.
        Assert.Equal("0", await server.Cli("EXISTS", "users:typed"));
        Assert.Contains("no table 'nosuch'", await server.Cli("HSET", "nosuch:1", "a", "b"));
    }

    [Fact]
    public async Task Hincrby_and_hincrbyfloat_add_atomically_to_numeric_columns()
    {
        Assert.Equal("5", await server.Cli("HINCRBY", "users:counter", "votes", "5"));
        Assert.Equal("3", await server.Cli("HINCRBY", "users:counter", "votes", "-2"));
        Assert.Equal("2.5", await server.Cli("HINCRBYFLOAT", "users:counter", "score", "2.5"));
        Assert.Equal("3.75", await server.Cli("HINCRBYFLOAT", "users:counter", "score", "1.25"));
        Assert.Equal("ERR hash value is not an integer", (await server.Cli("HINCRBY", "users:counter", "name", "1")).Trim());
        Assert.Equal("ERR hash value is not an integer", (await server.Cli("HINCRBY", "users:counter", "score", "1")).Trim());
        Assert.Equal("ERR hash value is not a float", (await server.Cli("HINCRBYFLOAT", "users:counter", "name", "1")).Trim());
        Assert.Equal("13", await server.Cli("HINCRBYFLOAT", "users:counter", "votes", "10"));
        Assert.Contains("must be a whole number", await server.Cli("HINCRBYFLOAT", "users:counter", "votes", "0.5"));
    }

    [Fact]
    public async Task Hdel_of_every_column_deletes_the_row_and_of_some_is_refused()
    {
        await server.Cli("HSET", "users:hdel", "name", "x");
        Assert.Contains("keeps all its columns", await server.Cli("HDEL", "users:hdel", "name"));
        Assert.Equal("0", await server.Cli("HDEL", "users:hdel", "nosuchfield"));
        Assert.Equal("3", await server.Cli("HDEL", "users:hdel", "name", "votes", "score"));
        Assert.Equal("0", await server.Cli("EXISTS", "users:hdel"));
        Assert.Equal("0", await server.Cli("HDEL", "users:hdel", "name", "votes", "score"));
    }

    [Fact]
    public async Task Del_exists_and_type_resolve_table_rows_and_cache_keys()
    {
        await server.Cli("HSET", "users:del", "name", "x");
        await server.Cli("SET", "plain-del", "v");
        Assert.Equal("2", await server.Cli("EXISTS", "users:del", "plain-del"));
        Assert.Equal("hash", await server.Cli("TYPE", "users:del"));
        Assert.Equal("string", await server.Cli("TYPE", "plain-del"));
        Assert.Equal("none", await server.Cli("TYPE", "nothing-here"));
        // The cache row is also the hash octane_cache:<key>.
        Assert.Equal("hash", await server.Cli("TYPE", "octane_cache:plain-del"));
        Assert.Equal("2", await server.Cli("DEL", "users:del", "plain-del", "missing"));
        Assert.Equal("0", await server.Cli("EXISTS", "users:del", "plain-del"));
    }

    [Fact]
    public async Task Scan_with_match_count_and_type_walks_all_tables_once()
    {
        for (var i = 0; i < 30; i++) await server.Cli("HSET", $"bench:scan{i}", "name", "n");
        await server.Cli("SET", "scan-plain", "v");
        var keys = new List<string>();
        var cursor = "0";
        var calls = 0;
        do
        {
            var reply = (await server.Cli("SCAN", cursor, "MATCH", "bench:scan*", "COUNT", "7")).Split('\n');
            cursor = reply[0];
            keys.AddRange(reply.Skip(1).Where(k => k.Length > 0));
            calls++;
        }
        while (cursor != "0");
        Assert.True(calls > 1, "COUNT 7 should take several calls");
        Assert.Equal(30, keys.Count);
        Assert.Equal(30, keys.Distinct().Count());
        Assert.Equal(["bench:scan1", "bench:scan10", "bench:scan11"], keys.Where(k => k.StartsWith("bench:scan1")).Order().Take(3));
        Assert.Equal("0\nscan-plain", await server.Cli("SCAN", "0", "MATCH", "scan-*", "TYPE", "string", "COUNT", "100000"));
        Assert.Equal("0", await server.Cli("SCAN", "0", "MATCH", "scan-*", "TYPE", "hash", "COUNT", "100000"));
        // redis-cli --scan iterates the cursor itself.
        var glob = (await server.Cli("--scan", "--pattern", "bench:scan[12]?")).Split('\n').Order();
        Assert.Equal(Enumerable.Range(10, 20).Select(i => $"bench:scan{i}").Order(), glob);
        var keysCommand = (await server.Cli("KEYS", "bench:scan2*")).Split('\n');
        Assert.Equal(11, keysCommand.Length);
    }

    [Fact]
    public async Task Info_reports_the_server_and_keyspace_and_dbsize_counts_rows()
    {
        var info = await server.Cli("INFO");
        Assert.Contains("redis_version:", info);
        Assert.Contains("# Keyspace", info);
        var rows = server.Store.Tables.Sum(t => t.Count);
        Assert.Equal(rows.ToString(), await server.Cli("DBSIZE"));
        if (rows > 0) Assert.Contains($"db0:keys={rows},", info);
        Assert.Contains("table_users:rows=", await server.Cli("INFO", "tables"));
    }

    [Fact]
    public async Task Select_accepts_only_database_0()
    {
        Assert.Equal("OK", await server.Cli("SELECT", "0"));
        Assert.Equal("ERR DB index is out of range", (await server.Cli("SELECT", "1")).Trim());
        Assert.Equal("OK", await server.Cli("-n", "0", "PING").ContinueWith(_ => "OK"));
    }

    [Fact]
    public async Task Get_set_and_incr_work_on_plain_keys_of_the_cache_table()
    {
        Assert.Equal("OK", await server.Cli("SET", "greeting", "hello"));
        Assert.Equal("hello", await server.Cli("GET", "greeting"));
        Assert.Equal("", await server.Cli("GET", "absent"));
        Assert.Equal("OK", await server.Cli("SET", "n", "41"));
        Assert.Equal("42", await server.Cli("INCR", "n"));
        Assert.Equal("40", await server.Cli("DECRBY", "n", "2"));
        Assert.Equal("ERR value is not an integer or out of range", (await server.Cli("INCR", "greeting")).Trim());
        Assert.Equal("1", await server.Cli("INCR", "fresh-counter"));
        Assert.Equal("WRONGTYPE Operation against a key holding the wrong kind of value", (await server.Cli("GET", "users:ada")).Trim());
        Assert.Equal("hello\n\n40", await server.Cli("MGET", "greeting", "absent", "n"));
        Assert.Equal("OK", await server.Cli("MSET", "m1", "a", "m2", "b"));
        Assert.Equal("a\nb", await server.Cli("MGET", "m1", "m2"));
    }

    [Fact]
    public async Task Set_with_an_expiry_writes_the_unix_time_octane_reads()
    {
        Assert.Equal("OK", await server.Cli("SET", "ttl-key", "v", "EX", "100"));
        var ttl = long.Parse(await server.Cli("TTL", "ttl-key"));
        Assert.InRange(ttl, 99, 100);
        using var row = new RowBuffer(server.Store.Find(TableSchema.CacheTableName)!.Schema);
        Assert.True(server.Store.Find(TableSchema.CacheTableName)!.Get("ttl-key"u8, row));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(row.GetInt(1), now + 99, now + 100);
        // Without an expiry: Octane's forever(), one year.
        await server.Cli("SET", "forever-key", "v");
        Assert.InRange(long.Parse(await server.Cli("TTL", "forever-key")), 31535990, 31536000);
        Assert.Equal("-2", await server.Cli("TTL", "no-such-key"));
    }

    [Fact]
    public async Task Expired_cache_entries_read_as_absent()
    {
        var cache = server.Store.Find(TableSchema.CacheTableName)!;
        using var row = new RowBuffer(cache.Schema);
        row.SetString(0, "i:5;"u8);
        row.SetInt(1, DateTimeOffset.UtcNow.ToUnixTimeSeconds()); // expiration <= now: expired, as OctaneStore judges it
        Assert.Equal(WriteStatus.Ok, cache.Set("stale"u8, row));
        Assert.Equal("", await server.Cli("GET", "stale"));
        Assert.Equal("0", await server.Cli("EXISTS", "stale"));
        Assert.Equal("-2", await server.Cli("TTL", "stale"));
        Assert.Equal("1", await server.Cli("INCR", "stale"));
    }

    [Fact]
    public async Task Incr_keeps_the_php_serialized_form_octane_writes()
    {
        var cache = server.Store.Find(TableSchema.CacheTableName)!;
        using var row = new RowBuffer(cache.Schema);
        row.SetString(0, "i:41;"u8);
        row.SetInt(1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 60);
        cache.Set("octane-counter"u8, row);
        Assert.Equal("42", await server.Cli("INCR", "octane-counter"));
        Assert.Equal("i:42;", await server.Cli("GET", "octane-counter"));
    }

    [Fact]
    public async Task Auth_is_refused_without_a_configured_password()
    {
        Assert.StartsWith("ERR AUTH <password> called without any password configured", await server.Cli("AUTH", "x"));
    }

    [Fact]
    public async Task Unknown_commands_get_redis_error_text()
    {
        Assert.Equal("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz'", (await server.Cli("FOO", "bar", "baz")).Trim());
        Assert.Equal("ERR wrong number of arguments for 'get' command", (await server.Cli("GET")).Trim());
    }

    [Fact]
    public async Task Many_commands_through_one_redis_cli_connection()
    {
        var lines = await server.CliLines("SET pipe1 a", "SET pipe2 b", "GET pipe1", "GET pipe2", "DEL pipe1 pipe2", "PING");
        Assert.Equal(["OK", "OK", "a", "b", "2", "PONG"], lines);
    }

    [Fact]
    public async Task A_value_set_through_shared_table_is_read_at_once_by_hget_and_back()
    {
        var users = server.Store.Find("users")!;
        using var row = new RowBuffer(users.Schema);
        row.SetString(0, "Grace"u8);
        row.SetInt(1, 9);
        Assert.Equal(WriteStatus.Ok, users.Set("grace"u8, row));
        Assert.Equal("Grace", await server.Cli("HGET", "users:grace", "name"));
        Assert.Equal("9", await server.Cli("HGET", "users:grace", "votes"));

        await server.Cli("HSET", "users:grace", "name", "Hopper", "score", "2.25");
        row.Clear();
        Assert.True(users.Get("grace"u8, row));
        Assert.Equal("Hopper", Encoding.UTF8.GetString(row.GetString(0)));
        Assert.Equal(9, row.GetInt(1));
        Assert.Equal(2.25, row.GetFloat(2));
    }
}
