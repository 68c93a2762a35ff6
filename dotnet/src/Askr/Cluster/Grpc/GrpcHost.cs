// A minimal gRPC transport for the cluster wire (proto/askr/cluster/v1/cluster.proto).
//
// Why: Grpc.AspNetCore and Grpc.Net.Client cannot be installed here (their dependencies are
// missing from the NuGet mirror), while Kestrel's HTTP/2, HttpClient and Google.Protobuf are at
// hand. gRPC over HTTP/2 is a small protocol on top of those, so this folder speaks it directly.
//
// What: the subset of grpc/doc/PROTOCOL-HTTP2.md that askr's services need, wire-compatible with
// other gRPC implementations (tested against grpc-js both ways, tests-dotnet/grpc-interop):
// unary and server-streaming calls; h2c with prior knowledge or TLS; length-prefixed messages
// without compression (compressed flag 1 is refused with Unimplemented); status in trailers
// (trailers-only for errors before any message) with a percent-encoded grpc-message;
// grpc-timeout as a deadline on both sides; a size limit per message; the bearer secret of the
// cluster as the "authorization" metadata. Not implemented: client and bidirectional streaming,
// compression, binary (-bin) metadata, the +json codec, reflection, health, retries.
//
// Replaceable: the shapes follow Grpc.Core so that moving to Grpc.AspNetCore / Grpc.Net.Client
// where they exist is mechanical: handlers are Grpc.Core's UnaryServerMethod and
// ServerStreamingServerMethod delegates (ServerCallContext, IServerStreamWriter<T>), GrpcCallException
// plays RpcException, GrpcStatusCode is StatusCode, GrpcClient plays GrpcChannel plus a CallInvoker.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Askr.Cluster.Grpc.Internal;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Askr.Cluster.Grpc;

/// <summary>
/// gRPC services on one Kestrel port (HTTP/2 only: h2c with prior knowledge, or TLS with ALPN h2
/// when <see cref="GrpcHostOptions.Certificate"/> is set). Map the methods, then
/// <see cref="StartAsync"/>; calls are routed by path, <c>/askr.cluster.v1.Membership/Ping</c>.
/// </summary>
/// <remarks>
/// Outcomes without a handler's say: an unknown method ends with Unimplemented; a missing or wrong
/// secret with Unauthenticated (before the method is looked up, so that unauthenticated peers learn
/// nothing); a request that is not POST gets HTTP 405 and one whose content-type is not
/// <c>application/grpc</c> HTTP 415 (PROTOCOL-HTTP2.md); malformed framing or protobuf ends with
/// Internal, a message over <see cref="GrpcHostOptions.MaxReceiveMessageBytes"/> with
/// ResourceExhausted; a passed <c>grpc-timeout</c> ends the call with DeadlineExceeded at once
/// (the handler's token is cancelled; the host still waits for the handler before recycling the
/// request). A handler throwing <see cref="GrpcCallException"/> ends with its status; any other
/// exception with Unknown "Exception was thrown by handler." (details go to the log only).
/// </remarks>
public sealed class GrpcHost : IAsyncDisposable
{
    private readonly IPEndPoint _endpoint;
    private readonly GrpcHostOptions _options;
    private readonly Dictionary<string, ServerMethod> _methods = new(StringComparer.Ordinal);
    private readonly byte[]? _secretHash;
    private WebApplication? _app;

    /// <param name="endpoint">Where to listen; port 0 picks a free port (see <see cref="Port"/>).</param>
    public GrpcHost(IPEndPoint endpoint, GrpcHostOptions? options = null)
    {
        _endpoint = endpoint;
        _options = options ?? new GrpcHostOptions();
        if (_options.Secret is { } secret) _secretHash = SHA256.HashData(Encoding.UTF8.GetBytes("Bearer " + secret));
    }

    /// <summary>The port listened on, once started.</summary>
    public int Port { get; private set; }

