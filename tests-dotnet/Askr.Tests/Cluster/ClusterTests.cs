using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Askr.Cluster.Transport;
using Askr.Tests.Support;
using Grpc.Core;
using W = Askr.Cluster.Wire;

namespace Askr.Tests.Cluster;

/// <summary>Three askr nodes, each on its own host (network namespace), replicating their tables.</summary>
[Collection("cluster")]
public sealed class ClusterTests : IAsyncLifetime
{
    private NetnsCluster? _cluster;
    private NetnsCluster C => _cluster!;

    public async Task InitializeAsync()
    {
        if (NetnsCluster.WhyUnsupported() is not null) return;
        _cluster = await NetnsCluster.StartThreeAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private static string Row(object row) => Uri.EscapeDataString(JsonSerializer.Serialize(row));

    private static async Task<JsonElement> Get(HttpClient http, string path) =>
        JsonDocument.Parse(await http.GetStringAsync(path)).RootElement.Clone();

    /// <summary>The answer's string value; null while the row has not arrived (the value is then false).</summary>
    private static string? StringValue(JsonElement answer) =>
        answer.GetProperty("value") is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private async Task<bool> AllRead(string path, Func<JsonElement, bool> expected, TimeSpan timeout, params int[] nodes) =>
        await AskrServer.EventuallyAsync(async () =>
        {
            foreach (var i in nodes.Length == 0 ? [1, 2, 3] : nodes)
            {
                using var http = C.Http(i);
                if (!expected(await Get(http, path))) return false;
            }
            return true;
        }, timeout);

    [SkippableFact]
    public async Task A_write_on_one_node_is_read_on_the_others()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        using var one = C.Http(1);
        var clock = Stopwatch.StartNew();
        await one.GetStringAsync($"/set?key=hello&row={Row(new { name = "ada", votes = 7 })}");
        Assert.True(await AllRead("/get?key=hello", e => e.GetProperty("value").ValueKind == JsonValueKind.Object
            && e.GetProperty("value").GetProperty("name").GetString() == "ada", TimeSpan.FromSeconds(10), 2, 3));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [SkippableFact]
    public async Task Concurrent_increments_on_all_three_nodes_converge_to_the_exact_total()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        const int each = 40;
        await Task.WhenAll(Enumerable.Range(1, 3).Select(async i =>
        {
            using var http = C.Http(i);
            for (var n = 0; n < each; n++) await http.GetStringAsync("/incr?key=total&column=votes");
        }));
        Assert.True(await AllRead("/get?key=total&column=votes", e => e.GetProperty("value").ValueKind == JsonValueKind.Number
            && e.GetProperty("value").GetInt32() == 3 * each, TimeSpan.FromSeconds(15)));
    }

    [SkippableFact]
    public async Task A_partitioned_node_keeps_serving_and_after_healing_everything_converges_with_nothing_lost()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        using (var one = C.Http(1)) await one.GetStringAsync("/incr?key=p-count&column=votes&by=1");
        Assert.True(await AllRead("/get?key=p-count&column=votes", e => e.GetProperty("value").ValueKind == JsonValueKind.Number, TimeSpan.FromSeconds(10)));

