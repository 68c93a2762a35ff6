using System.Net;
using System.Net.Sockets;
using System.Text;
using Askr.Resp;
using Askr.Tests.Support;

namespace Askr.Tests.Resp;

/// <summary>
/// The RESP endpoint of a real <c>askr serve</c> (the supervisor process): what it refuses at
/// start (protected mode, a tables file it does not understand), what it keeps from its PHP
/// workers (its secrets), and how it bounds the replies a client leaves unread.
/// </summary>
public sealed class RespServeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("askr-resp-serve-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string TablesFile(string json)
    {
        var path = Path.Combine(_dir, $"tables-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Runs askr serve that is expected to refuse to start; kills it if it starts after all.</summary>
    private static async Task<(int Code, string Output)> ServeRefused(params string[] args)
    {
        var all = new List<string> { "serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "router.php"),
            "--port", AskrServer.FreePort().ToString(), "--workers", "1" };
        all.AddRange(args);
        var (code, stdout, stderr) = await RespFixture.Run(AskrServer.Binary, all, timeoutSeconds: 30);
        return (code, stdout + stderr);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task A_resp_host_that_is_not_loopback_without_a_password_is_refused_at_start(string host)
    {
        var (code, output) = await ServeRefused("--tables", TablesFile("""{"cache": {"rows": 10, "bytes": 100}}"""),
            "--resp-port", AskrServer.FreePort().ToString(), "--resp-host", host);
        Assert.Equal(2, code);
        Assert.Contains("is not a loopback address and no RESP password is set", output);
        Assert.Contains("--resp-protected-mode no", output);
        Assert.DoesNotContain("listening", output);
    }

    [Fact]
    public void Protected_mode_allows_loopback_a_password_or_an_explicit_opt_out_only()
    {
        Assert.Null(RespServer.ProtectedModeRefusal(IPAddress.Loopback, null, protectedMode: true));
        Assert.Null(RespServer.ProtectedModeRefusal(IPAddress.Parse("127.0.0.2"), null, protectedMode: true));
        Assert.Null(RespServer.ProtectedModeRefusal(IPAddress.IPv6Loopback, null, protectedMode: true));
        Assert.Null(RespServer.ProtectedModeRefusal(IPAddress.Any, "secret", protectedMode: true));
        Assert.Null(RespServer.ProtectedModeRefusal(IPAddress.Any, null, protectedMode: false));
        Assert.NotNull(RespServer.ProtectedModeRefusal(IPAddress.Any, null, protectedMode: true));
        Assert.NotNull(RespServer.ProtectedModeRefusal(IPAddress.Parse("10.1.2.3"), "", protectedMode: true));
    }

    [Fact]
    public async Task A_bad_protected_mode_value_is_refused()
    {
        var (code, output) = await ServeRefused("--resp-protected-mode", "maybe");
        Assert.Equal(2, code);
        Assert.Contains("--resp-protected-mode must be yes or no", output);
    }

    [Fact]
    public async Task A_tables_file_with_an_unknown_top_level_key_is_refused_naming_the_key()
    {
        var file = TablesFile("""{"users:100": {"name": "string:64"}}""");
        var (code, output) = await ServeRefused("--tables", file);
        Assert.Equal(1, code);
        Assert.Contains($"--tables {file}: tables config: unknown key \"users:100\"", output);
        Assert.DoesNotContain("tables: ;", output);
    }

    [Fact]
    public async Task The_cluster_secret_and_the_resp_password_reach_the_supervisor_but_no_php_worker()
    {
        const string Secret = "a-cluster-secret-of-some-length";
        const string Password = "resp-password-from-env";
        var respPort = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 1,
            new Dictionary<string, string> { ["ASKR_CLUSTER_SECRET"] = Secret, ["ASKR_RESP_PASSWORD"] = Password },
            "--tables", TablesFile("""{"cache": {"rows": 10, "bytes": 100}}"""), "--resp-port", respPort.ToString());
        foreach (var name in new[] { "ASKR_CLUSTER_SECRET", "ASKR_RESP_PASSWORD" })
        {
            var seen = await server.GetJsonAsync($"/env?name={name}");
            Assert.Equal("False", seen.GetProperty("getenv").ToString());
            Assert.Equal("", seen.GetProperty("server").ToString());
            Assert.Equal("", seen.GetProperty("env").ToString());
        }
        // The worker's own variables do reach it (so the probe above can see variables at all).
        Assert.NotEqual("False", (await server.GetJsonAsync("/env?name=ASKR_WORKER_ID")).GetProperty("getenv").ToString());
        // The supervisor read the password from its environment: RESP wants it.
        using var client = await RawConnect(respPort);
        await client.Send("PING\r\nAUTH " + Password + "\r\nPING\r\n");
        Assert.Equal("-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n", await client.Receive(42));
    }

    private static async Task<RawClient> RawConnect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawClient(socket);
    }

    private static byte[] Command(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) text.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static async Task<string> Ask(RawClient client, params string[] args)
    {
        await client.Send(Command(args));
        var buffer = new byte[64 * 1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var n = await client.Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task A_client_that_pipelines_without_reading_keeps_the_supervisor_memory_bounded_and_loses_no_reply()
    {
        // As measured in issue 15: 100,000 GET of a 10 KB value (Octane's default cache) sent
        // without reading used to make the supervisor build ~1 GB of replies (934 -> 1,716 MB).
        const int Gets = 100_000, ValueBytes = 10_000;
        const long Bound = 200L * 1024 * 1024;
        var respPort = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 1,
            "--tables", TablesFile("""{"cache": {"rows": 1000, "bytes": 10000}}"""), "--resp-port", respPort.ToString());
        using var control = await RawConnect(respPort);
        Assert.Equal("+OK\r\n", await Ask(control, "SET", "big", new string('v', ValueBytes)));
        var baseline = server.ResidentBytes();

        using var slow = await RawConnect(respPort);
        var get = Command("GET", "big");
        var pipeline = new byte[get.Length * Gets];
        for (var i = 0; i < Gets; i++) get.CopyTo(pipeline, i * get.Length);
        await slow.Send(pipeline);
        await slow.Send(Command("INCR", "marker")); // run after every GET: tells when the server got through them

        // A server that does not wait for its client gets through all of them while the client
        // reads nothing: watch the supervisor's memory until it has (the marker is set) or 3 s.
        var peak = baseline;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        while (DateTime.UtcNow < deadline)
        {
            peak = Math.Max(peak, server.ResidentBytes());
            if (peak - baseline > Bound || await Ask(control, "GET", "marker") == "$1\r\n1\r\n") break;
            await Task.Delay(100);
        }
        peak = Math.Max(peak, server.ResidentBytes());
        Assert.True(peak - baseline < Bound, $"supervisor RSS grew by {(peak - baseline) / 1024 / 1024} MB while the client read nothing (from {baseline / 1024 / 1024} MB)");

        // Now the client reads: every reply arrives, in order, and memory stays bounded meanwhile
        // (before the fix, the first read after the client caught up took the whole pipeline and
        // built its 1 GB of replies at once: +2 GB).
        var reply = Encoding.ASCII.GetBytes($"${ValueBytes}\r\n{new string('v', ValueBytes)}\r\n");
        var expected = (long)reply.Length * Gets + ":1\r\n".Length;
        var buffer = new byte[1024 * 1024];
        long received = 0, checkedAt = 0;
        var tail = new List<byte>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while (received < expected)
            {
                var n = await slow.Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                Assert.NotEqual(0, n);
                // Spot-check the stream: the reply boundaries fall where they should.
                for (var i = 0; i < n; i++)
                {
                    var at = received + i;
                    if (at < (long)reply.Length * Gets)
                    {
                        if (at % reply.Length == 0 || at % 4099 == 0) Assert.Equal(reply[at % reply.Length], buffer[i]);
                    }
                    else tail.Add(buffer[i]);
                }
                received += n;
                if (received - checkedAt > 100L * 1024 * 1024)
                {
                    checkedAt = received;
                    peak = Math.Max(peak, server.ResidentBytes());
                }
            }
        }
        Assert.Equal(expected, received);
        Assert.Equal(":1\r\n", Encoding.ASCII.GetString(tail.ToArray()));
        Assert.True(peak - baseline < Bound, $"supervisor RSS grew by {(peak - baseline) / 1024 / 1024} MB while the client read");
        Assert.Equal("$1\r\n1\r\n", await Ask(control, "GET", "marker"));
    }

    [Fact]
    public async Task A_reply_past_the_output_buffer_limit_closes_that_client_with_one_log_line_gives_the_memory_back_and_others_carry_on()
    {
        const int Limit = 100_000_000, Keys = 12_000; // MGET of 12,000 keys of 10 KB: a 120 MB reply
        const long Bound = 50L * 1024 * 1024;
        var respPort = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 1,
            "--tables", TablesFile("""{"cache": {"rows": 100, "bytes": 10000}}"""), "--resp-port", respPort.ToString(),
            "--resp-output-buffer-limit", Limit.ToString());
        using var control = await RawConnect(respPort);
        Assert.Equal("+OK\r\n", await Ask(control, "SET", "big", new string('v', 10_000)));
        var baseline = server.ResidentBytes();

        // Under the limit: a 500 KB reply arrives whole.
        using var fine = await RawConnect(respPort);
        await fine.Send(Command(["MGET", .. Enumerable.Repeat("big", 50)]));
        var whole = await fine.Receive(50 * 10_010 + 5);
        Assert.StartsWith("*50\r\n$10000\r\n", whole);
        Assert.Equal(50 * 10_010 + 5, whole.Length);

        // Past it: the connection is closed (the client reads nothing meanwhile).
        using var greedy = await RawConnect(respPort);
        await greedy.Send(Command(["MGET", .. Enumerable.Repeat("big", Keys)]));
        var (_, closed) = await greedy.ReceiveUntilClosed();
        Assert.True(closed);
        Assert.True(await server.WaitForLineAsync(l => l.Contains("resp: closed connection") && l.Contains($"output buffer limit of {Limit} bytes"), TimeSpan.FromSeconds(10)),
            string.Join('\n', server.Lines));
        Assert.Single(server.Lines, l => l.Contains("resp: closed connection"));

        // The ~100 MB built for it goes back to the system, instead of staying with the GC.
        var returned = await AskrServer.EventuallyAsync(() => Task.FromResult(server.ResidentBytes() - baseline < Bound), TimeSpan.FromSeconds(20));
        Assert.True(returned, $"supervisor RSS still {(server.ResidentBytes() - baseline) / 1024 / 1024} MB above {baseline / 1024 / 1024} MB");

        // Other clients are not affected.
        Assert.Equal("+PONG\r\n", await Ask(control, "PING"));
        Assert.Equal("+PONG\r\n", await Ask(fine, "PING"));
    }
}
