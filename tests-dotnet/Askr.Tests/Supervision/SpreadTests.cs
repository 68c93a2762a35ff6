using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Supervision;

/// <summary>
/// askr serve --spread on a real server with two workers: each new connection (a real TCP
/// connection, one request, Connection: close) is counted by the worker pid that answered it
/// (router.php's /echo gives getmypid()).
/// </summary>
public sealed class SpreadTests
{
    /// <summary>Opens <paramref name="connections"/> connections one after the other; the number each worker pid answered.</summary>
    private static async Task<Dictionary<int, int>> AnswersPerWorkerAsync(AskrServer server, int connections)
    {
        var counts = new Dictionary<int, int>();
        for (var i = 0; i < connections; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
            await socket.SendAsync(Encoding.ASCII.GetBytes("GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            var response = new MemoryStream();
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int n;
            while ((n = await socket.ReceiveAsync(buffer, timeout.Token)) > 0) response.Write(buffer, 0, n);
            var text = Encoding.UTF8.GetString(response.ToArray());
            Assert.StartsWith("HTTP/1.1 200", text);
            var pid = JsonDocument.Parse(text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).RootElement.GetProperty("pid").GetInt32();
            counts[pid] = counts.GetValueOrDefault(pid) + 1;
        }
        return counts;
    }

    private static void AssertFair(Dictionary<int, int> counts, int workers, int connections)
    {
        var summary = string.Join(", ", counts.Select(c => $"pid {c.Key}: {c.Value}"));
        Assert.True(counts.Count == workers, $"expected {workers} workers to answer, got {summary}");
        Assert.True(counts.Values.Max() <= 1.2 * counts.Values.Min(), $"max/min above 1.2: {summary}");
        // Round-robin over the slots makes it exact for consecutive connections.
        Assert.All(counts.Values, c => Assert.Equal(connections / workers, c));
    }

    [Fact]
    public async Task Bpf_spread_gives_each_of_two_workers_the_same_share_of_new_connections()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 2);
        Assert.Equal("bpf", (await server.StatusAsync()).GetProperty("spread").GetString());
        Assert.Contains(server.Lines, l => l.Contains("by a BPF reuseport program"));
        var counts = await AnswersPerWorkerAsync(server, 64);
        AssertFair(counts, 2, 64);
        Assert.Equal((await server.WorkerPidsAsync()).Order(), counts.Keys.Order());
    }

    [Fact]
    public async Task A_restarted_worker_gets_its_slot_socket_and_the_spread_stays_round_robin()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 2);
        var before = await server.WorkerPidsAsync();
        AskrServer.SignalPid(before[0], AskrServer.SigKill);
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var workers = (await server.StatusAsync()).GetProperty("workers").EnumerateArray().ToList();
            return workers.Count == 2 && workers.All(w => w.GetProperty("state").GetString() == "ready" && w.GetProperty("pid").GetInt32() != before[0]);
        }, TimeSpan.FromSeconds(60)), "the killed worker was not replaced by a ready one");
        var after = await server.WorkerPidsAsync();
        var counts = await AnswersPerWorkerAsync(server, 64);
        AssertFair(counts, 2, 64);
        Assert.Equal(after.Order(), counts.Keys.Order());
        Assert.DoesNotContain(before[0], counts.Keys);
    }

    [Fact]
    public async Task Spread_hash_leaves_the_connections_to_the_kernels_hash()
    {
        await using var server = await AskrServer.StartAsync("router.php", 2, "--spread", "hash");
        Assert.Equal("hash", (await server.StatusAsync()).GetProperty("spread").GetString());
        Assert.DoesNotContain(server.Lines, l => l.Contains("BPF"));
        var counts = await AnswersPerWorkerAsync(server, 64);
        Assert.Equal(64, counts.Values.Sum());
        Assert.Subset((await server.WorkerPidsAsync()).ToHashSet(), counts.Keys.ToHashSet());
    }

    [Fact]
    public async Task An_unknown_spread_is_refused_at_start_with_what_is_expected()
    {
        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => AskrServer.StartAsync("router.php", 1, "--spread", "random"));
        Assert.Contains("--spread random: expected bpf or hash", exception.Message);
    }
}
