using System.Net;
using System.Net.Http.Headers;
using Askr.Tests.Support;

namespace Askr.Tests.Supervision;

/// <summary>Who may drive the admin endpoint: the token's holder, never a web page.</summary>
public sealed class AdminEndpointTests
{
    private static HttpRequestMessage Post(string path, string? token = null, string? origin = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (origin is not null) request.Headers.Add("Origin", origin);
        return request;
    }

    [Fact]
    public async Task State_changing_calls_need_the_token_and_foreign_origins_and_hosts_are_refused()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 1);
        using var anonymous = new HttpClient { BaseAddress = server.Admin.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        // A cross-site form post carries no token (and a foreign Origin).
        var noToken = await anonymous.SendAsync(Post("/stop"));
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Contains("Bearer", noToken.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Post("/reload", token: "not-the-token-0123456789"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.SendAsync(Post("/stop", server.AdminToken, origin: "http://evil.example"))).StatusCode);
        // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 reads /status.
        var rebound = new HttpRequestMessage(HttpMethod.Get, "/status");
        rebound.Headers.Host = $"evil.example:{server.AdminPort}";
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.SendAsync(rebound)).StatusCode);
        Assert.False(server.HasExited);
        var env = await server.GetJsonAsync("/env?name=ASKR_ADMIN_TOKEN");
        Assert.Equal(System.Text.Json.JsonValueKind.False, env.GetProperty("getenv").ValueKind);

        // Reads need no token; the endpoint's own origin is fine.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/status")).StatusCode);
        var stop = await anonymous.SendAsync(Post("/stop", server.AdminToken, origin: $"http://127.0.0.1:{server.AdminPort}"));
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Without_a_token_given_the_supervisor_generates_one_logs_it_and_keeps_it_from_php()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1, new Dictionary<string, string> { ["ASKR_ADMIN_TOKEN"] = "" });
        var line = server.Lines.FirstOrDefault(l => l.Contains("admin endpoint token"));
        Assert.NotNull(line);
        var token = line![(line.LastIndexOf(' ') + 1)..];
        Assert.Equal(64, token.Length);
        var env = await server.GetJsonAsync("/env?name=ASKR_ADMIN_TOKEN");
        Assert.Equal(System.Text.Json.JsonValueKind.False, env.GetProperty("getenv").ValueKind);

        using var anonymous = new HttpClient { BaseAddress = server.Admin.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(Post("/reload", AskrServer.TestAdminToken))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await anonymous.SendAsync(Post("/reload", token))).StatusCode);
    }

    [Fact]
    public async Task A_token_shorter_than_16_characters_is_refused_at_start()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            AskrServer.StartAsync("router.php", 1, new Dictionary<string, string> { ["ASKR_ADMIN_TOKEN"] = "short" }));
        Assert.Contains("must have at least 16 characters", error.Message);
    }
}
