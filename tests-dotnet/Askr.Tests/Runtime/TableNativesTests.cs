using System.Net;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Runtime;

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
}
