using System.Net;
using Askr.Tests.Support;

namespace Askr.Tests.Worker;

public sealed class StreamingTests : IClassFixture<RouterServer>
{
    private readonly AskrServer _server;

    public StreamingTests(RouterServer fixture) => _server = fixture.Server;

    [Fact]
    public async Task A_streamed_response_reaches_the_client_chunk_by_chunk_before_the_last_chunk_is_produced()
    {
        var gate = Path.Combine(Path.GetTempPath(), $"askr-gate-{Guid.NewGuid():N}");
        try
        {
            using var response = await _server.Client.GetAsync($"/stream-gated?gate={Uri.EscapeDataString(gate)}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Null(response.Content.Headers.ContentLength);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

            // PHP is now blocked until the gate exists: this line can only have come as its own chunk.
            var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("first", first);
            Assert.False(File.Exists(gate));

            await File.WriteAllTextAsync(gate, "go");
            Assert.Equal("second\nthird\n", await reader.ReadToEndAsync());
        }
        finally
        {
            File.Delete(gate);
        }
    }

    [Fact]
    public async Task A_fatal_error_in_the_middle_of_a_stream_cuts_the_response_and_the_worker_goes_on()
    {
        using var response = await _server.Client.GetAsync("/stream-then-fatal", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(async () => await response.Content.ReadAsStringAsync());
        var after = await _server.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
