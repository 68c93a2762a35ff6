using System.Diagnostics;
using System.Net;
using Askr.Tests.Support;

namespace Askr.Tests.ResponseCache;

/// <summary>One askr serve with two HTTP workers, --response-cache and php/cache.php, which logs every request PHP sees.</summary>
public sealed class CacheServer : IAsyncLifetime
{
    public AskrServer Server { get; private set; } = null!;
    public string Log { get; } = Path.Combine(Path.GetTempPath(), $"askr-cache-{Guid.NewGuid():N}.log");
    public string Token { get; } = "token-" + Guid.NewGuid().ToString("N");

    public async Task InitializeAsync()
    {
        File.WriteAllText(Log, "");
        Server = await AskrServer.StartAsync("cache.php", 2, new Dictionary<string, string> { ["ASKR_TEST_CACHE_LOG"] = Log, ["ASKR_ADMIN_TOKEN"] = Token },
            "--response-cache", "16M", "--response-cache-ignore-cookies", "_ga*,consent", "--log-level", "debug", "--no-access-log");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        File.Delete(Log);
    }

    /// <summary>How many requests PHP saw whose target contains <paramref name="marker"/>.</summary>
    public int PhpSaw(string marker) => File.ReadAllLines(Log).Count(l => l.Contains(marker, StringComparison.Ordinal));
}

public sealed class ResponseCacheTests : IClassFixture<CacheServer>
{
    private readonly CacheServer _fixture;
    private readonly AskrServer _server;

    public ResponseCacheTests(CacheServer fixture)
    {
        _fixture = fixture;
        _server = fixture.Server;
    }

    private static string Unique(string name) => $"/{name}-{Guid.NewGuid():N}";

    private static string State(HttpResponseMessage r) => r.Headers.TryGetValues("X-Askr-Cache", out var v) ? string.Join(",", v) : "(none)";

