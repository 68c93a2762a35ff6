using System.Diagnostics;
using System.Text.Json;
using Askr.Cluster.Transport;
using Askr.Cluster.Wire;
using Grpc.Core;
using static Askr.Tests.Cluster.Transport.TestClusterServer;

namespace Askr.Tests.Cluster.Transport;

/// <summary>
/// Wire compatibility with another gRPC implementation, grpc-js (tests-dotnet/grpc-interop): its
/// client against askr's <see cref="ClusterServer"/>, and askr's <see cref="PeerChannels"/>
/// against its server.
/// </summary>
public sealed class GrpcInteropTests(TestClusterServer server) : IClassFixture<TestClusterServer>
{
    [NodeFact]
    public async Task Grpc_js_client_calls_unary_and_server_streaming_methods_with_the_secret()
    {
        await NodeInterop.EnsureInstalledAsync();
        server.ResetSignals();
        var (code, stdout, stderr) = await NodeInterop.RunAsync("client.js", server.Address, Secret, "250");
        Assert.True(code == 0, $"node client.js exited {code}: {stderr}\n{stdout}");

        using var result = JsonDocument.Parse(stdout);
        var ack = result.RootElement.GetProperty("ping");
        Assert.Equal("7", ack.GetProperty("from").GetString());
        Assert.Equal("42", ack.GetProperty("sequence").GetString());
        Assert.True(ack.GetProperty("ok").GetBoolean());
        var member = ack.GetProperty("gossip").GetProperty("members")[0];
        Assert.Equal("127.0.0.1:7001", member.GetProperty("address").GetString());
        Assert.Equal("MEMBER_STATE_SUSPECT", member.GetProperty("state").GetString());

        var rows = result.RootElement.GetProperty("repair").EnumerateArray().ToList();
        Assert.Equal(250, rows.Count);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => "k" + i), rows.Select(r => r.GetProperty("key").GetString()));
        Assert.All(rows, r => Assert.Equal("users", r.GetProperty("table").GetString()));

        Assert.Equal(2, result.RootElement.GetProperty("push").GetProperty("applied").GetInt32());
        var refused = result.RootElement.GetProperty("leave");
        Assert.Equal((int)StatusCode.PermissionDenied, refused.GetProperty("code").GetInt32());
        Assert.Equal("refusé: 100% full", refused.GetProperty("details").GetString());
        // grpc-js sends its deadline as grpc-timeout; the handler's token is cancelled by it.
        Assert.Equal((int)StatusCode.DeadlineExceeded, result.RootElement.GetProperty("deadline").GetProperty("code").GetInt32());
        await server.JoinCancelled.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((int)StatusCode.Unimplemented, result.RootElement.GetProperty("digest").GetProperty("code").GetInt32());
        Assert.Equal((int)StatusCode.Unauthenticated, result.RootElement.GetProperty("unauthenticated").GetProperty("code").GetInt32());
    }

    [NodeFact]
    public async Task Grpc_js_client_calls_over_tls_when_it_trusts_the_cluster_certificate()
    {
        await NodeInterop.EnsureInstalledAsync();
        using var certificate = CallTests.SelfSigned();
        await using var tls = await StartAsync(null, new ClusterServerOptions { Secret = Secret, Certificate = certificate });
        var pem = Path.Combine(Path.GetTempPath(), $"askr-interop-{Guid.NewGuid():N}.pem");
        try
        {
            await File.WriteAllTextAsync(pem, certificate.ExportCertificatePem());
            var (code, stdout, stderr) = await NodeInterop.RunAsync("client.js", $"127.0.0.1:{tls.Port}", Secret, "3", pem);
            Assert.True(code == 0, $"node client.js over TLS exited {code}: {stderr}\n{stdout}");
            using var result = JsonDocument.Parse(stdout);
            Assert.Equal(3, result.RootElement.GetProperty("repair").GetArrayLength());
        }
        finally
        {
            File.Delete(pem);
        }
    }

    [NodeFact]
    public async Task Askr_client_calls_a_grpc_js_server()
    {
        await NodeInterop.EnsureInstalledAsync();
        await using var peer = await NodeInterop.StartServerAsync(Secret);
        var address = $"127.0.0.1:{peer.Port}";
        var deadline = TimeSpan.FromSeconds(5);
        using var peers = Channels();
        var membership = peers.Membership(address);
        var replication = peers.Replication(address);

        var gossip = new Gossip { Members = { new Member { Id = 1, Address = "a:1", Incarnation = 2, State = MemberState.Dead } } };
        var ack = await membership.PingAsync(new PingMessage { From = 5, Sequence = 123456789012, Gossip = gossip }, peers.Call(deadline));
        Assert.Equal(77UL, ack.From);
        Assert.Equal(123456789012UL, ack.Sequence);
        Assert.Equal(gossip, ack.Gossip);

        var rows = new List<RowState>();
        using (var call = replication.Repair(new RepairRequest { Table = "users", RangeCount = 1000 }, peers.Call(deadline)))
            await foreach (var row in call.ResponseStream.ReadAllAsync()) rows.Add(row);
        Assert.Equal(1000, rows.Count);
        Assert.Equal("k999", rows[^1].Key.ToStringUtf8());
        Assert.Equal(-999, rows[^1].Columns[0].IntValue);
        Assert.True(rows[1].Deleted);

        using (var call = replication.Repair(new RepairRequest { Table = "users" }, peers.Call(deadline)))
            Assert.Empty(await call.ResponseStream.ReadAllAsync().ToListAsync());

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await membership.JoinAsync(new JoinRequest(), peers.Call(deadline)));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal("refusé: 100% full", refused.Status.Detail);

        // grpc-js's PingReq never answers: askr's deadline ends the call.
        var watch = Stopwatch.StartNew();
        var late = await Assert.ThrowsAsync<RpcException>(async () => await membership.PingReqAsync(new PingRequest(), peers.Call(TimeSpan.FromMilliseconds(300))));
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);
        Assert.True(watch.ElapsedMilliseconds >= 250, $"ended after {watch.ElapsedMilliseconds} ms");

        var unimplemented = await Assert.ThrowsAsync<RpcException>(async () => await replication.DigestAsync(new DigestRequest(), peers.Call(deadline)));
        Assert.Equal(StatusCode.Unimplemented, unimplemented.StatusCode);

        using var stranger = Channels("wrong");
        var e = await Assert.ThrowsAsync<RpcException>(async () => await stranger.Membership(address).PingAsync(new PingMessage(), stranger.Call(deadline)));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = stranger.Replication(address).Repair(new RepairRequest { RangeCount = 3 }, stranger.Call(deadline));
            await foreach (var _ in call.ResponseStream.ReadAllAsync()) { }
        });
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }
}

