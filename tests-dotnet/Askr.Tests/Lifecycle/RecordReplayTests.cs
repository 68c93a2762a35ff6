using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Lifecycle;

/// <summary>askr serve --record-errors and askr replay (docs/lifecycle.md), with a real server and the real binary.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RecordReplayTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"askr-records-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static HttpRequestMessage Order(int qty) => new(HttpMethod.Post, "/orders")
    {
        Headers = { { "Authorization", "Bearer s3cret" }, { "Cookie", "session=abc" }, { "X-Trace", "t-1" } },
        Content = new StringContent($$"""{"qty": {{qty}}, "password": "hunter2", "item": "tea"}""", Encoding.UTF8, "application/json"),
    };

    private string[] Records() => Directory.Exists(_dir) ? Directory.GetFiles(_dir, "*.json").Order(StringComparer.Ordinal).ToArray() : [];

    private static async Task<(int Code, string Stdout, string Stderr)> AskrAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(AskrServer.Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { process.Kill(true); throw; }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string[] ReplayArgs(string file) =>
        ["replay", file, "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "record.php")];

    [Fact]
    public async Task A_request_that_fails_is_recorded_redacted_0600_and_replays_to_the_same_failure_and_the_cap_removes_the_oldest()
    {
        await using var server = await AskrServer.StartAsync("record.php", 1, "--record-errors", _dir, "--record-max-files", "3");

        Assert.Equal(HttpStatusCode.OK, (await server.Client.SendAsync(Order(2))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/not-found")).StatusCode);
        var failed = await server.Client.SendAsync(Order(-1));
        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        var failedBody = await failed.Content.ReadAsStringAsync();

        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(Records().Length == 1), TimeSpan.FromSeconds(10)), "one record, for the 500 only");
        var file = Records()[0];
        Assert.Matches(@"^\d{8}T\d{6}\.\d{3}Z-w0-p\d+-\d{6}\.json$", Path.GetFileName(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        var json = JsonDocument.Parse(await File.ReadAllTextAsync(file)).RootElement;
        Assert.Equal(500, json.GetProperty("status").GetInt32());
        var request = json.GetProperty("request");
        Assert.Equal("POST", request.GetProperty("method").GetString());
        Assert.Equal("/orders", request.GetProperty("uri").GetString());
        Assert.Equal("[redacted]", request.GetProperty("headers").GetProperty("Authorization").GetString());
        Assert.Equal("[redacted]", request.GetProperty("headers").GetProperty("Cookie").GetString());
        Assert.Equal("t-1", request.GetProperty("headers").GetProperty("X-Trace").GetString());
        Assert.Equal("[redacted]", request.GetProperty("server").GetProperty("HTTP_AUTHORIZATION").GetString());
        Assert.Equal("POST", request.GetProperty("server").GetProperty("REQUEST_METHOD").GetString());
        var body = JsonDocument.Parse(request.GetProperty("body").GetString()!).RootElement;
        Assert.Equal(-1, body.GetProperty("qty").GetInt32());
        Assert.Equal("[redacted]", body.GetProperty("password").GetString());
        Assert.DoesNotContain("s3cret", await File.ReadAllTextAsync(file));
        Assert.DoesNotContain("hunter2", await File.ReadAllTextAsync(file));

        // Replayed in a fresh interpreter: the same failure, with the redacted values.
        var (code, stdout, stderr) = await AskrAsync(ReplayArgs(file));
        Assert.True(code == 0, stderr);
        Assert.StartsWith("HTTP/1.1 500 Internal Server Error\r\n", stdout);
        Assert.Contains("X-Failure: qty\r\n", stdout);
        Assert.EndsWith("order rejected: qty=-1 auth=[redacted] password=[redacted]", stdout);
        Assert.StartsWith("order rejected: qty=-1 auth=Bearer s3cret password=hunter2", failedBody);
        Assert.Contains("header Authorization was redacted", stderr);

        // The cap (3 files): after four more failures the first record is gone.
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.InternalServerError, (await server.Client.SendAsync(Order(0))).StatusCode);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(Records().Length == 3 && !File.Exists(file)), TimeSpan.FromSeconds(10)),
            string.Join(", ", Records().Select(Path.GetFileName)));
    }

    [Fact]
    public async Task With_record_sensitive_the_credentials_are_recorded_and_replayed_as_they_were()
    {
        await using var server = await AskrServer.StartAsync("record.php", 1, "--record-errors", _dir, "--record-sensitive");
        Assert.Equal(HttpStatusCode.InternalServerError, (await server.Client.SendAsync(Order(0))).StatusCode);
        Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(Records().Length == 1), TimeSpan.FromSeconds(10)));

        var (code, stdout, stderr) = await AskrAsync(ReplayArgs(Records()[0]));
        Assert.True(code == 0, stderr);
        Assert.EndsWith("order rejected: qty=0 auth=Bearer s3cret password=hunter2", stdout);
    }

    [Fact]
    public async Task Replay_of_a_malformed_record_says_what_is_wrong()
    {
        Directory.CreateDirectory(_dir);
        var cases = new (string Content, string Expected)[]
        {
            ("{\"askr_record\": 1, \"request\": {\"method\": \"GET\"", "not valid JSON"),
            ("[1, 2]", "not an object"),
            ("{\"request\": {}}", "\"askr_record\" is missing"),
            ("{\"askr_record\": 1, \"request\": {\"method\": \"GET\", \"headers\": {}, \"server\": {}}}", "\"request.uri\" is missing"),
            ("{\"askr_record\": 1, \"request\": {\"method\": \"GET\", \"uri\": \"/\", \"headers\": {\"A\": 1}, \"server\": {}}}", "\"request.headers.A\" must be a string"),
        };
        foreach (var (content, expected) in cases)
        {
            var file = Path.Combine(_dir, $"bad-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(file, content);
            var (code, stdout, stderr) = await AskrAsync(ReplayArgs(file));
            Assert.Equal(65, code);
            Assert.Contains(expected, stderr);
            Assert.Equal("", stdout);
        }
    }

    [Fact]
    public async Task A_record_directory_that_cannot_be_written_is_reported_at_start()
    {
        // A path under a regular file: no directory can be made there, even as root.
        Directory.CreateDirectory(_dir);
        var blocker = Path.Combine(_dir, "a-file");
        await File.WriteAllTextAsync(blocker, "");
        var (code, _, stderr) = await AskrAsync("serve", "--root", Path.Combine(AskrServer.PhpDir, "public"),
            "--worker-script", Path.Combine(AskrServer.PhpDir, "record.php"), "--port", "0", "--record-errors", Path.Combine(blocker, "records"));
        Assert.Equal(2, code);
        Assert.Contains("--record-errors", stderr);
        Assert.Contains("cannot be written", stderr);
    }
}
