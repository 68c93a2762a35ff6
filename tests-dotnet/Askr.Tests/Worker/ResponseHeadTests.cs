using System.Net;
using System.Net.Sockets;
using System.Text;
using Askr.Tests.Support;

namespace Askr.Tests.Worker;

/// <summary>What the runtime adds to PHP's answer: HEAD's framing (RFC 9110 §9.3.2, §8.6) and php-fpm's default Content-Type.</summary>
public sealed class ResponseHeadTests : IClassFixture<RouterServer>
{
    private readonly AskrServer _server;

    public ResponseHeadTests(RouterServer fixture) => _server = fixture.Server;

    [Fact]
    public async Task Head_announces_the_length_of_the_body_php_produced_and_sends_none_on_a_kept_alive_connection()
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", _server.Port);
        var stream = client.GetStream();
        // A HEAD then a GET on one connection: a stray body byte would be read as the GET's status line.
        await stream.WriteAsync("HEAD /headers HTTP/1.1\r\nHost: x\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        var all = new MemoryStream();
        await stream.CopyToAsync(all).WaitAsync(TimeSpan.FromSeconds(10));
        var text = Encoding.Latin1.GetString(all.ToArray());
        var second = text.IndexOf("HTTP/1.1 201", 1, StringComparison.Ordinal);
        Assert.True(second > 0, text);
        var headAnswer = text[..second];
        Assert.StartsWith("HTTP/1.1 201", headAnswer);
        Assert.Contains("Content-Length: 7\r\n", headAnswer);
        Assert.EndsWith("\r\n\r\n", headAnswer);
        Assert.EndsWith("\r\n\r\ncreated", text);
    }

    [Fact]
    public async Task A_response_without_content_type_gets_text_html_utf8()
    {
        var response = await _server.Client.GetAsync("/no-content-type");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=UTF-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("text/plain", (await _server.Client.GetAsync("/headers")).Content.Headers.ContentType!.MediaType);
    }
}
