using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.WebSockets;

/// <summary>
/// The Pusher protocol on a real askr server (two HTTP workers) with real clients: pusher-js for
/// WebSockets, the `pusher` library for the HTTP API, ws for raw frames (tests-dotnet/pusher-clients).
/// </summary>
public sealed class PusherProtocolTests(PusherServerFixture fixture) : IClassFixture<PusherServerFixture>
{
    private int Port => fixture.Server.Port;

    [PusherFact]
    public async Task Pusher_js_subscribes_public_private_and_presence_channels_and_receives_http_api_events()
    {
        var r = await PusherClients.RunAsync("channels", Port);
        Assert.Matches(@"^\d+\.\d+$", r.GetProperty("socketId").GetString());
        Assert.Equal(200, r.GetProperty("triggerStatus").GetInt32());
        Assert.Equal("{}", r.GetProperty("triggerBody").GetString());
        var presence = r.GetProperty("presence");
        Assert.Equal(1, presence.GetProperty("count").GetInt32());
        Assert.Equal("7", presence.GetProperty("me").GetString());
        var events = r.GetProperty("events");
        Assert.Equal("world", events[0].GetProperty("hello").GetString());
        Assert.Equal(1, events[1].GetProperty("id").GetInt32());
        Assert.Equal("plain text", events[2].GetString());
    }

    [PusherFact]
    public async Task Wrong_channel_auth_is_refused_with_4009_and_the_connection_keeps_working()
    {
        var r = await PusherClients.RunAsync("badAuth", Port, new { badAuth = true });
        Assert.Equal(4009, r.GetProperty("errors")[0].GetProperty("code").GetInt32());
        Assert.False(r.GetProperty("privateSucceeded").GetBoolean());
        Assert.True(r.GetProperty("publicAfter").GetBoolean());
    }

    [PusherFact]
    public async Task Presence_members_are_added_and_removed_once_per_user_across_the_nodes_workers()
    {
        // User 1 on 12 connections over two SO_REUSEPORT workers (all on one worker: odds 2^-11),
        // user 2 watching: one member_added, no member_removed until the last connection leaves.
        var r = await PusherClients.RunAsync("presence", Port, new { copies = 12, settleMs = 500 });
        Assert.Equal(["1"], r.GetProperty("added").EnumerateArray().Select(e => e.GetString()));
        Assert.Empty(r.GetProperty("removedAfterFirst").EnumerateArray());
        Assert.Equal(["1"], r.GetProperty("removed").EnumerateArray().Select(e => e.GetString()));
        Assert.All(r.GetProperty("countsSeenByCopies").EnumerateArray(), c => Assert.Equal(2, c.GetInt32()));
        Assert.Equal(["1", "2"], r.GetProperty("usersWhileBoth").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["2"], r.GetProperty("usersAfter").EnumerateArray().Select(e => e.GetString()));
    }

    [PusherFact]
    public async Task Client_events_reach_other_subscribers_and_are_not_echoed_to_the_sender()
    {
        var r = await PusherClients.RunAsync("clientEvents", Port);
        Assert.True(r.GetProperty("triggered").GetBoolean());
        Assert.Equal("a", r.GetProperty("received").GetProperty("who").GetString());
        Assert.False(r.GetProperty("echoed").GetBoolean());
    }

    [PusherFact]
    public async Task Http_api_lists_channels_counts_and_batches()
    {
        var r = await PusherClients.RunAsync("queries", Port);
        var channels = r.GetProperty("channels").GetProperty("body").GetProperty("channels");
        Assert.True(channels.TryGetProperty("news", out _));
        Assert.True(channels.TryGetProperty("presence-q", out _));
        Assert.Equal(1, r.GetProperty("presenceChannels").GetProperty("body").GetProperty("channels").GetProperty("presence-q").GetProperty("user_count").GetInt32());
        Assert.False(r.GetProperty("presenceChannels").GetProperty("body").GetProperty("channels").TryGetProperty("news", out _));
        Assert.True(r.GetProperty("news").GetProperty("body").GetProperty("occupied").GetBoolean());
        Assert.Equal(1, r.GetProperty("news").GetProperty("body").GetProperty("subscription_count").GetInt32());
        Assert.False(r.GetProperty("empty").GetProperty("body").GetProperty("occupied").GetBoolean());
        Assert.Equal(400, r.GetProperty("usersOfPublic").GetInt32());
        Assert.Equal(200, r.GetProperty("batchStatus").GetInt32());
    }