    private async Task<(HttpResponseMessage Response, string Body)> Send(HttpMethod method, string target, params (string, string)[] headers)
    {
        var request = new HttpRequestMessage(method, target);
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        var response = await _server.Client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private Task<(HttpResponseMessage Response, string Body)> Get(string target, params (string, string)[] headers) => Send(HttpMethod.Get, target, headers);

    [Fact]
    public async Task A_miss_is_stored_and_the_next_request_is_a_hit_that_php_never_sees()
    {
        var path = Unique("hit");
        var target = path + "?h=" + Uri.EscapeDataString("60, tags=posts");
        var (first, body1) = await Get(target);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("MISS", State(first));
        Assert.False(first.Headers.Contains("Askr-Cache"));
        var (second, body2) = await Get(target);
        Assert.Equal("HIT", State(second));
        Assert.Equal(body1, body2);
        Assert.False(second.Headers.Contains("Askr-Cache"));
        Assert.True(second.Headers.Age.HasValue);
        Assert.Equal("text/plain", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task Head_is_answered_from_the_get_entry()
    {
        var path = Unique("head");
        var target = path + "?h=60";
        var (get, body) = await Get(target);
        Assert.Equal("MISS", State(get));
        var (head, _) = await Send(HttpMethod.Head, target);
        Assert.Equal("HIT", State(head));
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
        Assert.Equal(1, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task A_head_miss_is_not_stored_as_the_get_entry()
    {
        var path = Unique("head-first");
        var target = path + "?h=60";
        var (head, _) = await Send(HttpMethod.Head, target);
        Assert.Equal("MISS", State(head));
        var (get, body) = await Get(target);
        Assert.Equal("MISS", State(get));
        Assert.Contains("pid=", body);
        var (again, body2) = await Get(target);
        Assert.Equal("HIT", State(again));
        Assert.Equal(body, body2);
    }

    [Fact]
    public async Task An_entry_expires_after_its_ttl()
    {
        var path = Unique("ttl");
        var target = path + "?h=1";
        var started = Stopwatch.StartNew();
        Assert.Equal("MISS", State((await Get(target)).Response));
        Assert.Equal("HIT", State((await Get(target)).Response));
        var expired = await AskrServer.EventuallyAsync(async () => State((await Get(target)).Response) == "MISS", TimeSpan.FromSeconds(10));
        Assert.True(expired);
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(1), $"expired after {started.Elapsed}");
        Assert.Equal(2, _fixture.PhpSaw(path));
    }

    [Theory]
    [InlineData("Cookie", "session=abc")]
    [InlineData("Cookie", "_ga=1; session=abc")]
    [InlineData("Authorization", "Bearer x")]
    public async Task A_request_with_a_cookie_or_authorization_bypasses_the_cache(string header, string value)
    {
        var path = Unique("bypass");
        var target = path + "?h=60";
        var (first, _) = await Get(target, (header, value));
        Assert.Equal("BYPASS", State(first));
        var (second, _) = await Get(target, (header, value));
        Assert.Equal("BYPASS", State(second));
        // Nothing was stored from them: an anonymous request misses.
        Assert.Equal("MISS", State((await Get(target)).Response));
        Assert.Equal(3, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task Cookies_on_the_ignore_list_do_not_bypass()
    {
        var path = Unique("ignored");
        var target = path + "?h=60";
        Assert.Equal("MISS", State((await Get(target)).Response));
        Assert.Equal("HIT", State((await Get(target, ("Cookie", "_ga=GA1.2.3; consent=yes"))).Response));
        Assert.Equal(1, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task Set_cookie_is_never_replayed_to_another_client()
    {
        var path = Unique("cookie");
        var target = path + "?h=60&cookie=1";
        var (first, _) = await Get(target);
        Assert.Equal("MISS", State(first));
        Assert.True(first.Headers.Contains("Set-Cookie"));
        var (second, _) = await Get(target);
        Assert.Equal("HIT", State(second));
        Assert.False(second.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("&cc=private")]
    [InlineData("&cc=no-store")]
    [InlineData("&cc=" + "no-cache%2C%20private")]
    [InlineData("&status=500")]
    [InlineData("&status=302")]
    [InlineData("&vary=*")]
    public async Task What_the_rails_refuse_is_not_stored(string query)
    {
        var path = Unique("refused");
        var target = path + "?h=60" + query;
        Assert.Equal("MISS", State((await Get(target)).Response));
        Assert.Equal("MISS", State((await Get(target)).Response));
        Assert.Equal(2, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task A_404_is_heuristically_cacheable()
    {
        var path = Unique("notfound");
        var target = path + "?h=60&status=404";
        Assert.Equal("MISS", State((await Get(target)).Response));
        var (hit, _) = await Get(target);
        Assert.Equal(HttpStatusCode.NotFound, hit.StatusCode);
        Assert.Equal("HIT", State(hit));
    }

    [Fact]
    public async Task Vary_keys_the_entry_on_the_listed_request_headers()
    {
        var path = Unique("vary");
        var target = path + "?h=60&vary=Accept-Language";
        var (en1, enBody) = await Get(target, ("Accept-Language", "en"));
        var (de1, deBody) = await Get(target, ("Accept-Language", "de"));
        Assert.Equal("MISS", State(en1));
        Assert.Equal("MISS", State(de1));
        var (en2, enBody2) = await Get(target, ("Accept-Language", "en"));
        var (de2, deBody2) = await Get(target, ("Accept-Language", "de"));
        Assert.Equal("HIT", State(en2));
        Assert.Equal("HIT", State(de2));
        Assert.Equal(enBody, enBody2);
        Assert.Equal(deBody, deBody2);
        Assert.Contains("varied=en", enBody2);
        Assert.Contains("varied=de", deBody2);
        Assert.Equal(2, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task Conditional_requests_get_304_against_the_stored_validators()
    {
        var path = Unique("cond");
        var lastModified = "Mon, 07 Dec 2026 10:00:00 GMT";
        var target = path + "?h=60&etag=" + Uri.EscapeDataString("\"v1\"") + "&lm=" + Uri.EscapeDataString(lastModified);
        Assert.Equal("MISS", State((await Get(target)).Response));
        var (etag, body) = await Get(target, ("If-None-Match", "W/\"v1\""));
        Assert.Equal(HttpStatusCode.NotModified, etag.StatusCode);
        Assert.Equal("", body);
        Assert.Equal("\"v1\"", etag.Headers.ETag?.ToString());
        var (other, _) = await Get(target, ("If-None-Match", "\"v2\""));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        var (since, _) = await Get(target, ("If-Modified-Since", "Mon, 07 Dec 2026 11:00:00 GMT"));
        Assert.Equal(HttpStatusCode.NotModified, since.StatusCode);
        var (before, _) = await Get(target, ("If-Modified-Since", "Mon, 07 Dec 2026 09:00:00 GMT"));
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(1, _fixture.PhpSaw(path));
    }

    [Theory]
    [InlineData("abc", "bad ttl")]
    [InlineData("60, color=blue", "unknown directive")]
    [InlineData("60, swr=x", "bad swr")]
    [InlineData("60, tags=", "empty tag")]
    [InlineData("many-tags", "more than 64 tags")]
    [InlineData("long-tag", "at most 200 bytes")]
    public async Task A_malformed_header_is_logged_once_per_route_and_the_response_is_sent_uncached(string header, string reason)
    {
        var path = Unique("malformed");
        var target = path + (header is "many-tags" or "long-tag" ? "?hx=" + header : "?h=" + Uri.EscapeDataString(header));
        for (var i = 0; i < 2; i++)
        {
            var (r, body) = await Get(target);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("MISS", State(r));
            Assert.False(r.Headers.Contains("Askr-Cache"));
            Assert.Contains("pid=", body);
        }
        Assert.Equal(2, _fixture.PhpSaw(path));
        Assert.True(await _server.WaitForLineAsync(l => l.Contains(path) && l.Contains("malformed Askr-Cache") && l.Contains(reason), TimeSpan.FromSeconds(5)),
            string.Join('\n', _server.Lines.TakeLast(20)));
        Assert.Single(_server.Lines, l => l.Contains(path) && l.Contains("malformed Askr-Cache"));
    }

    [Fact]
    public async Task Within_swr_a_stale_entry_is_served_at_once_while_exactly_one_refresh_runs()
    {
        var path = Unique("swr");
        // The refresh takes 2 s, so the 10 requests below all fall inside it even on a loaded machine
        // (with 300 ms, a slow burst could arrive after the refresh had landed: all HIT, no old body).
        var target = path + "?h=" + Uri.EscapeDataString("1, swr=30") + "&sleep=2000";
        var (first, oldBody) = await Get(target);
        Assert.Equal("MISS", State(first));
        // Past the ttl: every request is answered STALE with the old body, none waits for PHP's 2 s.
        Assert.True(await AskrServer.EventuallyAsync(async () => State((await Get(target)).Response) == "STALE", TimeSpan.FromSeconds(10)));
        var started = Stopwatch.StartNew();
        var stale = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Get(target)));
        Assert.All(stale, r => Assert.Contains(State(r.Response), new[] { "STALE", "HIT" }));
        Assert.Contains(stale, r => r.Body == oldBody);
        Assert.True(started.Elapsed < TimeSpan.FromMilliseconds(1500), $"stale answers took {started.Elapsed}");
        // The refresh lands: a HIT with a new body, after exactly one more PHP run.
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var (r, body) = await Get(target);
            return State(r) == "HIT" && body != oldBody;
        }, TimeSpan.FromSeconds(10)));
        Assert.Equal(2, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task Within_sie_a_stale_entry_answers_instead_of_a_500()
    {
        var failFile = Path.Combine(Path.GetTempPath(), $"askr-fail-{Guid.NewGuid():N}");
        try
        {
            var path = Unique("sie");
            var target = path + "?h=" + Uri.EscapeDataString("1, sie=60") + "&failfile=" + Uri.EscapeDataString(failFile);
            var (first, oldBody) = await Get(target);
            Assert.Equal("MISS", State(first));
            File.WriteAllText(failFile, "fail");
            // Past the ttl PHP answers 500; the stale entry is sent instead.
            Assert.True(await AskrServer.EventuallyAsync(async () => State((await Get(target)).Response) == "STALE", TimeSpan.FromSeconds(10)));
            var (stale, body) = await Get(target);
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
            Assert.Equal("STALE", State(stale));
            Assert.Equal(oldBody, body);
            File.Delete(failFile);
            var (fresh, newBody) = await Get(target);
            Assert.Equal("MISS", State(fresh));
            Assert.NotEqual(oldBody, newBody);
        }
        finally
        {
            File.Delete(failFile);
        }
    }

    [Fact]
    public async Task Without_sie_an_error_after_the_ttl_reaches_the_client()
    {
        var failFile = Path.Combine(Path.GetTempPath(), $"askr-fail-{Guid.NewGuid():N}");
        try
        {
            var target = Unique("nosie") + "?h=1&failfile=" + Uri.EscapeDataString(failFile);
            Assert.Equal("MISS", State((await Get(target)).Response));
            File.WriteAllText(failFile, "fail");
            Assert.True(await AskrServer.EventuallyAsync(async () => (await Get(target)).Response.StatusCode == HttpStatusCode.InternalServerError, TimeSpan.FromSeconds(10)));
        }
        finally
        {
            File.Delete(failFile);
        }
    }

    [Fact]
    public async Task Concurrent_cold_requests_run_php_once_and_all_get_the_answer()
    {
        var path = Unique("stampede");
        var target = path + "?h=60&sleep=300";
        using var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = 1000 })
        {
            BaseAddress = _server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30),
        };
        // Open the 200 connections (and JIT the path) first, on another key: the time asserted is
        // the coalescing's, not the accepting of 200 connections on a loaded machine.
        var warm = Unique("stampede-warm") + "?h=60";
        await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ => { using var r = await client.GetAsync(warm); }));
        var started = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var r = await client.GetAsync(target);
            return ((int)r.StatusCode, State(r), await r.Content.ReadAsStringAsync());
        }));
        var elapsed = started.Elapsed;
        Assert.All(responses, r => Assert.Equal(200, r.Item1));
        Assert.Single(responses.Select(r => r.Item3).Distinct());
        Assert.Equal(1, _fixture.PhpSaw(path));
        Assert.Equal(1, responses.Count(r => r.Item2 == "MISS"));
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"200 cold requests took {elapsed}");
    }

    [Fact]
    public async Task Concurrent_cold_requests_to_a_vary_route_find_the_response_when_woken_and_run_php_once()
    {
        // The leader's answer has Vary: it is stored under the Vary key before the Vary marker
        // settles the primary key, so no woken waiter finds the marker without the response.
        var path = Unique("stampede-vary");
        var target = path + "?h=60&sleep=300&vary=Accept-Language";
        using var client = new HttpClient(new SocketsHttpHandler { UseCookies = false, MaxConnectionsPerServer = 1000 })
        {
            BaseAddress = _server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30),
        };
        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.TryAddWithoutValidation("Accept-Language", "de");
            using var r = await client.SendAsync(request);
            return ((int)r.StatusCode, State(r));
        }));
        Assert.All(responses, r => Assert.Equal(200, r.Item1));
        Assert.Equal(1, _fixture.PhpSaw(path));
        Assert.Equal(1, responses.Count(r => r.Item2 == "MISS"));
        Assert.Equal(99, responses.Count(r => r.Item2 == "COALESCED"));
    }

    [Fact]
    public async Task A_leader_killed_mid_request_hands_over_to_a_waiter_of_another_worker()
    {
        var path = Unique("handover");
        var target = path + "?h=60&sleep=1500";
        using var leaderClient = new HttpClient { BaseAddress = _server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var leader = leaderClient.GetAsync(target);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(_fixture.PhpSaw(path) == 1), TimeSpan.FromSeconds(10)));
        var line = File.ReadAllLines(_fixture.Log).Single(l => l.Contains(path));
        var leaderPid = int.Parse(line[(line.LastIndexOf("pid=", StringComparison.Ordinal) + 4)..]);
        // Waiters on new connections: the kernel spreads them over both workers; those on the
        // leader's worker die with it, the others must take over.
        var waiters = Enumerable.Range(0, 12).Select(async _ =>
        {
            using var client = new HttpClient { BaseAddress = _server.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            try
            {
                using var r = await client.GetAsync(target);
                return ((int)r.StatusCode, State(r), await r.Content.ReadAsStringAsync());
            }
            catch (HttpRequestException)
            {
                return (0, "reset", "");
            }
        }).ToList();
        await Task.Delay(300); // let the waiters reach the cache's wait loop (no condition to poll from outside)
        AskrServer.SignalPid(leaderPid, AskrServer.SigKill);
        var results = await Task.WhenAll(waiters);
        // The leader's own client sees its connection reset, or HttpClient retries the GET on a new
        // connection, which then waits like the others and may be the one that takes over: so a
        // retried leader's answer counts with the waiters'.
        var all = results.ToList();
        try
        {
            using var r = await leader;
            all.Add(((int)r.StatusCode, State(r), await r.Content.ReadAsStringAsync()));
        }
        catch (Exception) { }
        var served = all.Where(r => r.Item1 == 200).ToList();
        Assert.NotEmpty(served);
        Assert.Single(served.Select(r => r.Item3).Distinct());
        Assert.DoesNotContain($"pid={leaderPid} ", served[0].Item3);
        // PHP ran twice: the killed leader and the one waiter that took over.
        Assert.Equal(2, _fixture.PhpSaw(path));
        Assert.Equal(1, served.Count(r => r.Item2 == "MISS"));
    }

    [Fact]
    public async Task Waiters_behind_an_uncacheable_leader_run_php_themselves()
    {
        var path = Unique("hfm");
        var target = path + "?sleep=200";
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Get(target)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.Response.StatusCode));
        Assert.Equal(6, _fixture.PhpSaw(path));
    }

    [Fact]
    public async Task An_entry_survives_the_crash_of_the_worker_that_stored_it()
    {
        var path = Unique("crash");
        var target = path + "?h=60";
        var (first, body) = await Get(target);
        Assert.Equal("MISS", State(first));
        var pid = int.Parse(body.Split(' ')[0]["pid=".Length..]);
        var before = await _server.WorkerPidsAsync();
        AskrServer.SignalPid(pid, AskrServer.SigKill);
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var pids = await _server.WorkerPidsAsync();
            return !pids.Contains(pid) && pids.Length == before.Length && pids.All(p => p > 0);
        }, TimeSpan.FromSeconds(30)));
        for (var i = 0; i < 4; i++)
        {
            using var fresh = new HttpClient { BaseAddress = _server.Client.BaseAddress };
            var r = await fresh.GetAsync(target);
            Assert.Equal("HIT", State(r));
            Assert.Equal(body, await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(1, _fixture.PhpSaw(path));
    }

    private async Task<string> Purge(string query)
    {
        var (r, body) = await Get("/purge?" + query);
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        return body;
    }

    /// <summary>GETs over a new connection each time, so the kernel spreads them over both workers.</summary>
    private async Task<string> StateOverNewConnection(string target)
    {
        using var client = new HttpClient { BaseAddress = _server.Client.BaseAddress };
        using var r = await client.GetAsync(target);
        return State(r);
    }

    [Fact]
    public async Task A_tag_purge_in_one_worker_makes_the_tagged_entries_stale_in_every_worker_at_once()
    {
        var tag = "posts-" + Guid.NewGuid().ToString("N");
        var a = Unique("tag-a") + "?h=" + Uri.EscapeDataString($"60, tags=other,{tag}");
        var b = Unique("tag-b") + "?h=" + Uri.EscapeDataString($"60, tags={tag}");
        var untouched = Unique("tag-c") + "?h=" + Uri.EscapeDataString("60, tags=other-" + tag);
        foreach (var t in new[] { a, b, untouched }) Assert.Equal("MISS", State((await Get(t)).Response));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("HIT", await StateOverNewConnection(a));
            Assert.Equal("HIT", await StateOverNewConnection(b));
        }
        await Purge("tag=" + tag);
        Assert.Equal("MISS", await StateOverNewConnection(a));
        Assert.Equal("MISS", await StateOverNewConnection(b));
        Assert.Equal("HIT", await StateOverNewConnection(untouched));
        for (var i = 0; i < 4; i++) Assert.Equal("HIT", await StateOverNewConnection(a));
    }

    [Fact]
    public async Task Tags_purge_as_a_list()
    {
        var t1 = "l1-" + Guid.NewGuid().ToString("N");
        var t2 = "l2-" + Guid.NewGuid().ToString("N");
        var a = Unique("list-a") + "?h=" + Uri.EscapeDataString($"60, tags={t1}");
        var b = Unique("list-b") + "?h=" + Uri.EscapeDataString($"60, tags={t2}");
        foreach (var t in new[] { a, b }) Assert.Equal("MISS", State((await Get(t)).Response));
        await Purge($"tags[]={t1}&tags[]={t2}");
        foreach (var t in new[] { a, b }) Assert.Equal("MISS", State((await Get(t)).Response));
    }

    [Fact]
    public async Task Purge_by_url_forgets_every_variant_of_that_url_only()
    {
        var path = Unique("url");
        var target = path + "?h=60&vary=Accept-Language";
        var other = path + "?h=60&other=1";
        Assert.Equal("MISS", State((await Get(target, ("Accept-Language", "en"))).Response));
        Assert.Equal("MISS", State((await Get(target, ("Accept-Language", "de"))).Response));
        Assert.Equal("MISS", State((await Get(other)).Response));
        await Purge("url=" + Uri.EscapeDataString("http://example.test" + target));
        Assert.Equal("MISS", State((await Get(target, ("Accept-Language", "en"))).Response));
        Assert.Equal("MISS", State((await Get(target, ("Accept-Language", "de"))).Response));
        Assert.Equal("HIT", State((await Get(other)).Response));
    }

    private async Task<HttpResponseMessage> AdminPurge(string query, string? token)
    {
        // A client of its own: the server's admin client sends the admin token by default.
        using var client = new HttpClient { BaseAddress = _server.Admin.BaseAddress };
        var request = new HttpRequestMessage(HttpMethod.Post, "/cache/purge?" + query);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task The_admin_endpoint_purges_by_tag_and_url_with_the_admin_token_only()
    {
        var tag = "admin-" + Guid.NewGuid().ToString("N");
        var tagged = Unique("admin-tag") + "?h=" + Uri.EscapeDataString($"60, tags={tag}");
        var byUrl = Unique("admin-url") + "?h=60";
        foreach (var t in new[] { tagged, byUrl }) Assert.Equal("MISS", State((await Get(t)).Response));

        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminPurge("tag=" + tag, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminPurge("tag=" + tag, "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AdminPurge("", _fixture.Token)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await AdminPurge("tag=", _fixture.Token)).StatusCode);
        foreach (var t in new[] { tagged, byUrl }) Assert.Equal("HIT", State((await Get(t)).Response));

        Assert.Equal(HttpStatusCode.OK, (await AdminPurge("tag=" + tag, _fixture.Token)).StatusCode);
        Assert.Equal("MISS", State((await Get(tagged)).Response));
        Assert.Equal("HIT", State((await Get(byUrl)).Response));
        Assert.Equal(HttpStatusCode.OK, (await AdminPurge("url=" + Uri.EscapeDataString(byUrl), _fixture.Token)).StatusCode);
        Assert.Equal("MISS", State((await Get(byUrl)).Response));
    }

    [Fact]
    public async Task Workers_do_not_see_the_admin_token()
    {
        var (r, body) = await Get("/env?name=ASKR_ADMIN_TOKEN");
        Assert.Equal("false", body);
        var (log, body2) = await Get("/env?name=ASKR_TEST_CACHE_LOG");
        Assert.Contains("askr-cache-", body2);
    }

    [Fact]
    public async Task Status_counts_hits_misses_bypasses_and_bytes()
    {
        var before = (await _server.StatusAsync()).GetProperty("response_cache");
        var target = Unique("status") + "?h=60";
        await Get(target);
        await Get(target);
        await Get(target, ("Cookie", "session=1"));
        var after = (await _server.StatusAsync()).GetProperty("response_cache");
        long Delta(string name) => after.GetProperty(name).GetInt64() - before.GetProperty(name).GetInt64();
        Assert.True(Delta("hits") >= 1);
        Assert.True(Delta("misses") >= 1);
        Assert.True(Delta("bypasses") >= 1);
        Assert.True(Delta("stores") >= 1);
        Assert.True(after.GetProperty("bytes_used").GetInt64() > 0);
        Assert.True(after.GetProperty("bytes_total").GetInt64() >= 16L * 1024 * 1024 - 1024 * 1024);
    }

    [Fact]
    public async Task Bad_purge_arguments_are_php_errors()
    {
        var (empty, body) = await Get("/purge?tag=");
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("ValueError", body);
        var (longTag, body2) = await Get("/purge?tag=" + new string('x', 201));
        Assert.Equal(HttpStatusCode.BadRequest, longTag.StatusCode);
        Assert.Contains("longer than 200 bytes", body2);
        var (emptyUrl, body3) = await Get("/purge?url=");
        Assert.Equal(HttpStatusCode.BadRequest, emptyUrl.StatusCode);
        Assert.Contains("must not be empty", body3);
    }
}

/// <summary>Flush empties the cache for everyone: a server of its own, so it does not race the other tests.</summary>
public sealed class ResponseCacheFlushTests
{
    [Fact]
    public async Task Flush_invalidates_every_entry()
    {
        var log = Path.Combine(Path.GetTempPath(), $"askr-cache-{Guid.NewGuid():N}.log");
        try
        {
            await using var server = await AskrServer.StartAsync("cache.php", 1, new Dictionary<string, string> { ["ASKR_TEST_CACHE_LOG"] = log }, "--response-cache", "4M");
            string State(HttpResponseMessage r) => string.Join(",", r.Headers.GetValues("X-Askr-Cache"));
            foreach (var p in new[] { "/f1?h=60", "/f2?h=60" }) Assert.Equal("MISS", State(await server.Client.GetAsync(p)));
            foreach (var p in new[] { "/f1?h=60", "/f2?h=60" }) Assert.Equal("HIT", State(await server.Client.GetAsync(p)));
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/purge?flush=1")).StatusCode);
            foreach (var p in new[] { "/f1?h=60", "/f2?h=60" }) Assert.Equal("MISS", State(await server.Client.GetAsync(p)));
            // The admin endpoint's purge needs the admin token, as every state-changing admin call does.
            using var anonymous = new HttpClient { BaseAddress = server.Admin.BaseAddress };
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/cache/purge?flush=1", null)).StatusCode);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task Without_response_cache_the_header_is_still_removed_and_nothing_is_labelled()
    {
        var log = Path.Combine(Path.GetTempPath(), $"askr-cache-{Guid.NewGuid():N}.log");
        try
        {
            await using var server = await AskrServer.StartAsync("cache.php", 1, new Dictionary<string, string> { ["ASKR_TEST_CACHE_LOG"] = log });
            var r = await server.Client.GetAsync("/off?h=60");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.False(r.Headers.Contains("Askr-Cache"));
            Assert.False(r.Headers.Contains("X-Askr-Cache"));
            // The purge natives do nothing without a cache.
            Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/purge?tag=x&flush=1&url=/off")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await server.Admin.PostAsync("/cache/purge?tag=x", null)).StatusCode);
            Assert.False((await server.StatusAsync()).TryGetProperty("response_cache", out var rc) && rc.ValueKind != System.Text.Json.JsonValueKind.Null);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Theory]
    [InlineData("abc", "expected a size")]
    [InlineData("1M", "at least 2M")]
    [InlineData("12Mi", "expected a size")]
    public async Task A_bad_response_cache_size_is_refused_at_start(string size, string message)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(AskrServer.Binary)
        {
            ArgumentList = { "serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "cache.php"), "--port", "0", "--response-cache", size },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains(message, stderr);
    }
}
