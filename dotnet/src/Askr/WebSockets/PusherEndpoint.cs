using Askr.WebSockets.Pusher;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Askr.WebSockets;

/// <summary>
/// Puts the Pusher endpoints on a worker's Kestrel pipeline, before static files and PHP:
/// WebSocket upgrades of <c>GET /app/{key}</c> (any other request to that path goes on to the
/// app) and the HTTP API under <c>/apps/{id}/</c> of a configured app id. PHP never wakes for them.
/// </summary>
internal static class PusherEndpoint
{
    public static void Use(WebApplication app, PusherServer server, CancellationToken stopping)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        var api = new PusherHttpApi(server);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path.StartsWith("/app/", StringComparison.Ordinal) && context.WebSockets.IsWebSocketRequest)
            {
                await AcceptAsync(context, server, path["/app/".Length..], stopping);
                return;
            }
            if (path.StartsWith("/apps/", StringComparison.Ordinal) && await api.TryHandleAsync(context, path))
                return;
            await next(context);
        });
    }

    private static async Task AcceptAsync(HttpContext context, PusherServer server, string key, CancellationToken stopping)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var app = server.Apps.FindByKey(key);
        var connection = new PusherWebSocket(socket, app ?? new PusherApp("", key, ""), PusherServer.NewSocketId(), server.Limits.MaxQueuedFrames);
        if (app is null)
        {
            // Pusher's way: the upgrade is accepted, then an error and a close with 4001.
            connection.Send(PusherMessages.Error(4001, $"Application does not exist: {key}"));
            connection.Close(4001, "Application does not exist");
            await connection.DrainAsync();
            return;
        }
        if (!IsProtocolSupported(context.Request.Query["protocol"]))
        {
            connection.Send(PusherMessages.Error(4007, "Unsupported protocol version: 7 is required"));
            connection.Close(4007, "Unsupported protocol version");
            await connection.DrainAsync();
            return;
        }
        await connection.RunAsync(server, stopping);
    }

    // pusher-js sends protocol=7; an absent parameter is taken as 7.
    private static bool IsProtocolSupported(string? protocol) =>
        string.IsNullOrEmpty(protocol) || (int.TryParse(protocol, out var v) && v >= 5 && v <= 7);
}