    [PusherFact]
    public async Task Bad_frames_get_protocol_errors_and_the_connection_keeps_serving()
    {
        var r = await PusherClients.RunAsync("badInput", Port, new { bigBytes = 10 * 1024 * 1024 }, timeoutSeconds: 40);
        Assert.Equal(30, r.GetProperty("established").GetProperty("activity_timeout").GetInt32());
        Assert.Equal(4200, r.GetProperty("notJson").GetProperty("code").GetInt32());
        Assert.Equal(4200, r.GetProperty("unknown").GetProperty("code").GetInt32());
        Assert.Equal(4009, r.GetProperty("noAuth").GetProperty("code").GetInt32());
        Assert.Contains("Maximum message size", r.GetProperty("tooLarge").GetProperty("message").GetString());
        Assert.Equal(4301, r.GetProperty("clientOnPublic").GetProperty("code").GetInt32());
        Assert.Equal("pusher:pong", r.GetProperty("pong").GetString());
        Assert.Equal("after", r.GetProperty("subscribedAfter").GetString());
        // The worker still answers HTTP.
        Assert.True((await fixture.Server.Client.GetAsync("/")).IsSuccessStatusCode);
    }

    [PusherFact]
    public async Task An_unknown_app_key_gets_pusher_error_4001_and_close_4001()
    {
        var r = await PusherClients.RunAsync("badKey", Port);
        Assert.Equal(4001, r.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(4001, r.GetProperty("close").GetProperty("code").GetInt32());
    }

    [PusherFact]
    public async Task A_burst_of_client_events_past_the_rate_limit_closes_with_4301()
    {
        var r = await PusherClients.RunAsync("rateLimit", Port, new { burst = 50 });
        Assert.Equal(4301, r.GetProperty("close").GetProperty("code").GetInt32());
    }

    [PusherFact]
    public async Task A_cache_channel_answers_cache_miss_then_replays_the_last_event_to_new_subscribers()
    {
        var r = await PusherClients.RunAsync("cache", Port);
        Assert.Equal("cache-prices", r.GetProperty("miss").GetString());
        var replayed = r.GetProperty("replayed");
        Assert.Equal(2, JsonDocument.Parse(replayed.GetProperty("data").GetString()!).RootElement.GetProperty("eur").GetInt32());
    }

    [PusherFact]
    public async Task An_http_api_event_reaches_subscribers_on_every_worker_in_order()
    {
        // 16 connections over two SO_REUSEPORT workers: all on one worker has odds 2^-15.
        var r = await PusherClients.RunAsync("fanOut", Port, new { connections = 16, triggers = 5 });
        Assert.Equal(16, r.GetProperty("received").GetInt32());
        Assert.True(r.GetProperty("order").GetBoolean());
    }

    [PusherFact]
    public async Task An_http_api_call_with_a_wrong_secret_gets_401_and_delivers_nothing()
    {
        var r = await PusherClients.RunAsync("badSignature", Port);
        Assert.Equal(401, r.GetProperty("status").GetInt32());
        Assert.Contains("Invalid signature", r.GetProperty("body").GetString());
        Assert.Equal("yes", r.GetProperty("first").GetString());
    }
}

/// <summary>--pusher-max-connections: the node's connections of an app, over two workers.</summary>
public sealed class PusherConnectionQuotaTests
{
    [PusherFact]
    public async Task A_connection_past_the_apps_quota_gets_4004_and_the_http_api_still_serves()
    {
        await using var server = await AskrServer.StartAsync("router.php", 2, "--pusher-app", PusherClients.AppArgument, "--pusher-max-connections", "4");
        // Four connections over two SO_REUSEPORT workers: the fifth is refused wherever it lands.
        var r = await PusherClients.RunAsync("connectionQuota", server.Port, new { limit = 4, settleMs = 1500 }, timeoutSeconds: 40);
        Assert.Equal(4, r.GetProperty("established").GetInt32());
        Assert.Equal(4004, r.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("Application is over connection quota", r.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(4004, r.GetProperty("close").GetProperty("code").GetInt32());
        Assert.Equal(200, r.GetProperty("triggerStatus").GetInt32());
        Assert.Equal("still", r.GetProperty("delivered").GetString());
        Assert.True(r.TryGetProperty("afterClose", out _), $"no connection was established after one closed: {r}");
    }

    [Fact]
    public async Task A_negative_max_connections_is_refused_at_start()
    {
        var (code, stdout, stderr) = await Askr.Tests.Resp.RespFixture.Run(AskrServer.Binary,
            ["serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "router.php"),
             "--port", AskrServer.FreePort().ToString(), "--workers", "1", "--pusher-app", PusherClients.AppArgument, "--pusher-max-connections", "-1"], timeoutSeconds: 30);
        Assert.Equal(2, code);
        Assert.Contains("--pusher-max-connections must be 0 (unlimited) or more", stdout + stderr);
    }
}

/// <summary>The server's ping: a client that never answers is closed with 4201.</summary>
public sealed class PusherPingTests
{
    [PusherFact]
    public async Task A_client_that_does_not_answer_the_servers_ping_is_closed_with_4201()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1, "--pusher-app", PusherClients.AppArgument,
            "--pusher-activity-timeout", "1", "--pusher-pong-timeout", "1");
        var r = await PusherClients.RunAsync("pongTimeout", server.Port);
        Assert.Equal(1, r.GetProperty("activityTimeout").GetInt32());
        Assert.Equal("pusher:ping", r.GetProperty("ping").GetString());
        Assert.Equal(4201, r.GetProperty("close").GetProperty("code").GetInt32());
    }
}

/// <summary>Ephpm\Octane\broadcast() called by PHP in a worker (the test router's /broadcast).</summary>
public sealed class PusherBroadcastNativeTests(PusherServerFixture fixture) : IClassFixture<PusherServerFixture>
{
    [PusherFact]
    public async Task Broadcast_from_php_reaches_subscribers_on_every_worker_except_the_given_socket()
    {
        var r = await PusherClients.RunAsync("nativeBroadcast", fixture.Server.Port, new { connections = 16 });
        Assert.Equal(JsonValueKind.Null, r.GetProperty("result").GetProperty("error").ValueKind);
        Assert.Equal(15, r.GetProperty("received").GetInt32());
        Assert.Equal("{\"n\":1}", r.GetProperty("data").GetString());
        Assert.False(r.GetProperty("excludedGot").GetBoolean());
        Assert.StartsWith("ValueError: Ephpm\\Octane\\broadcast(): Argument #1 ($channels) must hold valid Pusher channel names", r.GetProperty("invalid").GetProperty("error").GetString());
        Assert.StartsWith("ValueError: Ephpm\\Octane\\broadcast(): Argument #1 ($channels) must name 1 to 100 channels", r.GetProperty("none").GetProperty("error").GetString());
    }

