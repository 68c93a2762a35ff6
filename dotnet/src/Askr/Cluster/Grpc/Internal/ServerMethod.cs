using Google.Protobuf;

namespace Askr.Cluster.Grpc.Internal;

/// <summary>A mapped method: reads its request, runs its handler, writes its response messages.</summary>
internal abstract class ServerMethod
{
    /// <summary>Runs the call up to its last message; the status is written by the host.</summary>
    public abstract Task RunAsync(ServerCallContext call, int maxReceiveMessageBytes);

    protected static async Task<T> ReadRequestAsync<T>(ServerCallContext call, int maxReceiveMessageBytes) where T : class, IMessage<T>, new()
    {
        var request = await GrpcFraming.ReadMessageAsync<T>(call.RequestBody, maxReceiveMessageBytes, call.CancellationToken)
            ?? throw new GrpcCallException(GrpcStatusCode.Internal, "The request has no message");
        await GrpcFraming.ExpectEndAsync(call.RequestBody, "request", call.CancellationToken);
        return request;
    }
}

internal sealed class UnaryMethod<TRequest, TResponse>(Func<TRequest, ServerCallContext, Task<TResponse>> handler) : ServerMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>
{
    public override async Task RunAsync(ServerCallContext call, int maxReceiveMessageBytes)
    {
        var request = await ReadRequestAsync<TRequest>(call, maxReceiveMessageBytes);
        var response = await handler(request, call)
            ?? throw new GrpcCallException(GrpcStatusCode.Internal, "The handler returned no message");
        await call.WriteMessageAsync(response, flush: false);
    }
}

internal sealed class ServerStreamingMethod<TRequest, TResponse>(Func<TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task> handler) : ServerMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>
{
    public override async Task RunAsync(ServerCallContext call, int maxReceiveMessageBytes)
    {
        var request = await ReadRequestAsync<TRequest>(call, maxReceiveMessageBytes);
        await handler(request, new ResponseStream<TResponse>(call), call);
    }
}
