using System.Net.Sockets;
using System.Text;
using Askr.Tests.Support;

namespace Askr.Tests.Logging;

/// <summary>The text access log as a terminal or a log shipper reads it: one honest line per request.</summary>
public sealed class AccessLogTests
{
    private static async Task<string> SendRawAsync(int port, byte[] request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(request);
        var buffer = new byte[4096];
        var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.Latin1.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task Control_bytes_in_the_request_target_are_escaped_and_connect_is_logged_with_the_status_it_got()
    {
        await using var server = await AskrServer.StartAsync("router.php", workers: 1);

        var answer = await SendRawAsync(server.Port, "GET /a\u001b[31mred?x=\u0007 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 200", answer);
        Assert.True(await server.WaitForLineAsync(l => l.Contains(@"GET /a\x1B[31mred?x=\x07 "), TimeSpan.FromSeconds(10)),
            string.Join('\n', server.Lines.TakeLast(10)));
        Assert.DoesNotContain(server.Lines, l => l.Contains('\u001b') || l.Contains('\u0007'));

        // Kestrel refuses a body on a 2xx answer to CONNECT and answers 500 itself.
        var connect = await SendRawAsync(server.Port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 500", connect);
        Assert.True(await server.WaitForLineAsync(l => l.Contains("CONNECT example.com:443 ") && l.Contains(" 500 "), TimeSpan.FromSeconds(10)),
            string.Join('\n', server.Lines.TakeLast(10)));
        Assert.DoesNotContain(server.Lines, l => l.Contains("CONNECT example.com:443 ") && l.Contains(" 200 "));
    }
}
