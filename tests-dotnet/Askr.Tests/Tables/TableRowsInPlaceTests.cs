using System.Text;
using System.Text.Json;
using Askr.Tables;

namespace Askr.Tests.Tables;

/// <summary>
/// The shim's own path to the rows (native/shim/tables.c): get, exists, and set and incr of an
/// existing row in a store that is not replicated work on the shared memory in C, under the same
/// bucket locks as SharedTable, and must leave every row as SharedTable would. This test process
/// maps the server's store too and works on the same rows with SharedTable's C#.
/// </summary>
public sealed class TableRowsInPlaceTests : IClassFixture<TablesServer>, IDisposable
{
    private readonly Askr.Tests.Support.AskrServer _server;
    private readonly TableStore _store;
    private readonly SharedTable _example;

    public TableRowsInPlaceTests(TablesServer fixture)
    {
        _server = fixture.Server;
        var dir = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var path = Directory.GetFiles(dir, $"askr-{_server.Pid}-*.store").Single();
        _store = TableStore.Open(path);
        _example = _store.Find("example")!;
    }

    public void Dispose() => _store.Dispose();

    private async Task<JsonElement> Get(string path, HttpClient? client = null) =>
        JsonDocument.Parse(await (client ?? _server.Client).GetStringAsync(path)).RootElement.Clone();

    private static string Row(object row) => Uri.EscapeDataString(JsonSerializer.Serialize(row));

    private int Column(string name) => _example.Schema.Columns.ToList().FindIndex(c => c.Name == name);

    [Fact]
    public async Task Increments_in_place_and_the_stores_own_on_the_same_row_add_up_exactly()
    {
        var key = "ip" + Guid.NewGuid().ToString("N")[..12];
        await Get($"/set?key={key}&row={Row(new { votes = 0 })}"); // the row exists: PHP's increments are in place
        const int clients = 6, each = 40, fromHere = 3000;
        var votes = Column("votes");
        var here = Task.Run(() =>
        {
            for (var i = 0; i < fromHere; i++)
                Assert.Equal(WriteStatus.Ok, _example.Increment(Encoding.UTF8.GetBytes(key), votes, 1L, out long _));
        });
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            using var client = new HttpClient { BaseAddress = _server.Client.BaseAddress };
            for (var i = 0; i < each; i++) await Get($"/incr?key={key}&column=votes", client);
        }).Append(here));
        Assert.Equal(clients * each + fromHere, (await Get($"/get?key={key}&column=votes")).GetProperty("value").GetInt32());
    }

    [Fact]
    public async Task An_increment_in_place_stamps_the_row_and_keeps_this_nodes_counter_share_as_the_store_does()
    {
        var key = "is" + Guid.NewGuid().ToString("N")[..12];
        var bytes = Encoding.UTF8.GetBytes(key);
        await Get($"/set?key={key}&row={Row(new { name = "ada", votes = 10, score = 1.5 })}");
        Assert.True(_example.GetVersion(bytes, out var setClock, out _));
        for (var i = 0; i < 5; i++) await Get($"/incr?key={key}&column=votes");
        Assert.Equal(2.0, (await Get($"/incr?key={key}&column=score&by=0.5")).GetProperty("value").GetDouble());

        Assert.True(_example.GetVersion(bytes, out var clock, out var origin));
        Assert.True(clock > setClock, "the increments moved the row's hybrid clock on");
        Assert.True(clock <= _store.Clock.Last, "the row's clock is one the store's clock handed out");
        Assert.Equal(_store.NodeId, origin);
        var row = _example.Export(bytes, new ShareBook(), _store.NodeId)!;
        var votes = row.Columns[Column("votes")];
        Assert.Equal(10, votes.IntBase); // the value given by the set; the increments are this node's share
        Assert.Equal(5, Assert.Single(votes.Shares).IntDelta);
        var score = row.Columns[Column("score")];
        Assert.Equal(1.5, score.FloatBase);
        Assert.Equal(0.5, Assert.Single(score.Shares).FloatDelta);
        Assert.Equal(clock, score.Shares[0].Clock);

        // A set in place starts a new epoch: the shares are folded into the value.
        await Get($"/set?key={key}&row={Row(new { votes = 100 })}");
        row = _example.Export(bytes, new ShareBook(), _store.NodeId)!;
        Assert.Equal(100, row.Columns[Column("votes")].IntBase);
        Assert.Empty(row.Columns[Column("votes")].Shares);
        Assert.Equal(row.Clock, row.Columns[Column("votes")].SetClock);
        Assert.Equal("ada", Encoding.UTF8.GetString(row.Columns[Column("name")].Bytes!)); // a column not given keeps its value
        Assert.Single(row.Columns[Column("score")].Shares);
    }

    [Fact]
    public async Task Rows_the_store_writes_are_read_in_place_and_rows_set_in_place_are_read_by_the_store()
    {
        var key = "rd" + Guid.NewGuid().ToString("N")[..12];
        var bytes = Encoding.UTF8.GetBytes(key);
        using var values = new RowBuffer(_example.Schema);
        values.SetString(Column("name"), "grace"u8);
        values.SetInt(Column("votes"), 7);
        Assert.Equal(WriteStatus.Ok, _example.Set(bytes, values));
        var got = (await Get($"/get?key={key}")).GetProperty("value");
        Assert.Equal("grace", got.GetProperty("name").GetString());
        Assert.Equal(7, got.GetProperty("votes").GetInt32());
        Assert.True((await Get($"/exists?key={key}")).GetProperty("exists").GetBoolean());

        await Get($"/set?key={key}&row={Row(new { name = "hopper", score = 2.5 })}");
        using var read = new RowBuffer(_example.Schema);
        Assert.True(_example.Get(bytes, read));
        Assert.Equal("hopper", Encoding.UTF8.GetString(read.GetString(Column("name"))));
        Assert.Equal(7, read.GetInt(Column("votes")));
        Assert.Equal(2.5, read.GetFloat(Column("score")));

        Assert.True(_example.Delete(bytes));
        Assert.False((await Get($"/get?key={key}")).GetProperty("value").GetBoolean());
        Assert.False((await Get($"/exists?key={key}")).GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task In_a_replicated_store_sets_and_increments_of_existing_rows_still_reach_the_change_ring()
    {
        var key = "rp" + Guid.NewGuid().ToString("N")[..12];
        await Get($"/set?key={key}&row={Row(new { votes = 1 })}");
        _store.Replicated = true;
        try
        {
            var from = _store.Changes.Head;
            await Get($"/set?key={key}&row={Row(new { votes = 2 })}");
            Assert.Equal(3, (await Get($"/incr?key={key}&column=votes")).GetProperty("value").GetInt32());
            var kinds = new List<ChangeKind>();
            for (var seq = from + 1; seq <= _store.Changes.Head; seq++)
            {
                Assert.True(_store.Changes.TryRead(seq, out var change, out _));
                if (Encoding.UTF8.GetString(change.Key) == key) kinds.Add(change.Kind);
            }
            Assert.Equal([ChangeKind.Set, ChangeKind.Increment], kinds);
        }
        finally
        {
            _store.Replicated = false;
        }
    }
}
