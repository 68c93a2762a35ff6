using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Askr.Cluster.Transport;

/// <summary>
/// Refuses every call that does not carry the cluster secret, with Unauthenticated, before its
/// handler runs: the call's metadata must hold exactly one <c>authorization</c> entry, equal to
/// <c>Bearer &lt;secret&gt;</c> (RFC 6750's header form, carried as gRPC metadata). The values are
/// compared in constant time, after hashing both with SHA-256 so that the time does not depend on
/// the length either.
/// </summary>
/// <remarks>
/// An interceptor runs once Grpc.AspNetCore has routed the call and read its request message, so
/// a caller without the secret can still learn whether a method exists (Unimplemented) or that its
/// message did not parse (Internal); it never reaches a handler.
/// </remarks>
internal sealed class ClusterSecretInterceptor : Interceptor
{
    /// <summary>The metadata key of the secret.</summary>
    public const string MetadataKey = "authorization";

    private readonly byte[] _expectedHash;

    /// <param name="secret">The cluster secret, as given to every node.</param>
    public ClusterSecretInterceptor(string secret) => _expectedHash = Hash(MetadataValue(secret));

    /// <summary>The metadata value a call carries for <paramref name="secret"/>: <c>Bearer &lt;secret&gt;</c>.</summary>
    public static string MetadataValue(string secret) => "Bearer " + secret;

    /// <summary>True if <paramref name="headers"/> carry the secret (see the class remarks).</summary>
    public bool IsAuthorized(Metadata headers)
    {
        Metadata.Entry? given = null;
        foreach (var entry in headers)
        {
            if (!string.Equals(entry.Key, MetadataKey, StringComparison.Ordinal)) continue;
            if (given is not null || entry.IsBinary) return false;
            given = entry;
        }
        return given is not null && CryptographicOperations.FixedTimeEquals(Hash(given.Value), _expectedHash);
    }

    private static byte[] Hash(string value) => SHA256.HashData(Encoding.UTF8.GetBytes(value));

    private void Check(ServerCallContext context)
    {
        if (!IsAuthorized(context.RequestHeaders))
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing or invalid cluster secret"));
    }

    /// <inheritdoc/>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    /// <inheritdoc/>
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    /// <inheritdoc/>
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    /// <inheritdoc/>
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }
}
