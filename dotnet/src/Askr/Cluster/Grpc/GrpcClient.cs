using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Askr.Cluster.Grpc.Internal;
using Google.Protobuf;

namespace Askr.Cluster.Grpc;

/// <summary>
/// Calls the gRPC services of one peer over HTTP/2 (h2c with prior knowledge for <c>http://</c>,
/// TLS for <c>https://</c>), through one pooled <see cref="SocketsHttpHandler"/>; thread-safe, meant
/// to live as long as the peer is known. Every failure is a <see cref="GrpcCallException"/>: the
/// peer's status when it answered, Unavailable when it could not be reached or the connection
/// broke, DeadlineExceeded when the deadline passed, Cancelled when the caller's token fired.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private static readonly MediaTypeHeaderValue s_contentType = new(GrpcProtocol.ContentType);
    private static readonly TransferCodingWithQualityHeaderValue s_trailers = new("trailers");

    private readonly HttpMessageInvoker _http;
    private readonly string? _authorization;
    private readonly int _maxReceiveMessageBytes;

    /// <param name="address">The peer's endpoint, <c>http://10.0.0.2:7001</c> (h2c) or <c>https://...</c>.</param>
    /// <param name="secret">The cluster secret, sent as <c>authorization: Bearer &lt;secret&gt;</c>; null for none.</param>
    public GrpcClient(Uri address, string? secret, GrpcClientOptions? options = null)
    {
        options ??= new GrpcClientOptions();
        Address = address;
        _authorization = secret is null ? null : "Bearer " + secret;
        _maxReceiveMessageBytes = options.MaxReceiveMessageBytes;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            UseProxy = false, // cluster traffic goes straight to the peer
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        if (options.ServerCertificateValidation is { } validate) handler.SslOptions.RemoteCertificateValidationCallback = validate;
        _http = new HttpMessageInvoker(handler);
    }

    /// <summary>The peer's endpoint.</summary>
    public Uri Address { get; }

    /// <summary>A unary call: one request, one response.</summary>
    /// <param name="service">Full service name, <c>askr.cluster.v1.Membership</c>.</param>
    /// <param name="deadline">Time allowed for the whole call, sent as <c>grpc-timeout</c>; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <exception cref="GrpcCallException">Any failure, see the class remarks.</exception>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(string service, string method, TRequest request, TimeSpan deadline, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = await StartAsync(service, method, request, deadline, cancellationToken);
        var response = await call.ReadAsync<TResponse>();
        if (response is null)
        {
            call.ThrowUnlessOk();
            throw call.Error(GrpcStatusCode.Internal, "The peer answered OK without a response message");
        }
        if (await call.ReadAsync<TResponse>() is not null) throw call.Error(GrpcStatusCode.Internal, "The peer sent more than one response message to a unary call");
        call.ThrowUnlessOk();
        return response;
    }

    /// <summary>A server-streaming call: one request, then the peer's messages as they arrive; the status is checked at the end.</summary>
    /// <param name="deadline">Time allowed for the whole stream, sent as <c>grpc-timeout</c>; <see cref="Timeout.InfiniteTimeSpan"/> for none.</param>
    /// <exception cref="GrpcCallException">Any failure, see the class remarks; possibly after some messages were yielded.</exception>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(string service, string method, TRequest request, TimeSpan deadline,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>, new()
    {
        using var call = await StartAsync(service, method, request, deadline, cancellationToken);
        while (await call.ReadAsync<TResponse>() is { } message) yield return message;
        call.ThrowUnlessOk();
    }

    private async Task<ClientCall> StartAsync(string service, string method, IMessage request, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var target = new Uri(Address, $"/{service}/{method}");
        var message = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcFraming.Frame(request)),
        };
        message.Content.Headers.ContentType = s_contentType;
        message.Headers.TE.Add(s_trailers);
        message.Headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        message.Headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, "identity");
        if (_authorization is not null) message.Headers.TryAddWithoutValidation(GrpcProtocol.AuthorizationHeader, _authorization);

        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var call = new ClientCall(target.ToString(), deadline, cts, cancellationToken, _maxReceiveMessageBytes);
        if (deadline != Timeout.InfiniteTimeSpan)
        {
            if (deadline <= TimeSpan.Zero)
            {
                message.Dispose();
                call.Dispose();
                throw call.Error(GrpcStatusCode.DeadlineExceeded, "The deadline had passed before the call started");
            }
            message.Headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(deadline));
            if (deadline < GrpcTimeout.Longest) cts.CancelAfter(deadline);
        }
        try
        {
            await call.SendAsync(_http, message);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>One call in flight: the response, its body as a pipe, the deadline.</summary>
    private sealed class ClientCall(string target, TimeSpan deadline, CancellationTokenSource cts, CancellationToken callerToken, int maxReceiveMessageBytes) : IDisposable
    {
        private HttpRequestMessage? _request;
        private HttpResponseMessage? _response;
        private PipeReader? _body;

        public async Task SendAsync(HttpMessageInvoker http, HttpRequestMessage request)
        {
            _request = request;
            try
            {
                _response = await http.SendAsync(request, cts.Token);
            }
            catch (Exception e)
            {
                throw Translate(e);
            }
            if (_response.StatusCode != HttpStatusCode.OK)
                throw Error(FromHttpStatus(_response.StatusCode), $"HTTP status {(int)_response.StatusCode} {_response.ReasonPhrase}");
            // Trailers-only: the status came with the headers, there is no body.
            if (_response.Headers.TryGetValues(GrpcProtocol.StatusHeader, out _)) ThrowUnlessOk(_response.Headers);
            if (!GrpcProtocol.IsGrpcContentType(_response.Content.Headers.ContentType?.ToString()))
                throw Error(GrpcStatusCode.Internal, $"Response content-type is not application/grpc: '{_response.Content.Headers.ContentType}'");
            try
            {
                _body = PipeReader.Create(await _response.Content.ReadAsStreamAsync(cts.Token));
            }
            catch (Exception e)
            {
                throw Translate(e);
            }
        }

        /// <summary>The next message, or null at the end of the body (or of a trailers-only response).</summary>
        public async ValueTask<T?> ReadAsync<T>() where T : class, IMessage<T>, new()
        {
            if (_body is null) return null;
            try
            {
                return await GrpcFraming.ReadMessageAsync<T>(_body, maxReceiveMessageBytes, cts.Token);
            }
            catch (Exception e)
            {
                throw Translate(e);
            }
        }

        /// <summary>After the body: throws unless the trailers (or trailers-only headers) say OK.</summary>
        public void ThrowUnlessOk()
        {
            var headers = _response!.Headers.Contains(GrpcProtocol.StatusHeader) ? _response.Headers : _response.TrailingHeaders;
            ThrowUnlessOk(headers);
        }

        private void ThrowUnlessOk(HttpHeaders headers)
        {
            if (!headers.TryGetValues(GrpcProtocol.StatusHeader, out var values) || values.FirstOrDefault() is not { } text)
                throw Error(GrpcStatusCode.Internal, "The response ended without a grpc-status");
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var status))
                throw Error(GrpcStatusCode.Internal, $"Unparsable grpc-status '{text}'");
            if (status == 0) return;
            var detail = headers.TryGetValues(GrpcProtocol.MessageHeader, out var m) ? GrpcMessageText.Decode(m.FirstOrDefault()) : "";
            throw Error((GrpcStatusCode)status, detail);
        }

        public GrpcCallException Error(GrpcStatusCode status, string detail, Exception? inner = null) => new(status, detail, target, inner);

        private GrpcCallException Translate(Exception e)
        {
            if (e is GrpcCallException g) return g.Target is null ? Error(g.Status, g.Detail, g) : g;
            if (callerToken.IsCancellationRequested) return Error(GrpcStatusCode.Cancelled, "Cancelled by the caller", e);
            if (cts.IsCancellationRequested) return Error(GrpcStatusCode.DeadlineExceeded, $"No answer within the deadline of {deadline.TotalMilliseconds:0} ms", e);
            // A reset stream carries an HTTP/2 error code (PROTOCOL-HTTP2.md, "Errors").
            for (var inner = e; inner is not null; inner = inner.InnerException)
            {
                if (inner is HttpProtocolException p)
                {
                    return p.ErrorCode switch
                    {
                        0x7 => Error(GrpcStatusCode.Unavailable, "Stream refused (REFUSED_STREAM)", e),
                        0x8 => Error(GrpcStatusCode.Cancelled, "Stream cancelled by the peer (CANCEL)", e),
                        0xb => Error(GrpcStatusCode.ResourceExhausted, "The peer asked to slow down (ENHANCE_YOUR_CALM)", e),
                        0xc => Error(GrpcStatusCode.PermissionDenied, "Inadequate security (INADEQUATE_SECURITY)", e),
                        _ => Error(GrpcStatusCode.Internal, $"HTTP/2 error 0x{p.ErrorCode:x}: {p.Message}", e),
                    };
                }
            }
            // Refused or broken connections; a connect timeout (ConnectTimeout) surfaces as a cancellation of neither token.
            if (e is HttpRequestException or IOException or OperationCanceledException or TimeoutException)
                return Error(GrpcStatusCode.Unavailable, $"Peer unreachable: {e.Message}{(e.InnerException is { } i ? " (" + i.Message + ")" : "")}", e);
            return Error(GrpcStatusCode.Unknown, $"{e.GetType().Name}: {e.Message}", e);
        }

        /// <summary>The gRPC code for a non-200 HTTP status (PROTOCOL-HTTP2.md, http-grpc-status-mapping.md).</summary>
        private static GrpcStatusCode FromHttpStatus(HttpStatusCode status) => (int)status switch
        {
            400 => GrpcStatusCode.Internal,
            401 => GrpcStatusCode.Unauthenticated,
            403 => GrpcStatusCode.PermissionDenied,
            404 => GrpcStatusCode.Unimplemented,
            429 or 502 or 503 or 504 => GrpcStatusCode.Unavailable,
            _ => GrpcStatusCode.Unknown,
        };

        public void Dispose()
        {
            _body?.Complete();
            _response?.Dispose();
            _request?.Dispose();
            cts.Dispose();
        }
    }
}
