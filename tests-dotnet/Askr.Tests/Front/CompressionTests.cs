using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Askr.Tests.Support;

namespace Askr.Tests.Front;

/// <summary>
/// An askr serve with compression on (the default) and static files made for these tests in the
/// document root: a text file, and a file with .br and .gz variants whose content says which one
/// was sent. The files are deleted on dispose.
/// </summary>
public sealed class CompressionServer : IAsyncLifetime
{
    public static readonly string Public = Path.Combine(AskrServer.PhpDir, "public");
    public static string TextFile => Path.Combine(Public, "compression-test.txt");
    public static string Precompressed => Path.Combine(Public, "precompressed-test.css");
    public AskrServer Server { get; private set; } = null!;
    public HttpClient Raw { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllText(TextFile, string.Concat(Enumerable.Repeat("a static text file askr compresses on the fly\n", 100)));
        File.WriteAllText(Precompressed, string.Concat(Enumerable.Repeat("body { color: identity }\n", 100)));
        using (var br = new BrotliStream(File.Create(Precompressed + ".br"), CompressionLevel.SmallestSize))
            br.Write(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("body { color: brotli }\n", 100))));
        using (var gz = new GZipStream(File.Create(Precompressed + ".gz"), CompressionLevel.SmallestSize))
            gz.Write(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("body { color: gzip }\n", 100))));
        Server = await AskrServer.StartAsync("router.php", 1);
        // No automatic decompression: the tests look at what was on the wire.
        Raw = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = Server.Client.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        Raw.Dispose();
        await Server.DisposeAsync();
        foreach (var f in new[] { TextFile, Precompressed, Precompressed + ".br", Precompressed + ".gz" })
            File.Delete(f);
    }
}

/// <summary>gzip and Brotli through ASP.NET's response compression, and precompressed static files (docs/tls.md).</summary>
public sealed class CompressionTests : IClassFixture<CompressionServer>
{
    private readonly CompressionServer _fixture;
    private AskrServer Server => _fixture.Server;

    public CompressionTests(CompressionServer fixture) => _fixture = fixture;

    private static string Text(int size) =>
        string.Concat(Enumerable.Repeat("askr compresses what PHP answers.\n", size / 34 + 1))[..size];

