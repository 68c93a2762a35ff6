using System.Net;
using Askr.Tests.Support;

namespace Askr.Tests.Front;

/// <summary>
/// An askr serve with --sendfile-root on a temp directory holding report.txt (1000 bytes),
/// a symbolic link that leads outside it, and, beside it, a secret file outside the root.
/// </summary>
public sealed class SendfileServer : IAsyncLifetime
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("askr-sendfile-").FullName;
    public string Root => Path.Combine(Dir, "files");
    public string Report => Path.Combine(Root, "report.txt");
    public string Secret => Path.Combine(Dir, "secret.txt");
    public string Content { get; } = string.Concat(Enumerable.Range(0, 1000).Select(i => (char)('0' + i % 10)));
    public AskrServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Root, "sub"));
        File.WriteAllText(Report, Content);
        File.WriteAllText(Secret, "outside the sendfile root\n");
        File.CreateSymbolicLink(Path.Combine(Root, "escape.txt"), Secret);
        Server = await AskrServer.StartAsync("router.php", 1, (IReadOnlyDictionary<string, string>?)null, "--sendfile-root", Root);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>X-Sendfile / X-Accel-Redirect answered by Kestrel from the file, ranges included (docs/tls.md).</summary>
public sealed class SendfileTests : IClassFixture<SendfileServer>
{
    private readonly SendfileServer _f;

    public SendfileTests(SendfileServer fixture) => _f = fixture;

    private string Url(string header, string path, string extra = "") =>
        $"http://127.0.0.1:{_f.Server.Port}/sendfile?header={header}&path={Uri.EscapeDataString(path)}{extra}";

    [Fact]
    public async Task X_sendfile_is_answered_from_the_file_with_its_length_and_type_and_without_the_header()
    {
        var r = await Curl.RunAsync("-D", "-", Url("X-Sendfile", _f.Report));
        var (head, body) = (r.Stdout[..r.Stdout.IndexOf("\r\n\r\n")], r.Stdout[(r.Stdout.IndexOf("\r\n\r\n") + 4)..]);
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Equal(_f.Content, body);
        Assert.Contains("content-length: 1000", head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("content-type: text/plain", head, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("accept-ranges: bytes", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("x-sendfile", head, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("10-19", 10, 10)]
    [InlineData("990-", 990, 10)]
    [InlineData("-5", 995, 5)]
    public async Task Ranges_of_an_x_sendfile_response_get_206_with_those_bytes(string range, int from, int length)
    {
        var r = await Curl.RunAsync("-r", range, "-w", "\n%{http_code}", Url("X-Sendfile", _f.Report));
        Assert.Equal($"{_f.Content.Substring(from, length)}\n206", r.Stdout);
    }

    [Fact]
    public async Task A_range_past_the_end_gets_416()
    {
        var r = await Curl.RunAsync("-r", "5000-6000", "-o", "/dev/null", "-w", "%{http_code}", Url("X-Sendfile", _f.Report));
        Assert.Equal("416", r.Stdout);
    }

    [Fact]
    public async Task X_accel_redirect_takes_a_uri_under_the_root_and_keeps_phps_content_type()
    {
        var r = await Curl.RunAsync("-D", "-", "-r", "0-3", Url("X-Accel-Redirect", "/report.txt", "&type=application/x-report"));
        Assert.StartsWith("HTTP/1.1 206", r.Stdout);
        Assert.Contains("content-type: application/x-report", r.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\n0123", r.Stdout);
    }

    [Theory]
    [InlineData("X-Sendfile", "secret", "outside the allowed directories")]
    [InlineData("X-Accel-Redirect", "/../secret.txt", "outside the allowed directories")]
    [InlineData("X-Sendfile", "escape", "a symbolic link leads outside the allowed directories")]
    [InlineData("X-Sendfile", "sub", "not a regular file")]
    public async Task A_path_outside_the_root_is_refused_with_500_and_the_reason_logged(string header, string which, string reason)
    {
        var path = which switch
        {
            "secret" => _f.Secret,
            "escape" => Path.Combine(_f.Root, "escape.txt"),
            "sub" => Path.Combine(_f.Root, "sub"),
            _ => which,
        };
        var r = await Curl.RunAsync("-w", "\n%{http_code}", Url(header, path));
        Assert.EndsWith("\n500", r.Stdout);
        Assert.DoesNotContain("outside the sendfile root", r.Stdout);
        Assert.DoesNotContain(path, r.Stdout);
        Assert.True(await _f.Server.WaitForLineAsync(l => l.Contains($"{header}: {path}: refused, {reason}"), TimeSpan.FromSeconds(10)),
            string.Join('\n', _f.Server.Lines.TakeLast(5)));
    }

    [Fact]
    public async Task A_missing_file_inside_the_root_is_404()
    {
        var r = await Curl.RunAsync("-o", "/dev/null", "-w", "%{http_code}", Url("X-Sendfile", Path.Combine(_f.Root, "nothing.txt")));
        Assert.Equal("404", r.Stdout);
    }

    [Fact]
    public async Task Without_sendfile_root_the_header_is_passed_on_and_phps_body_sent()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1);
        var response = await server.Client.GetAsync($"/sendfile?path={Uri.EscapeDataString(_f.Report)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_f.Report, response.Headers.GetValues("X-Sendfile").Single());
        Assert.Equal("the body PHP sent, which the file replaces", await response.Content.ReadAsStringAsync());
    }
}
