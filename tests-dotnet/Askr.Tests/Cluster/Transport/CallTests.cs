using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Askr.Cluster.Transport;
using Askr.Cluster.Wire;
using Grpc.Core;
using Grpc.Net.Client;
using static Askr.Tests.Cluster.Transport.TestClusterServer;

namespace Askr.Tests.Cluster.Transport;

/// <summary>
/// askr's cluster transport end to end: <see cref="PeerChannels"/> (Grpc.Net.Client) against
/// <see cref="ClusterServer"/> (Grpc.AspNetCore): calls, statuses, the secret, deadlines, limits,
/// transport failures, TLS with a pinned certificate.
/// </summary>
public sealed class CallTests(TestClusterServer server) : IClassFixture<TestClusterServer>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Unary_call_round_trips_the_request_and_the_handlers_answer()
    {
        using var peers = Channels();
        var gossip = new Gossip { Members = { new Member { Id = ulong.MaxValue, Address = "10.0.0.2:7001", Incarnation = 9, State = MemberState.Suspect } } };
        var ack = await peers.Membership(server.Address).PingAsync(new PingMessage { From = 1, Sequence = 42, Gossip = gossip }, peers.Call(Deadline));
        Assert.Equal(7UL, ack.From);
        Assert.Equal(42UL, ack.Sequence);
        Assert.True(ack.Ok);
        Assert.Equal(gossip, ack.Gossip);
    }

    [Fact]
    public async Task Empty_messages_are_valid_requests_and_responses()
    {
        using var peers = Channels();
        var ack = await peers.Replication(server.Address).PushAsync(new DeltaBatch(), peers.Call(Deadline));
        Assert.Equal(0U, ack.Applied); // PushAck with applied 0 serializes to zero bytes
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_in_order()
    {
        using var peers = Channels();
        var n = 0;
        using var call = peers.Replication(server.Address).Repair(new RepairRequest { Table = "users", RangeCount = 10_000 }, peers.Call(Deadline));
        await foreach (var row in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal("k" + n, row.Key.ToStringUtf8());
            Assert.Equal(n, row.Clock);
            Assert.Equal(-n, row.Columns[0].IntValue);
            n++;
        }
        Assert.Equal(10_000, n);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Server_streaming_of_nothing_ends_ok()
    {
        using var peers = Channels();
        Assert.Empty(await Collect(peers, server.Address, new RepairRequest { Table = "users", RangeCount = 0 }));
    }

    [Fact]
    public async Task Server_streaming_error_after_some_messages_reaches_the_client_after_them()
    {
        using var peers = Channels();
        var rows = new List<RowState>();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = peers.Replication(server.Address).Repair(new RepairRequest { Table = "fail-after-3", RangeCount = 10 }, peers.Call(Deadline));
            await foreach (var row in call.ResponseStream.ReadAllAsync()) rows.Add(row);
        });
        Assert.Equal(3, rows.Count);
        Assert.Equal(StatusCode.DataLoss, e.StatusCode);
        Assert.Equal("range 3 is gone", e.Status.Detail);
    }

    [Fact]
    public async Task Many_concurrent_unary_calls_share_one_channel()
    {
        using var peers = Channels();
        var membership = peers.Membership(server.Address);
        var calls = Enumerable.Range(0, 500).Select(i => membership.PingAsync(new PingMessage { Sequence = (ulong)i }, peers.Call(Deadline)).ResponseAsync);
        var acks = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (ulong)i), acks.Select(a => a.Sequence));
    }

    [Fact]
    public async Task Handler_status_and_non_ascii_message_reach_the_client()
    {
        using var peers = Channels();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership(server.Address).LeaveAsync(new LeaveNotice(), peers.Call(Deadline)));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("refusé: 100% full", e.Status.Detail);
    }

    [Fact]
    public async Task Handler_crash_is_unknown_without_its_details_is_logged_and_the_server_keeps_serving()
    {
        using var peers = Channels();
        var membership = peers.Membership(server.Address);
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await membership.LeaveAsync(new LeaveNotice { Self = new Member { Address = "boom" } }, peers.Call(Deadline)));
        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.DoesNotContain("internal detail", e.Status.Detail);
        Assert.True(await AskrServerPoll(() => server.Log().Any(line => line.Contains("internal detail that must not leak"))), string.Join('\n', server.Log()));
        await membership.PingAsync(new PingMessage(), peers.Call(Deadline));
    }

    [Fact]
    public async Task Unknown_method_and_unknown_service_are_unimplemented()
    {
        using var channel = GrpcChannel.ForAddress($"http://{server.Address}");
        var headers = new Metadata { { ClusterSecretInterceptor.MetadataKey, ClusterSecretInterceptor.MetadataValue(Secret) } };
        var invoker = channel.CreateCallInvoker();
        foreach (var (service, method) in new[] { ("askr.cluster.v1.Membership", "Pong"), ("askr.cluster.v9.Nothing", "Ping") })
        {
            var descriptor = new Method<PingMessage, Ack>(MethodType.Unary, service, method,
                Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), PingMessage.Parser.ParseFrom),
                Marshallers.Create(m => Google.Protobuf.MessageExtensions.ToByteArray(m), Ack.Parser.ParseFrom));
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await invoker.AsyncUnaryCall(descriptor, null, new CallOptions(headers, DateTime.UtcNow + Deadline), new PingMessage()));
            Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
        }
        // A method the proto declares but the service does not implement answers the same (the generated base).
        using var peers = Channels();
        var digest = await Assert.ThrowsAsync<RpcException>(async () => await peers.Replication(server.Address).DigestAsync(new DigestRequest(), peers.Call(Deadline)));
        Assert.Equal(StatusCode.Unimplemented, digest.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong")]
    [InlineData(Secret + " ")]
    [InlineData("s3cret")] // a prefix of the secret
    [InlineData(Secret + "x")]
    [InlineData("")]
    public async Task Missing_or_wrong_secret_is_unauthenticated_and_the_handler_never_runs(string? secret)
    {
        using var peers = Channels(secret);
        var before = server.HandlerCalls;
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership(server.Address).PingAsync(new PingMessage(), peers.Call(Deadline)));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        var stream = await Assert.ThrowsAsync<RpcException>(() => Collect(peers, server.Address, new RepairRequest { Table = "users", RangeCount = 3 }));
        Assert.Equal(StatusCode.Unauthenticated, stream.StatusCode);
        Assert.Equal(before, server.HandlerCalls);
    }

    [Fact]
    public async Task The_secret_given_twice_is_unauthenticated()
    {
        using var channel = GrpcChannel.ForAddress($"http://{server.Address}");
        var value = ClusterSecretInterceptor.MetadataValue(Secret);
        var headers = new Metadata { { ClusterSecretInterceptor.MetadataKey, value }, { ClusterSecretInterceptor.MetadataKey, value } };
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Membership.MembershipClient(channel).PingAsync(new PingMessage(), new CallOptions(headers, DateTime.UtcNow + Deadline)));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task Deadline_exceeded_cancels_the_handler_and_the_client_sees_deadline_exceeded()
    {
        server.ResetSignals();
        using var peers = Channels();
        var membership = peers.Membership(server.Address);
        await membership.PingAsync(new PingMessage(), peers.Call(Deadline)); // connected and warm: the deadline is spent in the handler
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await membership.JoinAsync(new JoinRequest(), peers.Call(TimeSpan.FromSeconds(1))));
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(watch.ElapsedMilliseconds >= 950, $"the call ended after {watch.ElapsedMilliseconds} ms, before its deadline");
        Assert.True(server.JoinStarted.IsCompleted, "the handler never ran:\n" + string.Join('\n', server.Log()));
        await server.JoinCancelled.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Caller_cancellation_is_cancelled_not_deadline_exceeded()
    {
        using var peers = Channels();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership(server.Address).JoinAsync(new JoinRequest(), peers.Call(Deadline, cts.Token)));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
    }

    [Fact]
    public async Task Request_over_the_size_limit_is_resource_exhausted_and_never_reaches_the_handler()
    {
        using var peers = Channels();
        var replication = peers.Replication(server.Address);
        var before = server.HandlerCalls;
        var batch = new DeltaBatch { Rows = { Row("users", new string('x', MaxRequestBytes), 1) } };
        var e = await Assert.ThrowsAsync<RpcException>(async () => await replication.PushAsync(batch, peers.Call(Deadline)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(before, server.HandlerCalls);
        // Just under the limit passes.
        var fits = new DeltaBatch { Rows = { Row("users", new string('x', MaxRequestBytes - 100), 1) } };
        Assert.Equal(1U, (await replication.PushAsync(fits, peers.Call(Deadline))).Applied);
    }

    [Fact]
    public async Task Response_over_the_clients_limit_is_resource_exhausted()
    {
        using var peers = Channels(maxReceiveMessageBytes: 1024);
        var e = await Assert.ThrowsAsync<RpcException>(() => Collect(peers, server.Address, new RepairRequest { Table = "big", RangeCount = 2 }));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task Dead_port_is_unavailable()
    {
        var port = FreePort();
        using var peers = Channels();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership($"127.0.0.1:{port}").PingAsync(new PingMessage(), peers.Call(Deadline)));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        var stream = await Assert.ThrowsAsync<RpcException>(() => Collect(peers, $"127.0.0.1:{port}", new RepairRequest { RangeCount = 1 }));
        Assert.Equal(StatusCode.Unavailable, stream.StatusCode);
    }

    [Fact]
    public async Task Address_that_is_not_host_and_port_is_unavailable()
    {
        using var peers = Channels();
        var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership("not an address:port").PingAsync(new PingMessage(), peers.Call(Deadline)));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public async Task Peer_that_accepts_but_never_answers_is_deadline_exceeded()
    {
        // A TCP listener that never speaks HTTP/2: the connection opens, no answer comes.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            using var peers = Channels();
            var address = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
            var e = await Assert.ThrowsAsync<RpcException>(async () => await peers.Membership(address).PingAsync(new PingMessage(), peers.Call(TimeSpan.FromMilliseconds(300))));
            Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task A_peer_that_was_down_for_seconds_is_reached_again_soon_after_it_comes_back()
    {
        // gRPC's default reconnect backoff would by now wait seconds before the next attempt
        // (1 s, growing 1.6x); askr caps it at the probe interval, so SWIM's next probe gets through.
        var port = FreePort();
        var address = $"127.0.0.1:{port}";
        using var peers = Channels();
        var membership = peers.Membership(address);
        var down = Stopwatch.StartNew();
        while (down.Elapsed < TimeSpan.FromSeconds(5))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await membership.PingAsync(new PingMessage(), peers.Call(TimeSpan.FromMilliseconds(200))));
            Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded, e.ToString());
            await Task.Delay(100);
        }
        await using var back = await StartAsync(null, new ClusterServerOptions { Secret = Secret }, new IPEndPoint(IPAddress.Loopback, port));
        var reached = await AskrServerPoll(async () =>
        {
            try { return (await membership.PingAsync(new PingMessage { Sequence = 3 }, peers.Call(TimeSpan.FromMilliseconds(500)))).Sequence == 3; }
            catch (RpcException) { return false; }
        }, TimeSpan.FromSeconds(3));
        Assert.True(reached, "the peer was not reached within 3 s of listening again");
    }

    [Fact]
    public async Task Tls_with_a_pinned_certificate_serves_calls_and_other_clients_are_refused()
    {
        using var certificate = SelfSigned();
        await using var tls = await StartAsync(null, new ClusterServerOptions { Secret = Secret, Certificate = certificate });
        var address = $"127.0.0.1:{tls.Port}";
        using (var pinned = new PeerChannels(new PeerChannelOptions { Secret = Secret, PinnedCertificate = certificate }))
        {
            var ack = await pinned.Membership(address).PingAsync(new PingMessage { Sequence = 5 }, pinned.Call(Deadline));
            Assert.Equal(5UL, ack.Sequence);
            Assert.Equal(3, (await Collect(pinned, address, new RepairRequest { Table = "t", RangeCount = 3 })).Count);
        }

        // A client that pins another certificate does not trust this peer.
        using var other = SelfSigned();
        using (var wrongPin = new PeerChannels(new PeerChannelOptions { Secret = Secret, PinnedCertificate = other }))
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await wrongPin.Membership(address).PingAsync(new PingMessage(), wrongPin.Call(Deadline)));
            // Grpc.Net.Client reports the failed TLS handshake as Internal ("The SSL connection could not be established").
            Assert.Equal(StatusCode.Internal, e.StatusCode);
            Assert.Contains("SSL", e.Status.DebugException?.Message ?? e.Status.Detail);
        }

        // A client speaking h2c gets no gRPC answer from the TLS port.
        using (var plain = Channels())
        {
            var e = await Assert.ThrowsAsync<RpcException>(async () => await plain.Membership(address).PingAsync(new PingMessage(), plain.Call(Deadline)));
            Assert.NotEqual(StatusCode.OK, e.StatusCode);
        }
    }

    private static async Task<List<RowState>> Collect(PeerChannels peers, string address, RepairRequest request)
    {
        var rows = new List<RowState>();
        using var call = peers.Replication(address).Repair(request, peers.Call(Deadline));
        await foreach (var row in call.ResponseStream.ReadAllAsync()) rows.Add(row);
        return rows;
    }

    private static Task<bool> AskrServerPoll(Func<bool> condition) => AskrServerPoll(() => Task.FromResult(condition()), TimeSpan.FromSeconds(5));

    private static Task<bool> AskrServerPoll(Func<Task<bool>> condition, TimeSpan timeout) => Support.AskrServer.EventuallyAsync(condition, timeout);

    private static int FreePort() => Support.AskrServer.FreePort();

    internal static X509Certificate2 SelfSigned()
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
