using System.Net.Security;

namespace Askr.Cluster.Grpc;

/// <summary>Settings of a <see cref="GrpcClient"/>.</summary>
public sealed class GrpcClientOptions
{
    /// <summary>Largest response message accepted, in bytes; larger ends the call with ResourceExhausted. Default 4 MiB.</summary>
    public int MaxReceiveMessageBytes { get; init; } = Internal.GrpcProtocol.DefaultMaxMessageBytes;

    /// <summary>How long opening a connection may take at most (the call's deadline applies too). Default 5 seconds.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>For https addresses: decides whether the peer's certificate is trusted (e.g. a pinned cluster certificate). Null: the system's validation.</summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }
}
