using System.Net;
using StackExchange.Redis;

namespace Askr.Tests.Resp;

/// <summary>
/// StackExchange.Redis 3.4 as a real client of the RESP endpoint, connected as its users connect
/// (an endpoint, and a password where one is set; every other option at its default): its
/// handshake, strings on the cache table, hashes on a declared table, batches and many commands
/// in flight, transactions and pub/sub (refused), and errors as <see cref="RedisServerException"/>.
/// </summary>
public sealed class StackExchangeRedisTests(RespFixture server) : IClassFixture<RespFixture>, IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private readonly StringWriter _connectLog = new();

    private IDatabase Db => _redis.GetDatabase();

    public async Task InitializeAsync() =>
        _redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { IPAddress.Loopback, server.Port } } }, _connectLog);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    private IServer Server => _redis.GetServer(IPAddress.Loopback, server.Port);

    [Fact]
    public void The_handshake_sees_a_standalone_primary_redis_7_with_one_database()
    {
        Assert.True(_redis.IsConnected, _connectLog.ToString());
        var s = Server;
        Assert.Equal(ServerType.Standalone, s.ServerType);
        Assert.False(s.IsReplica);
        Assert.Equal(new Version(7, 0, 0), s.Version);
        Assert.Equal(1, s.DatabaseCount);
        Assert.Contains("Subscription: ConnectedEstablished", _connectLog.ToString());
    }

    [Fact]
    public async Task Config_get_cluster_and_client_list_answer_what_the_handshake_and_redis_would()
    {
        // CONFIG and CLIENT LIST are admin commands for StackExchange.Redis: its users turn allowAdmin on for them.
        await using var admin = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { IPAddress.Loopback, server.Port } }, AllowAdmin = true });
        var s = admin.GetServer(IPAddress.Loopback, server.Port);
        var readOnly = await s.ConfigGetAsync("replica-read-only");
        Assert.Equal([new KeyValuePair<string, string>("replica-read-only", "yes")], readOnly);
        // CLUSTER NODES and SLOTS are asked at connect; a Redis without cluster mode answers this.
        var e = await Assert.ThrowsAsync<RedisServerException>(() => s.ExecuteAsync("CLUSTER", "NODES"));
        Assert.Equal("ERR This instance has cluster support disabled", e.Message);
        // The name the handshake set with CLIENT SETNAME reads back.
        var clients = await s.ClientListAsync();
        Assert.Contains(clients, c => c.Name is { } name && name.Contains("SE.Redis"));
    }

    [Fact]
    public async Task Strings_set_get_increment_and_keep_binary_values_intact()
    {
        Assert.True(await Db.StringSetAsync("se:greeting", "hello"));
        Assert.Equal("hello", (string?)await Db.StringGetAsync("se:greeting"));
        Assert.True((await Db.StringGetAsync("se:missing")).IsNull);

        // Every byte value, CR, LF and NUL included, in two 64-byte values (the cache's value size here).
        var low = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        var high = Enumerable.Range(192, 64).Select(i => (byte)i).ToArray();
        await Db.StringSetAsync("se:bin-low", low);
        await Db.StringSetAsync("se:bin-high", high);
        Assert.Equal(low, (byte[]?)await Db.StringGetAsync("se:bin-low"));
        Assert.Equal(high, (byte[]?)await Db.StringGetAsync("se:bin-high"));

        Assert.Equal(1, await Db.StringIncrementAsync("se:counter"));
        Assert.Equal(42, await Db.StringIncrementAsync("se:counter", 41));
        Assert.Equal(40, await Db.StringDecrementAsync("se:counter", 2));
        Assert.Equal("40", (string?)await Db.StringGetAsync("se:counter"));
    }

    [Fact]
    public async Task Expire_ttl_expireat_and_persist_work_on_cache_entries()
    {
        await Db.StringSetAsync("se:ttl", "v");
        Assert.True(await Db.KeyExpireAsync("se:ttl", TimeSpan.FromSeconds(100)));
        var ttl = await Db.KeyTimeToLiveAsync("se:ttl");
        Assert.InRange(ttl!.Value.TotalSeconds, 98, 100);
        Assert.Equal("v", (string?)await Db.StringGetAsync("se:ttl"));

        // Milliseconds round up to the column's whole seconds.
        Assert.True(await Db.KeyExpireAsync("se:ttl", TimeSpan.FromMilliseconds(1500)));
        Assert.InRange((await Db.KeyTimeToLiveAsync("se:ttl"))!.Value.TotalMilliseconds, 500, 2500);

        var at = DateTime.UtcNow.AddHours(1);
        Assert.True(await Db.KeyExpireAsync("se:ttl", at));
        var expiresAt = await Db.KeyExpireTimeAsync("se:ttl");
        Assert.InRange((expiresAt!.Value - at).TotalSeconds, -1, 1);

        // PERSIST gives OctaneStore's "forever": a year.
        Assert.True(await Db.KeyPersistAsync("se:ttl"));
        Assert.InRange((await Db.KeyTimeToLiveAsync("se:ttl"))!.Value.TotalDays, 364.9, 365);

        // SET with an expiry, and an expiry in the past deletes the entry, as in Redis.
        await Db.StringSetAsync("se:ttl", "w", TimeSpan.FromSeconds(30));
        Assert.InRange((await Db.KeyTimeToLiveAsync("se:ttl"))!.Value.TotalSeconds, 28, 30);
        Assert.True(await Db.KeyExpireAsync("se:ttl", DateTime.UtcNow.AddSeconds(-10)));
        Assert.False(await Db.KeyExistsAsync("se:ttl"));

        Assert.False(await Db.KeyExpireAsync("se:never-set", TimeSpan.FromSeconds(10)));
        Assert.False(await Db.KeyExistsAsync("se:never-set"));
        Assert.Null(await Db.KeyTimeToLiveAsync("se:never-set"));
    }

    [Fact]
    public async Task Expire_refuses_conditions_and_table_rows_with_askrs_message()
    {
        await Db.StringSetAsync("se:cond", "v");
        var e = await Assert.ThrowsAsync<RedisServerException>(() => Db.KeyExpireAsync("se:cond", TimeSpan.FromSeconds(5), ExpireWhen.HasNoExpiry));
        Assert.Contains("NX is not supported here (a table row has no conditional write)", e.Message);
        await Db.HashSetAsync("users:se-exp", "name", "x");
        e = await Assert.ThrowsAsync<RedisServerException>(() => Db.KeyExpireAsync("users:se-exp", TimeSpan.FromSeconds(5)));
        Assert.Equal("ERR a row of table 'users' does not expire: only plain keys (octane cache entries) do", e.Message);
        // The refused EXPIRE changed nothing: still SET's year.
        Assert.InRange((await Db.KeyTimeToLiveAsync("se:cond"))!.Value.TotalDays, 364.9, 365);
    }

    [Fact]
    public async Task Hashes_are_rows_of_a_declared_table_with_its_columns()
    {
        await Db.HashSetAsync("users:se-1", [new HashEntry("name", "Ada"), new HashEntry("votes", 3), new HashEntry("score", 1.5)]);
        Assert.Equal("Ada", (string?)await Db.HashGetAsync("users:se-1", "name"));
        var all = await Db.HashGetAllAsync("users:se-1");
        Assert.Equal(["name=Ada", "votes=3", "score=1.5"], all.Select(e => $"{e.Name}={e.Value}"));
        Assert.Equal(5, await Db.HashIncrementAsync("users:se-1", "votes", 2));
        Assert.Equal(1.75, await Db.HashIncrementAsync("users:se-1", "score", 0.25));
        Assert.Equal(3, await Db.HashLengthAsync("users:se-1"));
        Assert.False(await Db.HashExistsAsync("users:se-1", "age"));

        // A new row has every column: those not written read 0.
        Assert.True(await Db.HashSetAsync("users:se-2", "name", "Grace"));
        Assert.Equal(["name=Grace", "votes=0", "score=0"], (await Db.HashGetAllAsync("users:se-2")).Select(e => $"{e.Name}={e.Value}"));
        Assert.False(await Db.HashSetAsync("users:se-2", "votes", 7)); // the row existed: no field added
        Assert.Equal(7, (long)await Db.HashGetAsync("users:se-2", "votes"));
        Assert.True(await Db.KeyDeleteAsync("users:se-2"));
        Assert.Empty(await Db.HashGetAllAsync("users:se-2"));
    }

    [Fact]
    public async Task Column_rules_surface_as_server_errors_with_askrs_message_and_write_nothing()
    {
        await Db.HashSetAsync("users:se-rules", "name", "before");
        async Task<string> Refused(Func<Task> write) => (await Assert.ThrowsAsync<RedisServerException>(write)).Message;

        Assert.Equal("ERR table 'users' has no column 'age'", await Refused(() => Db.HashSetAsync("users:se-rules", "age", 1)));
        Assert.Equal("ERR value is not an integer or out of range", await Refused(() => Db.HashSetAsync("users:se-rules", [new HashEntry("name", "after"), new HashEntry("votes", "many")])));
        Assert.Equal("ERR value too long for column 'name' of table 'users' (16 bytes at most)", await Refused(() => Db.HashSetAsync("users:se-rules", "name", new string('x', 17))));
        Assert.Equal("ERR hash value is not an integer", await Refused(() => Db.HashIncrementAsync("users:se-rules", "name", 1)));
        Assert.StartsWith("ERR a row of table 'users' keeps all its columns", await Refused(() => Db.HashDeleteAsync("users:se-rules", "name")));
        Assert.Equal("ERR no table 'nosuch': a hash key is <table>:<row key>", await Refused(() => Db.HashSetAsync("nosuch:1", "a", "b")));
        Assert.Equal("before", (string?)await Db.HashGetAsync("users:se-rules", "name"));
    }

    [Fact]
    public async Task Other_errors_are_server_exceptions_with_askrs_or_redis_text()
    {
        await Db.HashSetAsync("users:se-type", "name", "x");
        var e = await Assert.ThrowsAsync<RedisServerException>(() => Db.StringGetAsync("users:se-type"));
        Assert.Equal("WRONGTYPE Operation against a key holding the wrong kind of value", e.Message);
        e = await Assert.ThrowsAsync<RedisServerException>(() => Db.ExecuteAsync("NOSUCH", "a"));
        Assert.Equal("ERR unknown command 'NOSUCH', with args beginning with: 'a' ", e.Message);
        e = await Assert.ThrowsAsync<RedisServerException>(() => Db.StringSetAsync("se:nx", "v", when: When.NotExists));
        Assert.Equal("ERR SETNX is not supported here (a table row has no conditional write)", e.Message);
        e = await Assert.ThrowsAsync<RedisServerException>(() => Db.StringSetAsync("se:nx", "v", TimeSpan.FromSeconds(5), when: When.NotExists));
        Assert.Equal("ERR SET NX is not supported here (a table row has no conditional write)", e.Message);
        Assert.False(await Db.KeyExistsAsync("se:nx"));
        // The connection carries on after errors.
        Assert.True((await Db.PingAsync()) < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_batch_is_sent_at_once_and_every_reply_comes_back_in_order()
    {
        var batch = Db.CreateBatch();
        var sets = Enumerable.Range(0, 40).Select(i => batch.StringSetAsync($"se:batch:{i}", $"value {i}")).ToArray();
        var gets = Enumerable.Range(0, 40).Select(i => batch.StringGetAsync($"se:batch:{i}")).ToArray();
        var rows = Enumerable.Range(0, 40).Select(i => batch.HashSetAsync($"bench:se-{i}", "name", $"row {i}")).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"value {i}"), (await Task.WhenAll(gets)).Select(v => (string?)v));
        Assert.All(await Task.WhenAll(rows), Assert.True);
        Assert.Equal("row 39", (string?)await Db.HashGetAsync("bench:se-39", "name"));
    }

    [Fact]
    public async Task Ten_thousand_async_commands_in_flight_all_complete_with_their_own_results()
    {
        const int Keys = 20, PerKey = 500;
        var increments = new Task<long>[Keys * PerKey];
        var reads = new Task<RedisValue>[Keys * PerKey];
        await Db.StringSetAsync("se:flight", "steady");
        for (var i = 0; i < increments.Length; i++)
        {
            increments[i] = Db.HashIncrementAsync($"users:se-flight-{i % Keys}", "votes", 1);
            reads[i] = Db.StringGetAsync("se:flight");
        }
        var results = await Task.WhenAll(increments);
        for (var k = 0; k < Keys; k++)
        {
            // Each key's increments returned 1..500, each value once: no reply went to another command.
            var mine = Enumerable.Range(0, PerKey).Select(n => results[n * Keys + k]).Order();
            Assert.Equal(Enumerable.Range(1, PerKey).Select(n => (long)n), mine);
            Assert.Equal(PerKey, (long)await Db.HashGetAsync($"users:se-flight-{k}", "votes"));
        }
        Assert.All(await Task.WhenAll(reads), v => Assert.Equal("steady", (string?)v));
    }

    [Fact]
    public async Task A_transaction_is_refused_and_none_of_its_commands_run()
    {
        await Db.StringSetAsync("se:tx-before", "kept");
        var tran = Db.CreateTransaction();
        var set = tran.StringSetAsync("se:tx", "written in a transaction");
        var delete = tran.KeyDeleteAsync("se:tx-before");
        var e = await Assert.ThrowsAnyAsync<Exception>(() => tran.ExecuteAsync());
        Assert.Contains("EXECABORT", e.ToString());
        Assert.False(await Db.KeyExistsAsync("se:tx"));
        Assert.Equal("kept", (string?)await Db.StringGetAsync("se:tx-before"));
        Assert.True(set.IsCanceled || set.IsFaulted);
        Assert.True(delete.IsCanceled || delete.IsFaulted);

        // With a condition (WATCH): refused as well, nothing written.
        tran = Db.CreateTransaction();
        tran.AddCondition(Condition.KeyNotExists("se:tx-lock"));
        _ = tran.StringSetAsync("se:tx-lock", "mine");
        await Assert.ThrowsAnyAsync<Exception>(() => tran.ExecuteAsync());
        Assert.False(await Db.KeyExistsAsync("se:tx-lock"));
        Assert.Equal("kept", (string?)await Db.StringGetAsync("se:tx-before"));
    }

    [Fact]
    public async Task Subscribe_is_refused_with_askrs_reason_and_the_connection_carries_on()
    {
        var e = await Assert.ThrowsAsync<RedisServerException>(() => _redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("se:news"), (_, _) => { }));
        Assert.Contains("SUBSCRIBE is not supported here: askr's RESP endpoint serves tables and has no pub/sub", e.Message);
        await Db.StringSetAsync("se:after-sub", "ok");
        Assert.Equal("ok", (string?)await Db.StringGetAsync("se:after-sub"));
    }
}

