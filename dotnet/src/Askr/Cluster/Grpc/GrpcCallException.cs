namespace Askr.Cluster.Grpc;

/// <summary>
/// A gRPC call that ended with a status other than OK (the counterpart of <c>Grpc.Core.RpcException</c>).
/// A server handler throws it to answer with that status; <see cref="GrpcClient"/> throws it for
/// every failure, including those of the transport (<see cref="GrpcStatusCode.Unavailable"/>,
/// <see cref="GrpcStatusCode.DeadlineExceeded"/>): see <see cref="IsUnreachable"/>.
/// </summary>
public sealed class GrpcCallException : Exception
{
    /// <param name="status">The status to report; not <see cref="GrpcStatusCode.OK"/>.</param>
    /// <param name="detail">The human-readable <c>grpc-message</c>; empty for none.</param>
    public GrpcCallException(GrpcStatusCode status, string detail, Exception? inner = null)
        : this(status, detail, target: null, inner) { }

    internal GrpcCallException(GrpcStatusCode status, string detail, string? target, Exception? inner = null)
        : base(Describe(status, detail, target), inner)
    {
        Status = status;
        Detail = detail;
        Target = target;
    }

    /// <summary>The gRPC status code (from the peer's <c>grpc-status</c>, or decided locally for transport failures).</summary>
    public GrpcStatusCode Status { get; }

    /// <summary>The status message (the peer's decoded <c>grpc-message</c>, or the local reason).</summary>
    public string Detail { get; }

    /// <summary>The URL of the method called, on the client side; null on the server side.</summary>
    public string? Target { get; }

    /// <summary>
    /// True when the peer could not be reached or did not answer in time (Unavailable,
    /// DeadlineExceeded): for failure detection that is "maybe down", as opposed to a peer that
    /// answered and refused (Unauthenticated, PermissionDenied, Unimplemented, ...).
    /// </summary>
    public bool IsUnreachable => Status is GrpcStatusCode.Unavailable or GrpcStatusCode.DeadlineExceeded;

    private static string Describe(GrpcStatusCode status, string detail, string? target) =>
        target is null ? $"gRPC {status} ({(int)status}): {detail}" : $"gRPC {status} ({(int)status}) calling {target}: {detail}";
}