    [Fact]
    public async Task Broadcast_without_a_pusher_app_throws_a_runtime_exception_that_says_so()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1);
        var response = await server.Client.PostAsync("/broadcast", new StringContent("{\"channels\":\"news\",\"event\":\"e\",\"data\":\"d\"}"));
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.StartsWith("RuntimeException: Ephpm\\Octane\\broadcast(): this server has no Pusher app", error);
    }
}

/// <summary>POST /apps/{id}/users/{user}/terminate_connections through the pusher library.</summary>
public sealed class PusherTerminateTests(PusherServerFixture fixture) : IClassFixture<PusherServerFixture>
{
    [PusherFact]
    public async Task Terminate_connections_closes_every_connection_of_the_user_on_every_worker_and_no_other()
    {
        // Six connections of the user over two workers (all on one: odds 2^-5 — the test then proves the local case only).
        var r = await PusherClients.RunAsync("terminate", fixture.Server.Port, new { copies = 6 });
        Assert.Equal(200, r.GetProperty("status").GetInt32());
        Assert.All(r.GetProperty("closes").EnumerateArray(), c => Assert.Equal(4009, c.GetInt32()));
        Assert.Equal("pusher:pong", r.GetProperty("bystander").GetString());
    }
}

/// <summary>pusher:signin (user authentication) with pusher-js and the `pusher` library, on two workers.</summary>
public sealed class PusherSigninTests(PusherServerFixture fixture) : IClassFixture<PusherServerFixture>
{
    [PusherFact]
    public async Task Pusher_js_signs_in_gets_server_to_user_events_and_terminate_closes_signed_in_connections()
    {
        // Six raw connections signed in as u2 over two workers (all on one: odds 2^-5).
        var r = await PusherClients.RunAsync("signin", fixture.Server.Port, new { copies = 6 }, timeoutSeconds: 30);
        Assert.Equal("u1", r.GetProperty("userData").GetProperty("id").GetString());
        Assert.Equal("Ada", r.GetProperty("userData").GetProperty("user_info").GetProperty("name").GetString());
        Assert.Equal(1, r.GetProperty("toUser").GetProperty("hi").GetInt32());
        Assert.Equal(4009, r.GetProperty("badSignin").GetProperty("code").GetInt32());
        Assert.Equal("Invalid signin signature", r.GetProperty("badSignin").GetProperty("message").GetString());
        Assert.Equal(4009, r.GetProperty("otherUsersChannel").GetProperty("code").GetInt32());
        Assert.Equal("pusher:pong", r.GetProperty("badStillOpen").GetString());
        Assert.Equal(200, r.GetProperty("terminateStatus").GetInt32());
        Assert.Equal(6, r.GetProperty("closes").GetArrayLength());
        Assert.All(r.GetProperty("closes").EnumerateArray(), c => Assert.Equal(4009, c.GetInt32()));
        Assert.Equal("pusher:pong", r.GetProperty("bystander").GetString());
        Assert.Equal("connected", r.GetProperty("signedInStillConnected").GetString());
    }
}

