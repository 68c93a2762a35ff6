using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Lifecycle;

/// <summary>Ephpm\Octane\defer() (docs/lifecycle.md), against a real askr serve running php/defer.php.</summary>
public sealed class DeferTests
{
    private static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>The lines the deferred callbacks wrote: (what, microtime), once <paramref name="count"/> are there.</summary>
    private static async Task<List<(string What, double At)>> WaitForNotesAsync(string log, int count)
    {
        List<(string, double)> notes = [];
        var found = await AskrServer.EventuallyAsync(() =>
        {
            notes = File.Exists(log)
                ? File.ReadAllLines(log).Select(l => l.Split(' ')).Select(p => (string.Join(' ', p[..^1]), double.Parse(p[^1], CultureInfo.InvariantCulture))).ToList()
                : [];
            return Task.FromResult(notes.Count >= count);
        }, TimeSpan.FromSeconds(15));
        Assert.True(found, $"expected {count} notes in {log}, found: {string.Join(", ", notes)}");
        return notes;
    }

    [Fact]
    public async Task Deferred_callbacks_run_in_order_after_the_client_has_its_response_on_a_free_keep_alive_connection_and_before_the_next_request()
    {
        var log = Path.Combine(Path.GetTempPath(), $"askr-defer-{Guid.NewGuid():N}.log");
        await using var server = await AskrServer.StartAsync("defer.php", workers: 1);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, server.Port);
            await using var stream = new NetworkStream(socket);

            var first = await RawHttp.GetAsync(stream, $"/defer?delay=300&log={Uri.EscapeDataString(log)}");
            var received = Now();
            Assert.Equal(200, first.Status);
            Assert.Equal(100000, first.Body.Length);

            // The same connection carries the next request: Kestrel freed it while the callbacks ran.
            var second = await RawHttp.GetAsync(stream, "/now");
            Assert.Equal(200, second.Status);
            var secondStartedAt = JsonDocument.Parse(second.Body).RootElement.GetProperty("now").GetDouble();

            var notes = await WaitForNotesAsync(log, 4);
            Assert.Equal(["first-start", "first-end", "second", "nested"], notes.Select(n => n.What));
            // The client had the whole response while the first callback was still sleeping (300 ms)...
            Assert.True(received < notes[1].At, $"response received at {received:F3}, first callback ended at {notes[1].At:F3}");
            // ...and the worker took the next request only after the last callback.
            Assert.True(secondStartedAt >= notes[3].At, $"next request handled at {secondStartedAt:F3}, last callback at {notes[3].At:F3}");
            // The callback that threw was reported, and did not stop the ones after it.
            Assert.True(await server.WaitForLineAsync(l => l.Contains("deferred failure on purpose"), TimeSpan.FromSeconds(5)),
                string.Join('\n', server.Lines));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task Run_deferred_leaves_the_queue_while_the_request_is_unanswered_and_runs_it_once_the_response_is_sent()
    {
        var log = Path.Combine(Path.GetTempPath(), $"askr-defer-{Guid.NewGuid():N}.log");
        await using var server = await AskrServer.StartAsync("defer.php", workers: 1);
        try
        {
            var response = await server.Client.GetAsync($"/run-deferred?log={Uri.EscapeDataString(log)}");
            Assert.Equal("answered", await response.Content.ReadAsStringAsync());
            var notes = await WaitForNotesAsync(log, 2);
            Assert.Equal(["deferred", "counts 0 1"], notes.Select(n => n.What));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task A_deferred_callback_that_never_ends_is_cut_at_the_request_timeout_and_the_worker_serves_on_with_a_fresh_script()
    {
        await using var server = await AskrServer.StartAsync("defer.php", 1, "--request-timeout", "1");
        var before = await server.GetJsonAsync("/now");

        var response = await server.Client.GetAsync("/defer-forever");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("answered before the endless callback", await response.Content.ReadAsStringAsync());

        // Waits in the queue until the timeout cuts the callback, then a fresh run of the script answers.
        var after = await server.GetJsonAsync("/now");
        Assert.NotEqual(before.GetProperty("boot").GetString(), after.GetProperty("boot").GetString());
        Assert.Contains(server.Lines, l => l.Contains("after its response"));
    }
}

/// <summary>A minimal HTTP/1.1 client over one connection, to send several requests on it (keep-alive).</summary>
internal static class RawHttp
{
    public static async Task<(int Status, string Body)> GetAsync(Stream stream, string target)
    {
        var request = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        await stream.WriteAsync(request);
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n"))
        {
            if (await stream.ReadAsync(one) == 0) throw new IOException("connection closed in the response head: " + head);
            head.Append((char)one[0]);
        }
        var lines = head.ToString().Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var length = lines.Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            .Select(l => int.Parse(l["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture)).Single();
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        return (status, Encoding.UTF8.GetString(body));
    }
}
