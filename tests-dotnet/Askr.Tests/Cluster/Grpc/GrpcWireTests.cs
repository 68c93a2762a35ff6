using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Askr.Cluster.Wire;
using Google.Protobuf;
using static Askr.Tests.Cluster.Grpc.GrpcTestHost;

namespace Askr.Tests.Cluster.Grpc;

/// <summary>
/// <see cref="Askr.Cluster.Grpc.GrpcHost"/> as a raw HTTP/2 client sees it: the exact headers and
/// trailers of PROTOCOL-HTTP2.md, and malformed requests answered with a gRPC status, never a crash.
/// </summary>
public sealed class GrpcWireTests(GrpcTestHost server) : IClassFixture<GrpcTestHost>, IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false });

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Ok_response_has_grpc_content_type_one_framed_message_and_status_in_trailers()
    {
        var response = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage { Sequence = 9 }));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.False(response.Headers.ContainsKey("grpc-status"));
        Assert.Equal("0", response.Trailers["grpc-status"]);
        Assert.Equal(0, response.Body[0]);
        Assert.Equal(response.Body.Length - 5, BinaryPrimitives.ReadInt32BigEndian(response.Body.AsSpan(1)));
        Assert.Equal(9UL, Ack.Parser.ParseFrom(response.Body.AsSpan(5)).Sequence);
    }

    [Fact]
    public async Task Error_before_any_message_is_trailers_only()
    {
        var response = await Post("/askr.cluster.v1.Membership/Nope", Frame(new PingMessage()));
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("application/grpc", response.ContentType);
        Assert.Equal("12", response.Headers["grpc-status"]);
        Assert.Contains("/askr.cluster.v1.Membership/Nope", response.Headers["grpc-message"]);
        Assert.Empty(response.Body);
        Assert.Empty(response.Trailers);
    }

    [Fact]
    public async Task Grpc_message_is_percent_encoded_utf8()
    {
        var response = await Post("/askr.cluster.v1.Membership/Leave", Frame(new LeaveNotice()));
        Assert.Equal("7", response.Headers["grpc-status"]);
        Assert.Equal("refus%C3%A9: 100%25 full", response.Headers["grpc-message"]);
    }

    [Fact]
    public async Task Content_type_grpc_proto_is_accepted()
    {
        var response = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), contentType: "application/grpc+proto");
        Assert.Equal("0", response.Trailers["grpc-status"]);
    }

    [Fact]
    public async Task Non_grpc_content_type_is_http_415_and_get_is_http_405()
    {
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), contentType: "application/json")).Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), contentType: "application/grpc+json")).Status);
        using var get = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{server.Port}/askr.cluster.v1.Membership/Ping") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await _http.SendAsync(get);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    public static TheoryData<string, byte[], string> MalformedRequests => new()
    {
        { "length prefix longer than the body", [0, 0, 0, 0, 100, 1, 2, 3], "13" },
        { "body shorter than a prefix", [0, 0, 0], "13" },
        { "no message at all", [], "13" },
        { "protobuf that does not parse", [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF], "13" },
        { "truncated varint", [0, 0, 0, 0, 2, 0x10, 0x80], "13" },
        { "compressed flag without grpc-encoding", [1, 0, 0, 0, 0], "12" },
        { "compressed flag neither 0 nor 1", [7, 0, 0, 0, 0], "13" },
        { "two messages to a unary method", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "13" },
        { "length over the limit", [0, 0x7F, 0xFF, 0xFF, 0xFF], "8" },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task Malformed_request_gets_a_grpc_error_and_the_server_keeps_serving(string what, byte[] body, string status)
    {
        var before = server.HandlerCalls;
        var response = await Post("/askr.cluster.v1.Membership/Ping", body);
        Assert.True(response.Status == HttpStatusCode.OK, what);
        Assert.Equal(status, response.Headers.GetValueOrDefault("grpc-status"));
        Assert.Equal(before, server.HandlerCalls);
        var ok = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage { Sequence = 1 }));
        Assert.Equal("0", ok.Trailers["grpc-status"]);
    }

    [Fact]
    public async Task Server_answers_deadline_exceeded_on_time_even_when_the_handler_ignores_its_token()
    {
        server.ResetSignals();
        var watch = Stopwatch.StartNew();
        var response = await Post("/askr.cluster.v1.Membership/PingReq", Frame(new PingRequest()), timeout: "200m");
        Assert.Equal("4", response.Headers["grpc-status"]);
        Assert.InRange(watch.ElapsedMilliseconds, 150, 5000);
        server.ReleasePingReq();
        // The late handler's answer goes nowhere, and the next call is served.
        var ok = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()));
        Assert.Equal("0", ok.Trailers["grpc-status"]);
    }

    [Theory]
    [InlineData("1n")]
    [InlineData("0m")]
    [InlineData("1u")]
    public async Task Tiny_grpc_timeouts_expire(string timeout)
    {
        var response = await Post("/askr.cluster.v1.Membership/Join", Frame(new JoinRequest()), timeout: timeout);
        Assert.Equal("4", response.Headers.GetValueOrDefault("grpc-status") ?? response.Trailers.GetValueOrDefault("grpc-status"));
    }

    [Fact]
    public async Task Malformed_grpc_timeout_is_ignored()
    {
        var response = await Post("/askr.cluster.v1.Membership/Ping", Frame(new PingMessage()), timeout: "soon");
        Assert.Equal("0", response.Trailers["grpc-status"]);
    }

    [Fact]
    public async Task Streaming_response_carries_each_message_framed_then_the_status()
    {
        var response = await Post("/askr.cluster.v1.Replication/Repair", Frame(new RepairRequest { Table = "t", RangeCount = 3 }));
        var body = response.Body.AsSpan();
        for (var i = 0; i < 3; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(body[1..]);
            Assert.Equal("k" + i, RowState.Parser.ParseFrom(body.Slice(5, length)).Key.ToStringUtf8());
            body = body[(5 + length)..];
        }
        Assert.True(body.IsEmpty);
        Assert.Equal("0", response.Trailers["grpc-status"]);
    }

    private static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var framed = new byte[5 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    private sealed record RawResponse(HttpStatusCode Status, string? ContentType, Dictionary<string, string> Headers, Dictionary<string, string> Trailers, byte[] Body);

    private async Task<RawResponse> Post(string path, byte[] body, string contentType = "application/grpc", string? timeout = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.Port}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + Secret);
        request.Headers.TE.ParseAdd("trailers");
        if (timeout is not null) request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var response = await _http.SendAsync(request, cts.Token);
        var bytes = await response.Content.ReadAsByteArrayAsync(cts.Token);
        return new RawResponse(response.StatusCode, response.Content.Headers.ContentType?.ToString(),
            response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value)),
            response.TrailingHeaders.ToDictionary(h => h.Key, h => string.Join(",", h.Value)),
            bytes);
    }
}