/// <summary>--pusher-webhook: the supervisor POSTs the node's events, signed, to a listener in the test.</summary>
public sealed class PusherWebhookTests
{
    private sealed record Received(string Key, string Signature, string ContentType, string Body);

    [PusherFact]
    public async Task Webhooks_report_occupied_members_client_events_and_vacated_signed_and_retried_after_a_500()
    {
        var hookPort = AskrServer.FreePort();
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{hookPort}/hook/");
        listener.Start();
        var received = new System.Collections.Concurrent.ConcurrentQueue<Received>();
        var answered = 0;
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                System.Net.HttpListenerContext context;
                try { context = await listener.GetContextAsync(); } catch (Exception) { return; }
                using var reader = new StreamReader(context.Request.InputStream);
                var body = await reader.ReadToEndAsync();
                // The first request fails: the batch must come again.
                if (Interlocked.Increment(ref answered) == 1) context.Response.StatusCode = 500;
                else received.Enqueue(new Received(context.Request.Headers["X-Pusher-Key"] ?? "", context.Request.Headers["X-Pusher-Signature"] ?? "",
                    context.Request.ContentType ?? "", body));
                context.Response.Close();
            }
        });
        try
        {
            await using var server = await AskrServer.StartAsync("router.php", 2, "--pusher-app", PusherClients.AppArgument,
                "--pusher-webhook", $"http://127.0.0.1:{hookPort}/hook/");
            var traffic = await PusherClients.RunAsync("webhookTraffic", server.Port, new { settleMs = 300 });
            var socketIdB = traffic.GetProperty("socketIdB").GetString();

            var complete = await AskrServer.EventuallyAsync(
                () => Task.FromResult(received.Any(r => r.Body.Contains("\"channel_vacated\"", StringComparison.Ordinal))), TimeSpan.FromSeconds(30));
            Assert.True(complete, $"no channel_vacated webhook within 30 s; got {string.Join(" | ", received.Select(r => r.Body))}");
            var verified = await PusherClients.RunAsync("verifyWebhooks", server.Port,
                new { requests = received.ToArray().Select(r => new { key = r.Key, signature = r.Signature, contentType = r.ContentType, body = r.Body }).ToArray() });
            List<JsonElement> events = [.. verified.GetProperty("events").EnumerateArray()];
            Assert.True(answered >= 2, "the batch answered with 500 was not sent again");
            Assert.All(verified.GetProperty("valid").EnumerateArray(), v => Assert.True(v.GetBoolean()));
            Assert.False(verified.GetProperty("forgedValid").GetBoolean());

            string Describe(JsonElement e) => e.GetProperty("name").GetString() + (e.TryGetProperty("user_id", out var u) ? ":" + u.GetString() : "");
            var names = events.Where(e => e.GetProperty("channel").GetString() == "presence-wh").Select(Describe).ToList();
            Assert.Equal(["channel_occupied", "member_added:w1", "member_added:w2", "client_event:w2", "member_removed:w1", "member_removed:w2", "channel_vacated"], names);
            var clientEvent = events.Single(e => e.GetProperty("name").GetString() == "client_event");
            Assert.Equal("client-hi", clientEvent.GetProperty("event").GetString());
            Assert.Equal("{\"x\":1}", clientEvent.GetProperty("data").GetString());
            Assert.Equal(socketIdB, clientEvent.GetProperty("socket_id").GetString());
            Assert.All(received, r => Assert.Equal(PusherClients.Key, r.Key));
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            await Task.WhenAny(serving, Task.Delay(5000));
        }
    }

    [Fact]
    public async Task A_webhook_that_is_not_an_http_url_is_refused_at_start()
    {
        var (code, stdout, stderr) = await Askr.Tests.Resp.RespFixture.Run(AskrServer.Binary,
            ["serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "router.php"),
             "--port", AskrServer.FreePort().ToString(), "--workers", "1", "--pusher-app", PusherClients.AppArgument, "--pusher-webhook", "9=ftp://x"], timeoutSeconds: 30);
        Assert.Equal(2, code);
        Assert.Contains("--pusher-webhook '9=ftp://x': expected URL or ID=URL", stdout + stderr);
    }
}