    private async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding, RangeHeaderValue? range = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null) request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        request.Headers.Range = range;
        return await _fixture.Raw.SendAsync(request);
    }

    private static string Decode(byte[] body, string? coding)
    {
        using Stream input = coding switch
        {
            "br" => new BrotliStream(new MemoryStream(body), CompressionMode.Decompress),
            "gzip" => new GZipStream(new MemoryStream(body), CompressionMode.Decompress),
            _ => new MemoryStream(body),
        };
        using var reader = new StreamReader(input, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    [Theory]
    [InlineData("br", "br")]
    [InlineData("gzip", "gzip")]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("br;q=0, gzip", "gzip")]
    [InlineData("identity", null)]
    public async Task A_php_text_response_is_compressed_as_accept_encoding_negotiates_and_varies_on_it(string accept, string? expected)
    {
        var response = await GetAsync("/text?size=20000", accept);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(expected, response.Content.Headers.ContentEncoding.SingleOrDefault());
        Assert.Equal(Text(20000), Decode(body, expected));
        if (expected is not null)
        {
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            Assert.True(body.Length < 20000 / 4, $"{expected}: {body.Length} bytes on the wire for 20000");
        }
    }

    [Fact]
    public async Task Curl_compressed_decodes_php_and_static_responses_and_sends_fewer_bytes()
    {
        foreach (var (path, size) in new[] { ("/text?size=20000", 20000L), ("/compression-test.txt", new FileInfo(CompressionServer.TextFile).Length) })
        {
            var r = await Curl.RunAsync("--compressed", "-w", "\n%{size_download}", $"http://127.0.0.1:{Server.Port}{path}");
            var wire = long.Parse(r.Stdout[(r.Stdout.LastIndexOf('\n') + 1)..]);
            Assert.Equal(size, r.Stdout.LastIndexOf('\n'));
            Assert.True(wire < size / 4, $"{path}: {wire} bytes on the wire for {size}");
        }
        var headers = await Curl.RunAsync("-H", "Accept-Encoding: gzip", "-D", "-", "-o", "/dev/null", $"http://127.0.0.1:{Server.Port}/compression-test.txt");
        Assert.Contains("content-encoding: gzip", headers.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("vary: accept-encoding", headers.Stdout, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("/text?size=400")]                               // under --compression-min-size (512)
    [InlineData("/text?size=20000&type=image/png")]             // a type that is compressed already
    [InlineData("/text?size=20000&type=application/zip")]
    public async Task Small_and_already_compressed_types_are_sent_as_they_are(string path)
    {
        var response = await GetAsync(path, "gzip, br");
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(response.Content.Headers.ContentLength, (await response.Content.ReadAsByteArrayAsync()).Length);
    }

    [Fact]
    public async Task A_response_php_already_encoded_is_not_encoded_again()
    {
        var response = await GetAsync("/text?size=20000&encoding=gzip", "gzip, br");
        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        Assert.Equal(Text(20000), Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task A_range_request_gets_the_identity_bytes_it_asked_for()
    {
        var response = await GetAsync("/compression-test.txt", "gzip, br", new RangeHeaderValue(10, 29));
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(File.ReadAllText(CompressionServer.TextFile)[10..30], await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("br, gzip", "br", "brotli")]
    [InlineData("gzip", "gzip", "gzip")]
    [InlineData("br;q=0, gzip;q=0.5", "gzip", "gzip")]
    [InlineData(null, null, "identity")]
    public async Task A_precompressed_file_beside_a_static_file_is_sent_when_its_coding_is_accepted(string? accept, string? coding, string color)
    {
        var response = await GetAsync("/precompressed-test.css", accept);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/css", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(coding, response.Content.Headers.ContentEncoding.SingleOrDefault());
        Assert.StartsWith($"body {{ color: {color} }}", Decode(await response.Content.ReadAsByteArrayAsync(), coding));
        if (coding is not null)
        {
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
            var expectedLength = new FileInfo(CompressionServer.Precompressed + (coding == "br" ? ".br" : ".gz")).Length;
            Assert.Equal(expectedLength, response.Content.Headers.ContentLength);
        }
    }

    [Fact]
    public async Task A_precompressed_file_answers_conditional_and_range_requests_on_its_own_bytes()
    {
        var first = await GetAsync("/precompressed-test.css", "br");
        var again = new HttpRequestMessage(HttpMethod.Get, "/precompressed-test.css");
        again.Headers.TryAddWithoutValidation("Accept-Encoding", "br");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await _fixture.Raw.SendAsync(again)).StatusCode);
        var identity = await GetAsync("/precompressed-test.css", null);
        Assert.NotEqual(first.Headers.ETag, identity.Headers.ETag);

        var range = await GetAsync("/precompressed-test.css", "br", new RangeHeaderValue(0, 9));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(File.ReadAllBytes(CompressionServer.Precompressed + ".br")[..10], await range.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_br_and_gz_files_themselves_are_still_served_as_they_are()
    {
        var response = await GetAsync("/precompressed-test.css.gz", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(File.ReadAllBytes(CompressionServer.Precompressed + ".gz"), await response.Content.ReadAsByteArrayAsync());
    }
}

/// <summary>--no-compression: nothing is encoded, precompressed files are not used.</summary>
public sealed class NoCompressionTests
{
    [Fact]
    public async Task No_compression_sends_every_response_as_it_is()
    {
        await using var server = await AskrServer.StartAsync("router.php", 1, (IReadOnlyDictionary<string, string>?)null, "--no-compression");
        var r = await Curl.RunAsync("-H", "Accept-Encoding: gzip, br", "-D", "-", "-o", "/dev/null", $"http://127.0.0.1:{server.Port}/text?size=20000");
        Assert.Contains("content-length: 20000", r.Stdout, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("content-encoding", r.Stdout, StringComparison.OrdinalIgnoreCase);
    }
}
