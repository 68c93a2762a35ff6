using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Worker;

/// <summary>Static files under the document root are served by Kestrel; PHP sources and dot-files never.</summary>
public sealed class StaticFileTests : IClassFixture<RouterServer>
{
    private readonly AskrServer _server;

    public StaticFileTests(RouterServer fixture) => _server = fixture.Server;

    [Fact]
    public async Task A_static_file_is_served_with_its_content_type_etag_and_last_modified()
    {
        var response = await _server.Client.GetAsync("/style.css");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/css", response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal("body { color: red }\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_matching_if_none_match_gets_304_without_a_body()
    {
        var first = await _server.Client.GetAsync("/page.html");
        var request = new HttpRequestMessage(HttpMethod.Get, "/page.html");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        var second = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Equal("", await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Head_gets_the_headers_without_the_body()
    {
        var response = await _server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/page.html"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new FileInfo(Path.Combine(AskrServer.PhpDir, "public", "page.html")).Length, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_range_request_gets_206_with_the_requested_bytes()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/page.html");
        request.Headers.Range = new RangeHeaderValue(3, 8);
        var response = await _server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("static", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, response.Content.Headers.ContentRange!.From);
    }

    [Theory]
    [InlineData("/source.php")]
    [InlineData("/.env")]
    public async Task Php_sources_and_dot_files_are_never_served_as_static_files(string path)
    {
        var response = await _server.Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("SECRET", body);
        Assert.DoesNotContain("<?php", body);
        // The request went to the PHP worker instead, like any other dynamic path.
        Assert.Equal(path, JsonDocument.Parse(body).RootElement.GetProperty("path").GetString());
    }
}
