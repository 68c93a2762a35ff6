using System.Net;
using System.Text;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Php;

/// <summary>The Ephpm\Octane natives as a worker script sees them, through a real askr serve.</summary>
public sealed class NativesTests : IClassFixture<RouterServer>
{
    private readonly AskrServer _server;

    public NativesTests(RouterServer fixture) => _server = fixture.Server;

    [Fact]
    public async Task The_shim_registers_every_native_and_the_table_class_exactly_as_the_stub_declares_them()
    {
        // The shim's arginfo is generated from php/octane-driver/stubs/natives.php at the build;
        // reflection inside the worker must read the stub's signatures back, name for name.
        var inside = JsonDocument.Parse(await _server.Client.GetStringAsync("/signatures")).RootElement;
        var stub = JsonDocument.Parse(await Php(Path.Combine(AskrServer.RepoRoot, "tests-php", "Support", "NativeSignatures.php"),
            Path.Combine(AskrServer.RepoRoot, "php", "octane-driver", "stubs", "natives.php"))).RootElement;

        Assert.Equal(JsonSerializer.Serialize(stub.GetProperty("functions")), JsonSerializer.Serialize(inside.GetProperty("functions")));
        Assert.Equal(JsonSerializer.Serialize(stub.GetProperty("classes")), JsonSerializer.Serialize(inside.GetProperty("classes")));
        Assert.True(stub.GetProperty("functions").EnumerateObject().Count() >= 15);
    }

