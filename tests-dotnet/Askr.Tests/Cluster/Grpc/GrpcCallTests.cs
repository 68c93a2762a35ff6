using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Askr.Cluster.Grpc;
using Askr.Cluster.Wire;
using static Askr.Tests.Cluster.Grpc.GrpcTestHost;

namespace Askr.Tests.Cluster.Grpc;

/// <summary><see cref="GrpcClient"/> against <see cref="GrpcHost"/>: calls, statuses, deadlines, limits, transport failures.</summary>
public sealed class GrpcCallTests(GrpcTestHost server) : IClassFixture<GrpcTestHost>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Unary_call_round_trips_the_request_and_the_handlers_answer()
    {
        using var client = server.Client();
        var gossip = new Gossip { Members = { new Member { Id = ulong.MaxValue, Address = "10.0.0.2:7001", Incarnation = 9, State = MemberState.Suspect } } };
        var ack = await client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage { From = 1, Sequence = 42, Gossip = gossip }, Deadline);
        Assert.Equal(7UL, ack.From);
        Assert.Equal(42UL, ack.Sequence);
        Assert.True(ack.Ok);
        Assert.Equal(gossip, ack.Gossip);
    }

    [Fact]
    public async Task Empty_messages_are_valid_requests_and_responses()
    {
        using var client = server.Client();
        var ack = await client.UnaryAsync<DeltaBatch, PushAck>(Replication, "Push", new DeltaBatch(), Deadline);
        Assert.Equal(0U, ack.Applied); // PushAck with applied 0 serializes to zero bytes
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_in_order()
    {
        using var client = server.Client();
        var n = 0;
        await foreach (var row in client.ServerStreamingAsync<RepairRequest, RowState>(Replication, "Repair", new RepairRequest { Table = "users", RangeCount = 10_000 }, Deadline))
        {
            Assert.Equal("k" + n, row.Key.ToStringUtf8());
            Assert.Equal(n, row.Clock);
            Assert.Equal(-n, row.Columns[0].IntValue);
            n++;
        }
        Assert.Equal(10_000, n);
    }

    [Fact]
    public async Task Server_streaming_of_nothing_ends_ok()
    {
        using var client = server.Client();
        var rows = await Collect(client, new RepairRequest { Table = "users", RangeCount = 0 });
        Assert.Empty(rows);
    }

    [Fact]
    public async Task Server_streaming_error_after_some_messages_reaches_the_client_after_them()
    {
        using var client = server.Client();
        var rows = new List<RowState>();
        var e = await Assert.ThrowsAsync<GrpcCallException>(async () =>
        {
            await foreach (var row in client.ServerStreamingAsync<RepairRequest, RowState>(Replication, "Repair", new RepairRequest { Table = "fail-after-3", RangeCount = 10 }, Deadline))
                rows.Add(row);
        });
        Assert.Equal(3, rows.Count);
        Assert.Equal(GrpcStatusCode.DataLoss, e.Status);
        Assert.Equal("range 3 is gone", e.Detail);
    }

    [Fact]
    public async Task Many_concurrent_unary_calls_share_one_client()
    {
        using var client = server.Client();
        var calls = Enumerable.Range(0, 500).Select(i => client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage { Sequence = (ulong)i }, Deadline));
        var acks = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (ulong)i), acks.Select(a => a.Sequence));
    }

    [Fact]
    public async Task Handler_status_and_non_ascii_message_reach_the_client()
    {
        using var client = server.Client();
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<LeaveNotice, Ack>(Membership, "Leave", new LeaveNotice(), Deadline));
        Assert.Equal(GrpcStatusCode.PermissionDenied, e.Status);
        Assert.Equal("refusé: 100% full", e.Detail);
        Assert.False(e.IsUnreachable);
        Assert.Contains("/askr.cluster.v1.Membership/Leave", e.Message);
    }

    [Fact]
    public async Task Handler_crash_is_unknown_without_its_details_and_the_server_keeps_serving()
    {
        using var client = server.Client();
        var e = await Assert.ThrowsAsync<GrpcCallException>(() =>
            client.UnaryAsync<LeaveNotice, Ack>(Membership, "Leave", new LeaveNotice { Self = new Member { Address = "boom" } }, Deadline));
        Assert.Equal(GrpcStatusCode.Unknown, e.Status);
        Assert.DoesNotContain("internal detail", e.Detail);
        lock (server.Log) Assert.Contains(server.Log, line => line.Contains("internal detail that must not leak"));
        await client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage(), Deadline);
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        using var client = server.Client();
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<PingMessage, Ack>(Membership, "Pong", new PingMessage(), Deadline));
        Assert.Equal(GrpcStatusCode.Unimplemented, e.Status);
        e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<PingMessage, Ack>("askr.cluster.v9.Nothing", "Ping", new PingMessage(), Deadline));
        Assert.Equal(GrpcStatusCode.Unimplemented, e.Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    [InlineData("s3cret ")]
    [InlineData("")]
    public async Task Missing_or_wrong_secret_is_unauthenticated_and_the_handler_never_runs(string? secret)
    {
        using var client = server.Client(secret);
        var before = server.HandlerCalls;
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage(), Deadline));
        Assert.Equal(GrpcStatusCode.Unauthenticated, e.Status);
        Assert.False(e.IsUnreachable);
        var stream = await Assert.ThrowsAsync<GrpcCallException>(() => Collect(client, new RepairRequest { Table = "users", RangeCount = 3 }));
        Assert.Equal(GrpcStatusCode.Unauthenticated, stream.Status);
        Assert.Equal(before, server.HandlerCalls);
    }

    [Fact]
    public async Task Deadline_exceeded_cancels_the_handler_and_the_client_sees_deadline_exceeded()
    {
        server.ResetSignals();
        using var client = server.Client();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<JoinRequest, JoinResponse>(Membership, "Join", new JoinRequest(), TimeSpan.FromMilliseconds(300)));
        Assert.Equal(GrpcStatusCode.DeadlineExceeded, e.Status);
        Assert.True(e.IsUnreachable);
        Assert.InRange(watch.ElapsedMilliseconds, 250, 5000);
        await server.JoinCancelled.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Caller_cancellation_is_cancelled_not_deadline_exceeded()
    {
        using var client = server.Client();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<JoinRequest, JoinResponse>(Membership, "Join", new JoinRequest(), Deadline, cts.Token));
        Assert.Equal(GrpcStatusCode.Cancelled, e.Status);
    }

    [Fact]
    public async Task Request_over_the_size_limit_is_resource_exhausted_and_never_reaches_the_handler()
    {
        using var client = server.Client();
        var before = server.HandlerCalls;
        var batch = new DeltaBatch { Rows = { Row("users", new string('x', MaxRequestBytes), 1) } };
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<DeltaBatch, PushAck>(Replication, "Push", batch, Deadline));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.Status);
        Assert.Equal(before, server.HandlerCalls);
        // Just under the limit passes.
        var fits = new DeltaBatch { Rows = { Row("users", new string('x', MaxRequestBytes - 100), 1) } };
        Assert.Equal(1U, (await client.UnaryAsync<DeltaBatch, PushAck>(Replication, "Push", fits, Deadline)).Applied);
    }

    [Fact]
    public async Task Response_over_the_clients_limit_is_resource_exhausted()
    {
        using var client = server.Client(options: new GrpcClientOptions { MaxReceiveMessageBytes = 1024 });
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => Collect(client, new RepairRequest { Table = "big", RangeCount = 2 }));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.Status);
    }

    [Fact]
    public async Task Dead_port_is_unavailable_and_counts_as_unreachable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"), Secret);
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage(), Deadline));
        Assert.Equal(GrpcStatusCode.Unavailable, e.Status);
        Assert.True(e.IsUnreachable);
        Assert.Contains($"127.0.0.1:{port}", e.Message);
        var stream = await Assert.ThrowsAsync<GrpcCallException>(() => Collect(client, new RepairRequest { RangeCount = 1 }));
        Assert.Equal(GrpcStatusCode.Unavailable, stream.Status);
    }

    [Fact]
    public async Task Peer_that_accepts_but_never_answers_is_deadline_exceeded()
    {
        // A TCP listener that never speaks HTTP/2: the connection opens, no answer comes.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}"), Secret);
            var e = await Assert.ThrowsAsync<GrpcCallException>(() => client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage(), TimeSpan.FromMilliseconds(300)));
            Assert.Equal(GrpcStatusCode.DeadlineExceeded, e.Status);
            Assert.True(e.IsUnreachable);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task Tls_with_a_configured_certificate_serves_calls_to_a_client_that_trusts_it()
    {
        using var certificate = SelfSigned();
        await using var host = Map(new GrpcHost(new IPEndPoint(IPAddress.Loopback, 0), new GrpcHostOptions { Secret = Secret, Certificate = certificate }));
        await host.StartAsync();
        var trusted = new GrpcClientOptions { ServerCertificateValidation = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString() };
        using var client = new GrpcClient(new Uri($"https://127.0.0.1:{host.Port}"), Secret, trusted);
        var ack = await client.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage { Sequence = 5 }, Deadline);
        Assert.Equal(5UL, ack.Sequence);
        Assert.Equal(3, (await Collect(client, new RepairRequest { Table = "t", RangeCount = 3 })).Count);

        // A client that does not trust the certificate cannot reach the peer.
        using var untrusting = new GrpcClient(new Uri($"https://127.0.0.1:{host.Port}"), Secret);
        var e = await Assert.ThrowsAsync<GrpcCallException>(() => untrusting.UnaryAsync<PingMessage, Ack>(Membership, "Ping", new PingMessage(), Deadline));
        Assert.Equal(GrpcStatusCode.Unavailable, e.Status);
    }

    private static async Task<List<RowState>> Collect(GrpcClient client, RepairRequest request)
    {
        var rows = new List<RowState>();
        await foreach (var row in client.ServerStreamingAsync<RepairRequest, RowState>(Replication, "Repair", request, Deadline)) rows.Add(row);
        return rows;
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=askr-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}
