using System.IO.Pipelines;
using Askr.Cluster.Grpc.Internal;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Askr.Cluster.Grpc;

/// <summary>Writes the messages of a server-streaming response (as <c>Grpc.Core.IServerStreamWriter</c>).</summary>
public interface IServerStreamWriter<in T>
{
    /// <summary>
    /// Sends one message and flushes it. Not concurrently with itself. Throws
    /// <see cref="OperationCanceledException"/> once the call is over (deadline passed, client gone).
    /// </summary>
    Task WriteAsync(T message);
}

/// <summary>One call on the server, as its handler sees it (the subset of <c>Grpc.Core.ServerCallContext</c> askr uses).</summary>
public sealed class ServerCallContext
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _messageWritten;
    private bool _finished;

    internal ServerCallContext(HttpContext http, string method, DateTime deadline, CancellationToken cancellationToken)
    {
        HttpContext = http;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The full method name, <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>The client's address, as <c>ipv4:127.0.0.1:5000</c> (the gRPC naming).</summary>
    public string Peer => HttpContext.Connection.RemoteIpAddress is { } ip
        ? $"{(ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6:[" + ip + "]" : "ipv4:" + ip)}:{HttpContext.Connection.RemotePort}"
        : "unknown";

    /// <summary>When the client's <c>grpc-timeout</c> runs out (UTC); <see cref="DateTime.MaxValue"/> without one.</summary>
    public DateTime Deadline { get; }

    /// <summary>The request headers (gRPC metadata), <c>authorization</c> included.</summary>
    public IHeaderDictionary RequestHeaders => HttpContext.Request.Headers;

    /// <summary>Cancelled when the deadline passes or the client goes away; the handler should stop then.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The underlying HTTP/2 request (an escape hatch; not in Grpc.Core's API).</summary>
    public HttpContext HttpContext { get; }

    internal bool DeadlinePassed => CancellationToken.IsCancellationRequested && !HttpContext.RequestAborted.IsCancellationRequested;

    /// <summary>Sends one message unless the call is already finished; <paramref name="flush"/> for streams.</summary>
    internal async Task WriteMessageAsync(IMessage message, bool flush)
    {
        await _gate.WaitAsync(CancellationToken);
        try
        {
            if (_finished) throw new OperationCanceledException("The call is already finished", CancellationToken);
            var body = HttpContext.Response.BodyWriter;
            GrpcFraming.WriteMessage(body, message);
            _messageWritten = true;
            if (flush)
            {
                var result = await body.FlushAsync(CancellationToken);
                if (result.IsCanceled || result.IsCompleted) throw new OperationCanceledException("The client went away", CancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Ends the response with <paramref name="status"/> (once; later calls do nothing): in the
    /// headers of a trailers-only response when no message was sent, in the trailers otherwise.
    /// </summary>
    internal async Task FinishAsync(GrpcStatusCode status, string? detail)
    {
        await _gate.WaitAsync();
        try
        {
            if (_finished) return;
            _finished = true;
            if (HttpContext.RequestAborted.IsCancellationRequested) return;
            var response = HttpContext.Response;
            IHeaderDictionary target = _messageWritten ? HttpContext.Features.Get<IHttpResponseTrailersFeature>()!.Trailers : response.Headers;
            target[GrpcProtocol.StatusHeader] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(detail)) target[GrpcProtocol.MessageHeader] = GrpcMessageText.Encode(detail);
            await response.CompleteAsync();
        }
        catch (Exception) when (HttpContext.RequestAborted.IsCancellationRequested)
        {
            // The client left while the status was being sent: nobody to tell.
        }
        finally
        {
            _gate.Release();
        }
    }

    internal PipeReader RequestBody => HttpContext.Request.BodyReader;
}

internal sealed class ResponseStream<T>(ServerCallContext call) : IServerStreamWriter<T> where T : IMessage
{
    public Task WriteAsync(T message) => call.WriteMessageAsync(message, flush: true);
}