    private static async Task<string> Php(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("php") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"php {string.Join(' ', args)}: {error}");
        return output;
    }

    [Fact]
    public async Task Table_names_is_empty_on_a_server_started_without_tables()
    {
        var body = JsonDocument.Parse(await _server.Client.GetStringAsync("/table-names")).RootElement;
        Assert.Equal(JsonValueKind.Array, body.GetProperty("names").ValueKind);
        Assert.Equal(0, body.GetProperty("names").GetArrayLength());
    }

    [Fact]
    public async Task Take_request_carries_method_uri_protocol_headers_server_variables_and_body()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/echo?x=1&y=two")
        {
            Content = new StringContent("hello body", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("X-Test", "yes");
        request.Headers.Add("Cookie", "a=1; b=2");
        var response = await _server.Client.SendAsync(request);
        var e = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("POST", e.GetProperty("method").GetString());
        Assert.Equal("/echo?x=1&y=two", e.GetProperty("uri").GetString());
        Assert.Equal("HTTP/1.1", e.GetProperty("protocol").GetString());
        Assert.Equal("hello body", e.GetProperty("body").GetString());
        var headers = e.GetProperty("headers");
        Assert.Equal("yes", headers.GetProperty("X-Test").GetString());
        Assert.Equal("a=1; b=2", headers.GetProperty("Cookie").GetString());
        var server = e.GetProperty("server");
        Assert.Equal("POST", server.GetProperty("REQUEST_METHOD").GetString());
        Assert.Equal("/echo?x=1&y=two", server.GetProperty("REQUEST_URI").GetString());
        Assert.Equal("x=1&y=two", server.GetProperty("QUERY_STRING").GetString());
        Assert.Equal("127.0.0.1", server.GetProperty("REMOTE_ADDR").GetString());
        Assert.Equal(_server.Port.ToString(), server.GetProperty("SERVER_PORT").GetString());
        Assert.Equal("http", server.GetProperty("REQUEST_SCHEME").GetString());
        Assert.False(server.TryGetProperty("HTTPS", out _));
        Assert.Equal("10", server.GetProperty("CONTENT_LENGTH").GetString());
        Assert.StartsWith("text/plain", server.GetProperty("CONTENT_TYPE").GetString());
        Assert.Equal("yes", server.GetProperty("HTTP_X_TEST").GetString());
        Assert.True(long.Parse(server.GetProperty("REQUEST_TIME").GetString()!) > 1_700_000_000);
    }

    [Fact]
    public async Task Send_response_sends_status_headers_and_each_set_cookie_value_on_its_own_line()
    {
        var response = await _server.Client.GetAsync("/headers");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("one", response.Headers.GetValues("X-Single").Single());
        Assert.Equal(["a=1; Path=/", "b=2; Path=/"], response.Headers.GetValues("Set-Cookie").ToArray());
        Assert.Equal("created", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_second_send_response_for_one_request_is_a_php_error_not_a_crash()
    {
        var pid = (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32();
        var response = await _server.Client.GetAsync("/double-send");
        Assert.Equal("first", await response.Content.ReadAsStringAsync());
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("double-send error:") && l.Contains("already been answered"), TimeSpan.FromSeconds(10)),
            string.Join('\n', _server.Lines));
        Assert.Equal(pid, (await _server.GetJsonAsync("/")).GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task Send_chunk_without_an_open_streamed_response_throws()
    {
        var e = await _server.GetJsonAsync("/chunk-without-stream");
        Assert.Contains("no streamed response is open", e.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_status_outside_100_to_999_is_rejected()
    {
        var e = await _server.GetJsonAsync("/bad-status");
        Assert.Contains("between 100 and 999", e.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_header_value_with_CR_or_LF_is_rejected_so_headers_cannot_be_injected()
    {
        var response = await _server.Client.GetAsync("/header-injection");
        Assert.False(response.Headers.Contains("X-Evil"));
        var e = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("CR or LF", e.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Send_file_sends_the_requested_byte_range_of_a_file()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "0123456789abcdef");
        try
        {
            var whole = await _server.Client.GetAsync($"/file?path={Uri.EscapeDataString(file)}");
            Assert.Equal("0123456789abcdef", await whole.Content.ReadAsStringAsync());
            Assert.Equal(16, whole.Content.Headers.ContentLength);

            var range = await _server.Client.GetAsync($"/file?path={Uri.EscapeDataString(file)}&offset=10&length=4");
            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal("abcd", await range.Content.ReadAsStringAsync());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Send_file_has_the_file_open_when_it_returns_so_the_script_may_delete_it_at_once()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, new string('z', 200_000));
        var response = await _server.Client.GetAsync($"/file-then-delete?path={Uri.EscapeDataString(file)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(200_000, (await response.Content.ReadAsStringAsync()).Length);
        Assert.False(File.Exists(file));
    }

    [Fact]
    public async Task Send_file_of_a_missing_file_throws_and_the_script_can_still_answer()
    {
        var response = await _server.Client.GetAsync("/missing-file");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var e = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("cannot open", e.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Tick_callbacks_run_between_requests_and_a_throwing_tick_is_logged_without_stopping_the_others()
    {
        var first = await _server.GetJsonAsync("/ticks");
        Assert.True(await AskrServer.EventuallyAsync(async () =>
        {
            var now = await _server.GetJsonAsync("/ticks");
            return now.GetProperty("ticks").GetInt32() >= first.GetProperty("ticks").GetInt32() + 3
                && now.GetProperty("tick_errors").GetInt32() > first.GetProperty("tick_errors").GetInt32();
        }, TimeSpan.FromSeconds(10)));
        var later = await _server.GetJsonAsync("/ticks");
        Assert.True(later.GetProperty("tick_errors").GetInt32() > first.GetProperty("tick_errors").GetInt32());
        Assert.Equal(0, later.GetProperty("ticks_during_request").GetInt32());
        Assert.Equal(first.GetProperty("pid").GetInt32(), later.GetProperty("pid").GetInt32());
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("tick failure number"), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Output_written_outside_an_output_buffer_goes_to_the_log()
    {
        await _server.GetJsonAsync("/output");
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("echoed outside any buffer"), TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Workers_run_with_opcache_active_and_a_sapi_that_is_not_cli()
    {
        var e = await _server.GetJsonAsync("/opcache");
        Assert.True(e.GetProperty("opcache").GetBoolean());
        Assert.NotEqual("cli", e.GetProperty("sapi").GetString());
    }

    [Fact]
    public async Task Each_request_gets_one_access_log_line_with_method_path_status_and_duration()
    {
        await _server.Client.GetAsync("/logged-path?q=1");
        Assert.True(await _server.WaitForLineAsync(l => l.Contains("GET /logged-path?q=1") && l.Contains(" 200 ") && l.EndsWith(" ms"), TimeSpan.FromSeconds(5)),
            string.Join('\n', _server.Lines));
    }
}
