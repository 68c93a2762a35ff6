using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Askr.Tasks;

namespace Askr.Worker;

/// <summary>
/// A worker process: Kestrel on its slot's listening socket (inherited from the supervisor, or
/// bound here when run alone) plus one PHP interpreter. Stops gracefully on SIGTERM/SIGINT:
/// Kestrel stops accepting and finishes in-flight requests, PHP drains its queue, then the
/// worker script's take_request() returns null and the process exits with 0.
/// </summary>
internal static class HttpWorkerHost
{
    public static async Task<int> RunAsync(ServeOptions options, int slot, int? listenFd, string? controlPath, int? httpsListenFd = null)
    {
        // One release for the process's whole life (symlink deploys, docs/lifecycle.md).
        options = Lifecycle.ReleasePaths.Pin(options);
        var log = LogWriter.Current;
        // TLS (docs/tls.md): the certificate is loaded once here, and again on SIGHUP, which the
        // supervisor sends before a rolling reload; registered first, so no SIGHUP finds it missing.
        Tls.ServerCertificate? certificate = null;
        if (options.HttpsPort > 0)
        {
            try
            {
                certificate = Tls.ServerCertificate.Load(options.Certificate!, options.Key);
            }
            catch (Tls.CertificateException e)
            {
                log.Error($"--certificate: {e.Message}");
                log.Flush(TimeSpan.FromSeconds(1));
                return 78; // EX_CONFIG
            }
        }
        using var certificateReload = certificate is null ? null
            : PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; certificate.ReloadAndLog(log); });
        ControlClient? control = null;
        if (controlPath is not null)
        {
            control = await ControlClient.ConnectAsync(controlPath, slot);
        }

        PhpRequestHandler? handler = null;
        using var store = options.StorePath is null ? null : Tables.TableStore.Open(options.StorePath);
        using var responseCache = options.ResponseCachePath is null ? null : ResponseCache.CacheStore.Open(options.ResponseCachePath);
        using var vars = options.VarsPath is null ? null : Background.VarsStore.Open(options.VarsPath);
        using var board = control is null || options.TaskBoardPath is null ? null : TaskBoard.Open(options.TaskBoardPath);
        using var tasks = control is null ? null : new TaskDispatcher(control, board);
        // Pusher-protocol WebSockets and HTTP API (docs/websockets.md): events of other workers come
        // through the node's event ring; presence and channel counts over the control socket.
        var pusher = options.PusherApps.Count == 0 ? null : new WebSockets.Pusher.PusherServer(new WebSockets.Pusher.PusherApps(options.PusherApps), options.PusherLimits);
        using var ring = pusher is null || options.PusherRingPath is null ? null : WebSockets.EventRing.Open(options.PusherRingPath);
        if (control is not null)
        {
            var node = pusher is null ? null : new WebSockets.PusherNodeClient(pusher, control, ring, log);
            control.OnMessage = message =>
            {
                if (message is ShedConnectionsMessage shed) ConnectionShedding.Request(shed.Count);
                else if (node?.OnMessage(message) != true) tasks!.OnMessage(message);
            };
            control.Start();
        }
        var php = new PhpThread(options.WorkerScript, options.Root, options.MaxQueue, options.RequestTimeoutSeconds, options.PhpIni, log)
        {
            FillEnvelope = (request, arena) => handler!.FillEnvelope(request, arena),
            Store = store,
            Tasks = tasks,
            ResponseCache = responseCache,
            Pusher = pusher,
            Vars = vars,
            Control = control,
        };
        handler = new PhpRequestHandler(php, options, log, slot)
        {
            Cache = responseCache is null ? null : new ResponseCache.ResponseCacheHandler(responseCache, options.ResponseCacheIgnoreCookies, options.RequestTimeoutSeconds, log)
            {
                Refresh = async context =>
                {
                    var refresh = new PhpRequest(context, null, 0);
                    return php.TryEnqueue(refresh) ? await refresh.Head : null;
                },
            },
        };

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetFullPath(options.Root) });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Critical);
        builder.Services.AddSingleton<IHostLifetime, ManualLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(30, options.RequestTimeoutSeconds + 10)));
        // One socket I/O queue per process: a worker feeds one PHP thread, and the kernel already
        // spreads connections across worker processes; more queues only add context switches.
        builder.WebHost.UseSockets(o => o.IOQueueCount = 1);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodySize;
            k.ResponseHeaderEncodingSelector = _ => Encoding.Latin1;
            // The plain port: HTTP/1.1, or HTTP/2 with prior knowledge only (h2c) when asked: Kestrel
            // picks between the two only by ALPN, which a cleartext connection has not.
            Action<ListenOptions> plain = l => { l.Protocols = options.Http2Cleartext ? HttpProtocols.Http2 : HttpProtocols.Http1; CountConnections(l); };
            if (!options.HttpEnabled) { }
            else if (listenFd is { } fd)
                k.ListenHandle((ulong)fd, plain);
            else
                k.Listen(ResolveHost(options.Host), options.Port, plain);
            if (certificate is null) { }
            else if (httpsListenFd is { } hfd)
                k.ListenHandle((ulong)hfd, l => { CountConnections(l); Tls.HttpsEndpoint.Configure(l, certificate); });
            else
                k.Listen(ResolveHost(options.Host), options.HttpsPort, l => { CountConnections(l); Tls.HttpsEndpoint.Configure(l, certificate); });
        });
        Front.HttpFront.AddServices(builder.Services, options);
        var app = builder.Build();

        var files = new StaticFileOptions
        {
            FileProvider = new DocumentRootFileProvider(Path.GetFullPath(options.Root), options.StaticFollowSymlinks),
            ServeUnknownFileTypes = false,
            ContentTypeProvider = new FileExtensionContentTypeProvider(),
        };
        using var pusherStopping = new CancellationTokenSource();
        using var pusherSweep = pusher is null ? null : new Timer(_ => pusher.Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        if (pusher is not null) WebSockets.PusherEndpoint.Use(app, pusher, pusherStopping.Token);
        Front.HttpFront.Use(app, options, files);
        app.UseStaticFiles(files);
        app.Run(handler.HandleAsync);

        php.Start();
        await app.StartAsync();

        var stopRequested = await WorkerLifecycle.RunUntilStopAsync(php, control, options.MaxRequests, options.Autoscale ? 250 : 1000);
        if (!stopRequested)
        {
            // PHP stopped by itself (boot failure, exit status, stuck in a system call).
            var code = php.Exited.Result;
            await StopQuietly(app, TimeSpan.FromSeconds(2));
            log.Flush(TimeSpan.FromSeconds(1));
            return code == 0 ? 70 : code;
        }

        // WebSocket clients are told to reconnect (4200, never a 40xx code: pusher-js would stop retrying).
        pusher?.CloseAll();
        await StopQuietly(app, TimeSpan.FromSeconds(Math.Max(30, options.RequestTimeoutSeconds + 10)));
        php.RequestShutdown();
        var exit = await php.Exited.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : 75);
        control?.Dispose();
        log.Flush(TimeSpan.FromSeconds(1));
        return exit;
    }

    /// <summary>Counts the endpoint's open connections (RequestMetrics.Connections: the supervisor stops an idle autoscaled worker only with none).</summary>
    private static void CountConnections(ListenOptions listen) => listen.Use(next => async connection =>
    {
        Metrics.RequestMetrics.Current.ConnectionOpened();
        try { await next(connection); }
        finally { Metrics.RequestMetrics.Current.ConnectionClosed(); }
    });

    private static async Task StopQuietly(WebApplication app, TimeSpan timeout)
    {
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await app.StopAsync(cts.Token);
        }
        catch (Exception e)
        {
            LogWriter.Current.Warning($"stopping Kestrel: {e.Message}");
        }
    }

    internal static IPAddress ResolveHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "0.0.0.0" => IPAddress.Any,
        "::" or "[::]" => IPAddress.IPv6Any,
        _ => IPAddress.Parse(host.Trim('[', ']')),
    };

    /// <summary>A host lifetime that leaves signals to the worker itself.</summary>
    private sealed class ManualLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
