using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Askr.Cluster.Transport;
using Askr.Cluster.Wire;
using Google.Protobuf;
using static Askr.Tests.Cluster.Transport.TestClusterServer;

namespace Askr.Tests.Cluster.Transport;

/// <summary>
/// What a peer that does not speak gRPC properly gets from the cluster endpoint: raw HTTP/2
/// requests with bad bodies, headers or methods are answered (a gRPC status, or the HTTP status
/// gRPC's PROTOCOL-HTTP2.md names), never reach a handler, and the endpoint goes on serving.
/// </summary>
public sealed class MalformedRequestTests(TestClusterServer server) : IClassFixture<TestClusterServer>, IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false });

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Grpc.AspNetCore's answer to a request message that does not parse: UNKNOWN ("Exception was
    /// thrown by handler.", the parser's exception goes to the log), where grpc-core says INTERNAL.
    /// </summary>
    public const string UnparsableMessageStatus = "2";

    public static TheoryData<string, byte[], string> MalformedBodies => new()
    {
        // what, request body, grpc-status Grpc.AspNetCore answers with
        { "length prefix longer than the body", [0, 0, 0, 0, 100, 1, 2, 3], "13" },
        { "body shorter than a prefix", [0, 0, 0], "13" },
        { "no message at all", [], "13" },
        { "protobuf that does not parse", [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], UnparsableMessageStatus },
        { "truncated varint", [0, 0, 0, 0, 2, 0x10, 0x80], UnparsableMessageStatus },
        { "compressed flag without grpc-encoding", [1, 0, 0, 0, 0], "13" },
        { "two messages to a unary method", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "13" },
        { "length over the limit", [0, 0x7F, 0xFF, 0xFF, 0xFF], "8" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_request_body_gets_a_grpc_error_and_the_server_keeps_serving(string what, byte[] body, string status)
    {
        var before = server.HandlerCalls;
        var response = await Post("/askr.cluster.v1.Membership/Ping", body);
        Assert.True(response.Status == HttpStatusCode.OK, $"{what}: HTTP {(int)response.Status}");
        Assert.Equal(status, response.GrpcStatus);
        Assert.Equal(before, server.HandlerCalls);
        await AssertStillServing();
    }

    [Fact]
    public async Task Malformed_streaming_request_gets_a_grpc_error_and_the_server_keeps_serving()
    {
        var before = server.HandlerCalls;
        var response = await Post("/askr.cluster.v1.Replication/Repair", [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF]);
        Assert.Equal(UnparsableMessageStatus, response.GrpcStatus);
        Assert.Equal(before, server.HandlerCalls);
        await AssertStillServing();
    }

    [Fact]
    public async Task Non_grpc_content_type_is_http_415_and_get_is_not_served()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), contentType: "application/json")).Status);
        using var get = new HttpRequestMessage(HttpMethod.Get, $"http://{server.Address}/askr.cluster.v1.Membership/Ping") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await _http.SendAsync(get);
        Assert.True(response.StatusCode is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotFound, $"GET answered HTTP {(int)response.StatusCode}");
        await AssertStillServing();
    }

    [Fact]
    public async Task Garbage_without_the_secret_never_reaches_a_handler_either()
    {
        var before = server.HandlerCalls;
        var response = await Post("/askr.cluster.v1.Replication/Push", Frame(new DeltaBatch { Rows = { Row("t", "k", 1) } }), secret: null);
        Assert.Equal("16", response.GrpcStatus);
        response = await Post("/askr.cluster.v1.Replication/Push", [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], secret: null);
        Assert.NotEqual("0", response.GrpcStatus);
        Assert.Equal(before, server.HandlerCalls);
    }

    [Fact]
    public async Task Server_answers_deadline_exceeded_on_time_even_when_the_handler_ignores_its_token()
    {
        server.ResetSignals();
        var response = await Post("/askr.cluster.v1.Membership/PingReq", Frame(new PingRequest()), timeout: "200m");
        Assert.Equal("4", response.GrpcStatus);
        server.ReleasePingReq();
        await AssertStillServing();
    }

    [Fact]
    public async Task Malformed_grpc_timeout_is_ignored()
    {
        var response = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), timeout: "soon");
        Assert.Equal("0", response.GrpcStatus);
    }

    private async Task AssertStillServing()
    {
        var ok = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage { Sequence = 1 }));
        Assert.Equal("0", ok.GrpcStatus);
        Assert.Equal(1UL, Ack.Parser.ParseFrom(ok.Body.AsSpan(5)).Sequence);
    }

    private static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var framed = new byte[5 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    /// <summary>An answer as HTTP/2 carried it; <see cref="GrpcStatus"/> from the trailers, or the headers of a trailers-only answer.</summary>
    private sealed record RawResponse(HttpStatusCode Status, string? GrpcStatus, byte[] Body);

    private async Task<RawResponse> Post(string path, byte[] body, string contentType = "application/grpc", string? timeout = null, string? secret = Secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{server.Address}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (secret is not null) request.Headers.TryAddWithoutValidation(ClusterSecretInterceptor.MetadataKey, ClusterSecretInterceptor.MetadataValue(secret));
        request.Headers.TE.ParseAdd("trailers");
        if (timeout is not null) request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await _http.SendAsync(request, cts.Token);
        var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token);
        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.First()
            : response.Headers.TryGetValues("grpc-status", out var h) ? h.First() : null;
        return new RawResponse(response.StatusCode, status, bytes);
    }
}