    /// <summary>Maps a unary method; <paramref name="service"/> is the full name, <c>askr.cluster.v1.Membership</c>.</summary>
    public GrpcHost MapUnary<TRequest, TResponse>(string service, string method, Func<TRequest, ServerCallContext, Task<TResponse>> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
        => Map(service, method, new UnaryMethod<TRequest, TResponse>(handler));

    /// <summary>Maps a server-streaming method: one request, the messages the handler writes, then the status.</summary>
    public GrpcHost MapServerStreaming<TRequest, TResponse>(string service, string method, Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>
        => Map(service, method, new ServerStreamingMethod<TRequest, TResponse>(handler));

    private GrpcHost Map(string service, string method, ServerMethod handler)
    {
        if (_app is not null) throw new InvalidOperationException("Map the methods before StartAsync");
        if (!_methods.TryAdd($"/{service}/{method}", handler)) throw new InvalidOperationException($"/{service}/{method} is already mapped");
        return this;
    }

    /// <summary>Binds the port and starts serving; throws if the port cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // the per-message limit applies instead
            k.Listen(_endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (_options.Certificate is { } certificate) listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        app.Run(DispatchAsync);
        _app = app;
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _options.Log?.Invoke($"grpc: listening on {_endpoint.Address}:{Port} ({(_options.Certificate is null ? "h2c" : "TLS")}{(_secretHash is null && _options.Authenticate is null ? "" : ", authenticated")}, {_methods.Count} methods)");
    }

    private async Task DispatchAsync(HttpContext http)
    {
        var request = http.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return;
        }
        http.Response.ContentType = GrpcProtocol.ContentType;

        var path = request.Path.Value ?? "";
        var timeout = Timeout.InfiniteTimeSpan;
        if (request.Headers[GrpcProtocol.TimeoutHeader] is [{ } header] && GrpcTimeout.TryParse(header, out var t) && t < GrpcTimeout.Longest)
            timeout = t; // a malformed timeout is ignored, as Grpc.AspNetCore does
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var call = new ServerCallContext(http, path, timeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + timeout, cts.Token);

        if (!Authenticated(request.Headers))
        {
            await call.FinishAsync(GrpcStatusCode.Unauthenticated, "Missing or invalid cluster secret");
            return;
        }
        if (!_methods.TryGetValue(path, out var method))
        {
            await call.FinishAsync(GrpcStatusCode.Unimplemented, $"Method {path} is not implemented");
            return;
        }

        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        var run = method.RunAsync(call, _options.MaxReceiveMessageBytes);
        if (timeout != Timeout.InfiniteTimeSpan && !run.IsCompleted)
        {
            // Answer at the deadline even if the handler ignores its token; it finishes in the background.
            var expired = Task.Delay(Timeout.Infinite, cts.Token);
            if (await Task.WhenAny(run, expired) == expired && call.DeadlinePassed)
                await call.FinishAsync(GrpcStatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        GrpcStatusCode status;
        string? detail = null;
        try
        {
            await run;
            status = GrpcStatusCode.OK;
        }
        catch (GrpcCallException e)
        {
            (status, detail) = (e.Status, e.Detail);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            (status, detail) = call.DeadlinePassed ? (GrpcStatusCode.DeadlineExceeded, "Deadline Exceeded") : (GrpcStatusCode.Cancelled, "The client cancelled the call");
        }
        catch (Exception e)
        {
            _options.Log?.Invoke($"grpc: {path} from {call.Peer} failed: {e.GetType().Name}: {e.Message}");
            (status, detail) = (GrpcStatusCode.Unknown, "Exception was thrown by handler.");
        }
        await call.FinishAsync(status, detail);
    }

    private bool Authenticated(IHeaderDictionary headers)
    {
        if (_secretHash is not null)
        {
            if (headers[GrpcProtocol.AuthorizationHeader] is not [{ } given]) return false;
            // Hashing first makes the comparison constant-time in the length too.
            if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), _secretHash)) return false;
        }
        return _options.Authenticate?.Invoke(headers) ?? true;
    }

    /// <summary>Stops listening (in-flight calls get up to 2 seconds), best effort.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        try { await _app.StopAsync(TimeSpan.FromSeconds(2)); } catch (Exception) { }
        try { await _app.DisposeAsync(); } catch (Exception) { }
        _app = null;
    }

    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
