using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster.Transport;

/// <summary>Settings of <see cref="PeerChannels"/>.</summary>
internal sealed class PeerChannelOptions
{
    /// <summary>The cluster secret, sent with every call (<see cref="ClusterSecretInterceptor.MetadataValue"/>); null: none.</summary>
    public string? Secret { get; init; }

    /// <summary>
    /// The cluster's certificate: peers are called over TLS (<c>https://</c>) and trusted only if
    /// they present this very certificate (its SHA-256 thumbprint). Null: h2c (<c>http://</c>),
    /// HTTP/2 with prior knowledge.
    /// </summary>
    public X509Certificate2? PinnedCertificate { get; init; }

    /// <summary>How long opening a TCP connection may take at most (each call's deadline applies too). Default 2 seconds.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Longest wait between two attempts to connect to a peer that refused the last one; calls
    /// made meanwhile fail at once with Unavailable. Default 500 ms, the SWIM probe interval, so
    /// that a restarted peer is found by its next probe. (gRPC's default, 120 s, suits clients of a
    /// service, not the members of a failure detector.)
    /// </summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest response message accepted, in bytes; a larger one ends the call with ResourceExhausted. Default 4 MiB, as gRPC's.</summary>
    public int MaxReceiveMessageBytes { get; init; } = 4 * 1024 * 1024;
}

/// <summary>
/// The Grpc.Net.Client side of the cluster: one <see cref="GrpcChannel"/> per peer address
/// (<c>host:port</c>), created on first use and kept while this object lives; each with its own
/// <see cref="SocketsHttpHandler"/> (no proxy, HTTP/2 keep-alive pings). Thread-safe. Every
/// failure of a call is an <see cref="RpcException"/>: the peer's status when it answered,
/// Unavailable when it could not be reached, DeadlineExceeded when the deadline passed,
/// Cancelled when the caller's token fired.
/// </summary>
internal sealed class PeerChannels(PeerChannelOptions options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Peer>> _peers = new(StringComparer.Ordinal);
    private readonly Metadata _headers = options.Secret is { } secret
        ? new Metadata { { ClusterSecretInterceptor.MetadataKey, ClusterSecretInterceptor.MetadataValue(secret) } }
        : [];
    private readonly byte[]? _pin = options.PinnedCertificate?.GetCertHash(HashAlgorithmName.SHA256);

    /// <summary>The Membership service of the peer at <paramref name="address"/> (<c>host:port</c>).</summary>
    public W.Membership.MembershipClient Membership(string address) => Get(address).Membership;

    /// <summary>The Replication service of the peer at <paramref name="address"/> (<c>host:port</c>).</summary>
    public W.Replication.ReplicationClient Replication(string address) => Get(address).Replication;

    /// <summary>The BackgroundVars service of the peer at <paramref name="address"/> (<c>host:port</c>).</summary>
    public W.BackgroundVars.BackgroundVarsClient Vars(string address) => Get(address).Vars;

    /// <summary>The Broadcast service (Pusher events) of the peer at <paramref name="address"/> (<c>host:port</c>).</summary>
    public W.Broadcast.BroadcastClient Broadcast(string address) => Get(address).Broadcast;

    /// <summary>Options of one call: the secret, a deadline <paramref name="timeout"/> from now, and the caller's token.</summary>
    public CallOptions Call(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        new(headers: _headers, deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);

    private Peer Get(string address)
    {
        var peer = _peers.GetOrAdd(address, a => new Lazy<Peer>(() => Open(a), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return peer.Value;
        }
        catch (UriFormatException e)
        {
            // An address no channel can be made for (gossip is from authenticated members, but may be wrong): unreachable.
            _peers.TryRemove(new KeyValuePair<string, Lazy<Peer>>(address, peer));
            throw new RpcException(new Status(StatusCode.Unavailable, $"'{address}' is not a host:port to call: {e.Message}", e));
        }
    }

    private Peer Open(string address)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false, // cluster traffic goes straight to the peer
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = options.ConnectTimeout,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        if (_pin is { } pin)
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && presented.GetCertHash(HashAlgorithmName.SHA256).AsSpan().SequenceEqual(pin);
        var channel = GrpcChannel.ForAddress($"{(_pin is null ? "http" : "https")}://{address}", new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = options.MaxReceiveMessageBytes,
            InitialReconnectBackoff = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(100).Ticks, options.MaxReconnectBackoff.Ticks)),
            MaxReconnectBackoff = options.MaxReconnectBackoff,
        });
        return new Peer(channel, new W.Membership.MembershipClient(channel), new W.Replication.ReplicationClient(channel), new W.BackgroundVars.BackgroundVarsClient(channel), new W.Broadcast.BroadcastClient(channel));
    }

    /// <summary>Closes every channel; calls in flight end with Cancelled.</summary>
    public void Dispose()
    {
        foreach (var peer in _peers.Values)
        {
            if (!peer.IsValueCreated) continue;
            try { peer.Value.Channel.Dispose(); } catch (Exception) { /* closing anyway */ }
        }
        _peers.Clear();
    }

    private sealed record Peer(GrpcChannel Channel, W.Membership.MembershipClient Membership, W.Replication.ReplicationClient Replication, W.BackgroundVars.BackgroundVarsClient Vars, W.Broadcast.BroadcastClient Broadcast);
}