/// <summary>The Pusher endpoint on the HTTPS listener: Echo's forceTLS / wss.</summary>
public sealed class PusherTlsTests
{
    [PusherFact]
    public async Task Websockets_are_served_on_the_https_listener_too()
    {
        var tlsPort = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 1, "--pusher-app", PusherClients.AppArgument, "--https-port", tlsPort.ToString(), "--https-dev");
        var r = await PusherClients.RunAsync("tlsConnect", server.Port, new { tlsPort });
        Assert.Equal("pusher:connection_established", r.GetProperty("event").GetString());
        Assert.False(string.IsNullOrEmpty(r.GetProperty("data").GetProperty("socket_id").GetString()));
    }
}

/// <summary>A server that stops tells its WebSocket clients to reconnect: 4200, never a 40xx code (pusher-js would give up).</summary>
public sealed class PusherShutdownTests
{
    [PusherFact]
    public async Task A_stopping_server_closes_websockets_with_4200()
    {
        await PusherClients.EnsureInstalledAsync();
        await using var server = await AskrServer.StartAsync("router.php", 1, "--pusher-app", PusherClients.AppArgument);
        var psi = new System.Diagnostics.ProcessStartInfo("node") { WorkingDirectory = PusherClients.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "clients.js", "awaitClose", JsonSerializer.Serialize(new { appId = PusherClients.AppId, key = PusherClients.Key, secret = PusherClients.Secret, port = server.Port, timeoutMs = 30000 }) })
            psi.ArgumentList.Add(a);
        using var node = System.Diagnostics.Process.Start(psi)!;
        try
        {
            var ready = await node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal("{\"ready\":true}", ready);
            server.Signal(AskrServer.SigTerm);
            var last = await node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(4200, JsonDocument.Parse(last!).RootElement.GetProperty("close").GetProperty("code").GetInt32());
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
        }
    }
}

/// <summary>Clients that cannot keep up: a reader that stops, a burst of subscribes.</summary>
public sealed class PusherBackpressureTests
{
    [PusherFact]
    public async Task A_subscriber_that_stops_reading_is_closed_with_4100_and_others_get_every_event()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1, "--pusher-app", PusherClients.AppArgument, "--pusher-max-queued-frames", "64");
        var r = await PusherClients.RunAsync("slowReader", server.Port, new { maxBatches = 600 }, timeoutSeconds: 90);
        Assert.True(r.GetProperty("slowClosedAfter").ValueKind == JsonValueKind.Number, $"the slow subscriber was never dropped: {r}");
        Assert.Equal(r.GetProperty("sent").GetInt32(), r.GetProperty("fastGot").GetInt32());
        // Its close frame may not get through before the grace period ends the connection.
        Assert.Contains(r.GetProperty("slowClose").GetInt32(), new[] { 4100, 1006 });
    }

    [PusherFact]
    public async Task A_burst_of_10000_subscribes_gets_100_subscriptions_and_errors_or_4100_for_the_rest()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1, "--pusher-app", PusherClients.AppArgument);
        var r = await PusherClients.RunAsync("subscribeBurst", server.Port, timeoutSeconds: 60);
        Assert.Equal(100, r.GetProperty("ok").GetInt32());
        if (r.TryGetProperty("close", out var close)) Assert.Equal(4100, close.GetInt32());
        else Assert.Equal(9900, r.GetProperty("errors").GetInt32());
        Assert.True((await server.Client.GetAsync("/")).IsSuccessStatusCode);
    }
}