        C.Partition(3);
        // The majority side notices; node 3 keeps answering its own clients meanwhile.
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(C.MemberStatus(1, C.ClusterAddress(3)) is "suspect" or "dead"), TimeSpan.FromSeconds(20)));
        using (var one = C.Http(1))
        {
            await one.GetStringAsync($"/set?key=p-one&row={Row(new { name = "from-1" })}");
            for (var n = 0; n < 5; n++) await one.GetStringAsync("/incr?key=p-count&column=votes&by=1");
        }
        Assert.Contains("\"ok\":true", C.GetFromInside(3, $"/set?key=p-three&row={Row(new { name = "from-3" })}"));
        for (var n = 0; n < 7; n++) C.GetFromInside(3, "/incr?key=p-count&column=votes&by=1");
        Assert.Contains("from-3", C.GetFromInside(3, "/get?key=p-three"));

        C.Heal(3);
        Assert.True(await AllRead("/get?key=p-count&column=votes", e => e.GetProperty("value").ValueKind == JsonValueKind.Number
            && e.GetProperty("value").GetInt32() == 13, TimeSpan.FromSeconds(30)), "the counter did not converge to 1 + 5 + 7");
        Assert.True(await AllRead("/get?key=p-one&column=name", e => StringValue(e) == "from-1", TimeSpan.FromSeconds(10)));
        Assert.True(await AllRead("/get?key=p-three&column=name", e => StringValue(e) == "from-3", TimeSpan.FromSeconds(10)));
    }

    [SkippableFact]
    public async Task A_killed_node_is_detected_and_a_restarted_one_catches_up()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        using (var one = C.Http(1)) await one.GetStringAsync($"/set?key=before&row={Row(new { name = "kept" })}");
        await C.KillAsync(2);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(C.MemberStatus(1, C.ClusterAddress(2)) == "dead"), TimeSpan.FromSeconds(30)),
            "node 1 did not declare the killed node dead");
        using (var three = C.Http(3)) await three.GetStringAsync($"/set?key=while-down&row={Row(new { name = "missed" })}");

        await C.StartAsync(2, C.ClusterAddress(1));
        Assert.True(await AllRead("/get?key=before&column=name", e => StringValue(e) == "kept", TimeSpan.FromSeconds(20), 2));
        Assert.True(await AllRead("/get?key=while-down&column=name", e => StringValue(e) == "missed", TimeSpan.FromSeconds(20), 2));
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(C.MemberStatus(1, C.ClusterAddress(2)) == "alive"), TimeSpan.FromSeconds(20)));
    }

    [SkippableFact]
    public async Task A_node_with_the_wrong_secret_is_refused_and_cannot_write()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        C.AddHost(4);
        await C.StartAsync(4, C.ClusterAddress(1), secret: "a-different-secret-of-enough-length");
        using (var four = C.Http(4)) await four.GetStringAsync($"/set?key=intruder&row={Row(new { name = "evil" })}");
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(C.Log(4).Any(l => l.Contains("refused this node"))), TimeSpan.FromSeconds(20)),
            string.Join('\n', C.Log(4)));
        await Task.Delay(TimeSpan.FromSeconds(3)); // several push and anti-entropy rounds
        using var one = C.Http(1);
        Assert.False((await Get(one, "/get?key=intruder")).GetProperty("value").ValueKind == JsonValueKind.Object);
        Assert.Null(C.MemberStatus(1, C.ClusterAddress(4)));

        // A direct call with the wrong secret is refused before any handler runs.
        using var peers = new PeerChannels(new PeerChannelOptions { Secret = "a-different-secret-of-enough-length" });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Replication(C.ClusterAddress(1)).PushAsync(new W.DeltaBatch(), peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [SkippableFact]
    public async Task Malformed_cluster_messages_are_rejected_without_harming_the_node()
    {
        Skip.If(NetnsCluster.WhyUnsupported() is not null, NetnsCluster.WhyUnsupported());
        using var peers = new PeerChannels(new PeerChannelOptions { Secret = NetnsCluster.Secret });
        var replication = peers.Replication(C.ClusterAddress(1));
        var bad = new W.DeltaBatch();
        bad.Rows.Add(new W.RowState { Table = "no-such-table", Key = Google.Protobuf.ByteString.CopyFromUtf8("k") });
        var e = await Assert.ThrowsAsync<RpcException>(async () => await replication.PushAsync(bad, peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);

        var tooLong = new W.DeltaBatch();
        tooLong.Rows.Add(new W.RowState { Table = "example", Key = Google.Protobuf.ByteString.CopyFrom(new byte[64]) });
        e = await Assert.ThrowsAsync<RpcException>(async () => await replication.PushAsync(tooLong, peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);

        var stringTooLong = new W.DeltaBatch();
        stringTooLong.Rows.Add(new W.RowState { Table = "example", Key = Google.Protobuf.ByteString.CopyFromUtf8("k"),
            Columns = { new W.ColumnState { Index = 0, StringValue = Google.Protobuf.ByteString.CopyFromUtf8(new string('x', 17)) } } });
        e = await Assert.ThrowsAsync<RpcException>(async () => await replication.PushAsync(stringTooLong, peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);

        var digest = await Assert.ThrowsAsync<RpcException>(async () => await replication.DigestAsync(new W.DigestRequest { Table = "example", Ranges = 0 }, peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.InvalidArgument, digest.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await replication.DigestAsync(new W.DigestRequest { Table = "nope", Ranges = 4 }, peers.Call(TimeSpan.FromSeconds(5))));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        // Garbage bytes in place of a gRPC message.
        using var http = new HttpClient(new SocketsHttpHandler());
        var request = new HttpRequestMessage(HttpMethod.Post, $"http://{C.ClusterAddress(1)}/askr.cluster.v1.Replication/Push")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 3, 0xff, 0xff, 0xff]),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.Add("authorization", $"Bearer {NetnsCluster.Secret}");
        var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync(); // trailers arrive after the body
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var v) ? v.First() : response.Headers.TryGetValues("grpc-status", out var h) ? h.First() : null;
        Assert.True(status is not null, $"no grpc-status: HTTP {(int)response.StatusCode}");
        Assert.Equal(Transport.MalformedRequestTests.UnparsableMessageStatus, status);

        // The node still replicates.
        using (var one = C.Http(1)) await one.GetStringAsync($"/set?key=after-garbage&row={Row(new { name = "fine" })}");
        Assert.True(await AllRead("/get?key=after-garbage&column=name", e2 => StringValue(e2) == "fine", TimeSpan.FromSeconds(10)));
    }
}