/// <summary>StackExchange.Redis against the endpoint with a password: right, wrong and missing.</summary>
public sealed class StackExchangeRedisAuthTests(RespPasswordFixture server) : IClassFixture<RespPasswordFixture>
{
    private ConfigurationOptions Options(string? password) => new()
    {
        EndPoints = { { IPAddress.Loopback, server.Port } },
        Password = password,
        ConnectTimeout = 5000,
    };

    [Fact]
    public async Task The_right_password_connects_and_commands_run()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Options(RespPasswordFixture.Password));
        var db = redis.GetDatabase();
        await db.StringSetAsync("se:auth", "yes");
        Assert.Equal("yes", (string?)await db.StringGetAsync("se:auth"));
        Assert.Equal(ServerType.Standalone, redis.GetServer(IPAddress.Loopback, server.Port).ServerType);
    }

    [Fact]
    public async Task A_wrong_password_fails_to_connect_naming_the_authentication_failure()
    {
        var e = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(Options("wrong")));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, e.FailureType);
        Assert.Contains("WRONGPASS", e.ToString());
    }

    [Fact]
    public async Task A_missing_password_fails_to_connect_naming_noauth()
    {
        var e = await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(Options(null)));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, e.FailureType);
        Assert.Contains("NOAUTH", e.ToString());
    }
}
