using System.Net;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Tables;

public sealed class TablesServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;
    public async Task InitializeAsync() =>
        Server = await AskrServer.StartAsync("tables.php", workers: 2, "--tables", Path.Combine(AskrServer.PhpDir, "tables.json"));
    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The table natives in real workers sharing the node's store.</summary>
public sealed class TableNativesTests : IClassFixture<TablesServer>
{
    private readonly AskrServer _server;

    public TableNativesTests(TablesServer fixture) => _server = fixture.Server;

    private async Task<(HttpStatusCode Status, JsonElement Body)> Get(string path)
    {
        var response = await _server.Client.GetAsync(path);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string Row(object row) => Uri.EscapeDataString(JsonSerializer.Serialize(row));

    [Fact]
    public async Task Table_names_lists_what_the_tables_file_declared_and_the_cache_table()
    {
        var (status, body) = await Get("/names");
        Assert.Equal(HttpStatusCode.OK, status);
        var names = body.GetProperty("names").EnumerateArray().Select(n => n.GetString()!).Order().ToArray();
        Assert.Equal(new[] { "example", "octane_cache", "tiny" }, names);
    }

    [Fact]
    public async Task A_row_written_by_one_worker_is_read_by_the_other_at_once()
    {
        var key = Guid.NewGuid().ToString("N")[..12];
        var pids = new HashSet<int>();
        (_, var set) = await Get($"/set?key={key}&row={Row(new { name = "ada", votes = 3, undeclared = 1 })}");
        pids.Add(set.GetProperty("pid").GetInt32());
        // Read until the other worker has answered: the kernel spreads new connections over both.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (pids.Count < 2 && DateTime.UtcNow < deadline)
        {
            using var fresh = new HttpClient { BaseAddress = _server.Client.BaseAddress };
            var body = JsonDocument.Parse(await fresh.GetStringAsync($"/get?key={key}")).RootElement;
            Assert.Equal("ada", body.GetProperty("value").GetProperty("name").GetString());
            Assert.Equal(3, body.GetProperty("value").GetProperty("votes").GetInt32());
            Assert.False(body.GetProperty("value").TryGetProperty("undeclared", out _));
            pids.Add(body.GetProperty("pid").GetInt32());
        }
        Assert.Equal(2, pids.Count);
    }

    [Fact]
    public async Task Concurrent_increments_from_both_workers_end_at_the_exact_total()
    {
        var key = "c" + Guid.NewGuid().ToString("N")[..12];
        const int clients = 8, each = 50;
        var pids = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            using var client = new HttpClient { BaseAddress = _server.Client.BaseAddress };
            for (var i = 0; i < each; i++)
            {
                var body = JsonDocument.Parse(await client.GetStringAsync($"/incr?key={key}&column=votes")).RootElement;
                pids[body.GetProperty("pid").GetInt32()] = 1;
            }
        }));
        var (_, final) = await Get($"/get?key={key}&column=votes");
        Assert.Equal(clients * each, final.GetProperty("value").GetInt32());
        Assert.Equal(2, pids.Count);
    }

    [Fact]
    public async Task Get_of_a_missing_key_or_column_is_false_as_in_swoole()
    {
        Assert.False((await Get("/get?key=never-set")).Body.GetProperty("value").GetBoolean());
        await Get($"/set?key=g&row={Row(new { votes = 1 })}");
        Assert.False((await Get("/get?key=g&column=nope")).Body.GetProperty("value").GetBoolean());
    }

    [Fact]
    public async Task Float_columns_increment_as_floats()
    {
        var key = "f" + Guid.NewGuid().ToString("N")[..8];
        await Get($"/incr?key={key}&column=score&by=0.5");
        var (_, body) = await Get($"/incr?key={key}&column=score&by=0.25");
        Assert.Equal(0.75, body.GetProperty("value").GetDouble());
    }

    [Fact]
    public async Task A_full_table_gives_a_clear_error_and_loses_nothing()
    {
        await Get($"/set?table=tiny&key=one&row={Row(new { n = 1 })}");
        await Get($"/set?table=tiny&key=two&row={Row(new { n = 2 })}");
        var (status, body) = await Get($"/set?table=tiny&key=three&row={Row(new { n = 3 })}");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("RuntimeException", body.GetProperty("exception").GetString());
        Assert.Contains("Table [tiny] is full", body.GetProperty("message").GetString());
        Assert.Equal(2, (await Get("/count?table=tiny")).Body.GetProperty("count").GetInt32());
        Assert.Equal(2, (await Get("/get?table=tiny&key=two&column=n")).Body.GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task Keys_longer_than_63_bytes_and_strings_longer_than_their_column_are_rejected_clearly()
    {
        var (status, body) = await Get($"/set?key={new string('k', 64)}&row={Row(new { votes = 1 })}");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("1 to 63 bytes", body.GetProperty("message").GetString());
        (status, body) = await Get($"/set?key=long&row={Row(new { name = new string('x', 17) })}");
        Assert.Equal("ValueError", body.GetProperty("exception").GetString());
        Assert.Contains("more than its size of 16", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_undeclared_table_is_a_clear_error()
    {
        var (status, body) = await Get("/unknown-table");
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("Table [nope] is not declared", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Delete_exists_and_scan_see_the_same_rows()
    {
        await Get($"/set?key=s1&row={Row(new { votes = 1 })}");
        await Get($"/set?key=s2&row={Row(new { votes = 2 })}");
        Assert.True((await Get("/exists?key=s1")).Body.GetProperty("exists").GetBoolean());
        var rows = (await Get("/scan")).Body.GetProperty("rows");
        Assert.Equal(2, rows.GetProperty("s2").GetProperty("votes").GetInt32());
        Assert.True((await Get("/del?key=s1")).Body.GetProperty("deleted").GetBoolean());
        Assert.False((await Get("/del?key=s1")).Body.GetProperty("deleted").GetBoolean());
        Assert.False((await Get("/exists?key=s1")).Body.GetProperty("exists").GetBoolean());
        Assert.False((await Get("/scan")).Body.GetProperty("rows").TryGetProperty("s1", out _));
    }

    // Ephpm\Octane\Table: the internal class whose methods are the same operations (tables.php
    // extends it as PlainTable, and as HookedTable with both error hooks overridden).

    [Fact]
    public async Task The_table_class_is_abstract_and_its_operations_are_internal_methods_with_the_php_signatures()
    {
        var (_, body) = await Get("/class/reflection");
        Assert.True(body.GetProperty("abstract").GetBoolean());
        Assert.False(body.GetProperty("final").GetBoolean());
        var methods = body.GetProperty("methods");
        var signatures = new Dictionary<string, string>
        {
            ["get"] = "string $key, ?string $field = NULL : array|string|int|float|false",
            ["set"] = "string $key, array $value : bool",
            ["incr"] = "string $key, string $column, int|float $incrby = 1 : int|float",
            ["decr"] = "string $key, string $column, int|float $incrby = 1 : int|float",
            ["exists"] = "string $key : bool",
            ["exist"] = "string $key : bool",
            ["del"] = "string $key : bool",
            ["delete"] = "string $key : bool",
            ["bindHandle"] = "int $handle : void",
            ["clearer"] = "ValueError $e, string $key : ValueError",
            ["setFailure"] = "ValueError $e, string $key, array $value : ValueError",
        };
        foreach (var (name, signature) in signatures)
        {
            var m = methods.GetProperty(name);
            Assert.True(m.GetProperty("internal").GetBoolean(), name);
            Assert.Equal("Ephpm\\Octane\\Table", m.GetProperty("class").GetString());
            Assert.Equal(signature, m.GetProperty("signature").GetString());
            Assert.Equal(name is not ("bindHandle" or "clearer" or "setFailure"), m.GetProperty("public").GetBoolean());
        }
        Assert.True(methods.GetProperty("bindHandle").GetProperty("final").GetBoolean());
    }

    [Fact]
    public async Task The_methods_answer_as_the_natives_do()
    {
        var key = "m" + Guid.NewGuid().ToString("N")[..8];
        var (status, body) = await Get($"/class/ops?key={key}");
        Assert.Equal(HttpStatusCode.OK, status);
        var expected = $$"""
            {"set":true,"get":{"name":"ada","votes":3,"score":0.0},"column":3,"named":"ada","no column":false,
             "incr":4,"incr by":9,"incr float on int":10,"decr":9,"decr by":7,"incr score":0.5,"decr score":-1.5,
             "incr numeric string":17,"natives":{"name":"ada","votes":17,"score":-1.5},
             "exists":true,"exist":true,"del":true,"delete again":false,"exists after":false,"missing":false,"missing column":false,
             "clone":7,"read by the original":7}
            """;
        Assert.Equal(JsonSerializer.Serialize(JsonDocument.Parse(expected).RootElement), JsonSerializer.Serialize(body));
    }

    [Fact]
    public async Task Method_errors_are_the_natives_errors_passed_through_the_hooks()
    {
        var (_, body) = await Get("/class/errors");
        var errors = body.GetProperty("errors");
        foreach (var what in new[] { "incr string column", "incr missing column", "decr string column", "get long key", "get empty key", "exists long key", "del long key", "incr long key", "set long key", "set long value" })
        {
            var e = errors.GetProperty(what);
            var native = e.GetProperty("native");
            Assert.Equal("ValueError", native[0].GetString());
            // Without hooks: exactly the native's error. With them: what the hook returned, the native's error as its previous.
            Assert.Equal(JsonSerializer.Serialize(native), JsonSerializer.Serialize(e.GetProperty("plain")));
            Assert.Equal("cleared: " + native[1].GetString(), e.GetProperty("hooked")[1].GetString());
            Assert.Equal(native[1].GetString(), e.GetProperty("hooked")[2].GetString());
        }
        Assert.Contains("Table [tiny] is full", errors.GetProperty("full").GetProperty("plain")[1].GetString());
        Assert.Equal("RuntimeException", errors.GetProperty("full").GetProperty("plain")[0].GetString());
        // As a PHP method declares its parameters: null is a TypeError, not a deprecation.
        Assert.Equal("TypeError", errors.GetProperty("null key").GetProperty("plain")[0].GetString());
        Assert.Equal("TypeError", errors.GetProperty("string incrby").GetProperty("plain")[0].GetString());
        Assert.Equal("ArgumentCountError", errors.GetProperty("too few arguments").GetProperty("plain")[0].GetString());
        // set() calls setFailure($e, $key, $value), whose internal default calls clearer(); the others call clearer().
        var calls = body.GetProperty("hook calls").EnumerateArray().Select(c => c[0].GetString() + ":" + c[1].GetString()!.Length).ToList();
        Assert.Equal(["clearer:1", "clearer:1", "clearer:1", "clearer:64", "clearer:0", "clearer:64", "clearer:64", "clearer:64",
                      "setFailure:64", "clearer:64", "setFailure:1", "clearer:1"], calls);
    }

    [Fact]
    public async Task A_table_object_is_bound_once_to_an_open_table()
    {
        var (_, body) = await Get("/class/binding");
        Assert.Equal("Error", body.GetProperty("unbound")[0].GetString());
        Assert.Contains("is not open: its constructor must call bindHandle()", body.GetProperty("unbound")[1].GetString());
        Assert.Equal("Error", body.GetProperty("bound twice")[0].GetString());
        Assert.Contains("already bound", body.GetProperty("bound twice")[1].GetString());
        Assert.Equal("ValueError", body.GetProperty("not a handle")[0].GetString());
        Assert.Contains("is not a table handle", body.GetProperty("not a handle")[1].GetString());
        Assert.Contains("Cannot instantiate abstract class", body.GetProperty("abstract")[1].GetString());
        Assert.Contains("Call to protected method", body.GetProperty("from outside")[1].GetString());
    }
}