/// <summary>A [Fact] that is skipped, saying why, when node is not on the PATH (node_modules are installed by the test).</summary>
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (NodeInterop.Find("node") is null) Skip = "node is not installed: the grpc-js interop tests (tests-dotnet/grpc-interop) need Node.js 18+";
        else if (!Directory.Exists(Path.Combine(NodeInterop.Directory, "node_modules")) && NodeInterop.Find("npm") is null)
            Skip = "tests-dotnet/grpc-interop/node_modules is missing and npm is not installed to fetch @grpc/grpc-js";
    }
}

/// <summary>Runs the scripts of tests-dotnet/grpc-interop.</summary>
internal static class NodeInterop
{
    private static readonly SemaphoreSlim s_install = new(1, 1);

    public static string Directory
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "proto", "askr", "cluster", "v1", "cluster.proto"))) dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory), "tests-dotnet", "grpc-interop");
        }
    }

    public static string? Find(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    /// <summary>Runs <c>npm install</c> once when node_modules is absent (60 seconds at most).</summary>
    public static async Task EnsureInstalledAsync()
    {
        await s_install.WaitAsync();
        try
        {
            if (System.IO.Directory.Exists(Path.Combine(Directory, "node_modules", "@grpc", "grpc-js"))) return;
            var (code, stdout, stderr) = await RunProgramAsync("npm", ["install", "--no-audit", "--no-fund"], timeoutSeconds: 60);
            Assert.True(code == 0, $"npm install in {Directory} failed ({code}); the interop tests need @grpc/grpc-js:\n{stderr}\n{stdout}");
        }
        finally
        {
            s_install.Release();
        }
    }

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(string script, params string[] args) =>
        RunProgramAsync("node", [script, .. args], timeoutSeconds: 20);

    private static async Task<(int Code, string Stdout, string Stderr)> RunProgramAsync(string program, IEnumerable<string> args, int timeoutSeconds)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, await stdout, $"{program} timed out after {timeoutSeconds} s\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts server.js and waits (10 seconds at most) for the port it prints.</summary>
    public static async Task<NodeServer> StartServerAsync(string secret)
    {
        var psi = new ProcessStartInfo("node") { WorkingDirectory = Directory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("server.js");
        psi.ArgumentList.Add(secret);
        var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            if (line is null) throw new InvalidOperationException($"node server.js exited before listening: {await stderr}");
            using var json = JsonDocument.Parse(line);
            return new NodeServer(process, json.RootElement.GetProperty("port").GetInt32());
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>server.js running; disposing closes its stdin (it shuts down) and kills it if it lingers.</summary>
    public sealed class NodeServer(Process process, int port) : IAsyncDisposable
    {
        public int Port => port;

        public async ValueTask DisposeAsync()
        {
            try { process.StandardInput.Close(); } catch (Exception) { }
            try { await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(3)); }
            catch (Exception) { try { process.Kill(entireProcessTree: true); } catch (Exception) { } }
            process.Dispose();
        }
    }
}
