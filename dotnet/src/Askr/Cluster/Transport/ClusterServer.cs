using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster.Transport;

/// <summary>Settings of a <see cref="ClusterServer"/>.</summary>
internal sealed class ClusterServerOptions
{
    /// <summary>
    /// The cluster secret every call must carry as <c>authorization: Bearer &lt;secret&gt;</c>
    /// (<see cref="ClusterSecretInterceptor"/>); null: no secret required (tests only).
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>When set, the port speaks TLS with this certificate (ALPN h2); otherwise h2c with prior knowledge.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>Largest request message accepted, in bytes; a larger one ends with ResourceExhausted. Default 4 MiB, as gRPC's.</summary>
    public int MaxReceiveMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Where the server's own log lines go (Grpc.AspNetCore's and Kestrel's, see <see cref="LogBridge"/>); null: nowhere.</summary>
    public Action<Logging.LogLevel, string>? Log { get; init; }
}

/// <summary>
/// The cluster endpoint: the services of proto/askr/cluster/v1/cluster.proto served by
/// Grpc.AspNetCore on a Kestrel listener of their own, HTTP/2 only (h2c with prior knowledge, or
/// TLS when <see cref="ClusterServerOptions.Certificate"/> is set).
/// </summary>
/// <remarks>
/// What gRPC decides before a handler runs: a call without the secret ends with Unauthenticated
/// (<see cref="ClusterSecretInterceptor"/>); an unknown service or method with Unimplemented; a
/// request message that does not parse with Internal; one over
/// <see cref="ClusterServerOptions.MaxReceiveMessageBytes"/> with ResourceExhausted. A call whose
/// <c>grpc-timeout</c> passes ends with DeadlineExceeded at that moment, and the handler's
/// <see cref="Grpc.Core.ServerCallContext.CancellationToken"/> is cancelled. A handler that
/// throws <see cref="Grpc.Core.RpcException"/> ends the call with its status; any other
/// exception with Unknown "Exception was thrown by handler.", its details in the log only.
/// </remarks>
internal sealed class ClusterServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ClusterServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port listened on.</summary>
    public int Port { get; }

    /// <summary>
    /// Binds <paramref name="endpoint"/> (port 0: a free one) and serves the two services, and
    /// the optional ones a node adds (<paramref name="addServices"/> registers their instances,
    /// <paramref name="mapServices"/> maps them: BackgroundVars, Broadcast); throws if the port cannot be bound.
    /// </summary>
    public static async Task<ClusterServer> StartAsync<TMembership, TReplication>(IPEndPoint endpoint, ClusterServerOptions options,
        TMembership membership, TReplication replication, Action<IServiceCollection>? addServices = null, Action<WebApplication>? mapServices = null,
        CancellationToken cancellationToken = default)
        where TMembership : W.Membership.MembershipBase
        where TReplication : W.Replication.ReplicationBase
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Services.AddSingleton<IHostLifetime, NoLifetime>();
        builder.Logging.ClearProviders();
        if (options.Log is { } log) builder.Logging.AddProvider(new LogBridge(log));
        builder.WebHost.UseKestrelCore().UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.Certificate is { } certificate) listen.UseHttps(certificate);
            });
        });
        builder.Services.AddRouting();
        if (options.Secret is { } secret) builder.Services.AddSingleton(new ClusterSecretInterceptor(secret));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxReceiveMessageBytes;
            grpc.EnableDetailedErrors = false; // a peer learns the status, never our exception's text
            if (options.Secret is not null) grpc.Interceptors.Add<ClusterSecretInterceptor>(); // resolved from DI: one instance
        });
        builder.Services.AddSingleton(membership);
        builder.Services.AddSingleton(replication);
        addServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapGrpcService<TMembership>();
        app.MapGrpcService<TReplication>();
        mapServices?.Invoke(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ClusterServer(app, new Uri(address).Port);
    }

    /// <summary>Stops listening (in-flight calls get up to 2 seconds), best effort.</summary>
    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(TimeSpan.FromSeconds(2)); } catch (Exception) { /* stopping anyway */ }
        try { await _app.DisposeAsync(); } catch (Exception) { /* stopping anyway */ }
    }

    /// <summary>The supervisor owns the process's lifetime and signals; the cluster endpoint only starts and stops.</summary>
    private sealed class NoLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
