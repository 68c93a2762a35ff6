using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Askr.Cluster.Grpc;

/// <summary>Settings of a <see cref="GrpcHost"/>.</summary>
public sealed class GrpcHostOptions
{
    /// <summary>
    /// The cluster secret: every call must carry the metadata <c>authorization: Bearer &lt;secret&gt;</c>
    /// (compared in constant time), or it ends with Unauthenticated before its handler runs.
    /// Null: no secret required.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>
    /// A further check of the request headers (after <see cref="Secret"/>, if both are set);
    /// false ends the call with Unauthenticated before its handler runs.
    /// </summary>
    public Func<IHeaderDictionary, bool>? Authenticate { get; init; }

    /// <summary>When set, the port speaks TLS (ALPN h2) with this certificate; otherwise h2c with prior knowledge.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Largest request message accepted, in bytes (the prefix's length); larger ends with ResourceExhausted. Default 4 MiB.</summary>
    public int MaxReceiveMessageBytes { get; init; } = Internal.GrpcProtocol.DefaultMaxMessageBytes;

    /// <summary>Where the host reports handler failures and its start; one line each.</summary>
    public Action<string>? Log { get; init; }
}
