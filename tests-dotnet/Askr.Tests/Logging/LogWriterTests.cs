using System.Text;
using Askr.Logging;

namespace Askr.Tests.Logging;

/// <summary>The log writer's queue: every line written whole, in order, and none lost on Flush or Dispose.</summary>
public sealed class LogWriterTests
{
    [Fact]
    public void Lines_from_concurrent_writers_all_arrive_whole_and_each_writer_in_order()
    {
        var output = new MemoryStream();
        var log = new LogWriter(LogFormat.Text, LogLevel.Info, output);
        const int writers = 4, perWriter = 2000;
        var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
        {
            for (var i = 0; i < perWriter; i++) log.Output(Encoding.UTF8.GetBytes($"w{w} {i}\n"));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        log.Flush(TimeSpan.FromSeconds(10));

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(writers * perWriter, lines.Length);
        for (var w = 0; w < writers; w++)
        {
            var mine = lines.Where(l => l.StartsWith($"w{w} ", StringComparison.Ordinal)).Select(l => int.Parse(l[(l.IndexOf(' ') + 1)..])).ToList();
            Assert.Equal(Enumerable.Range(0, perWriter), mine);
        }
        log.Dispose();
    }

    [Fact]
    public void Dispose_writes_what_is_queued_and_later_lines_are_dropped()
    {
        var output = new MemoryStream();
        var log = new LogWriter(LogFormat.Text, LogLevel.Info, output);
        for (var i = 0; i < 100; i++) log.Output(Encoding.UTF8.GetBytes($"{i}\n"));
        log.Dispose();
        log.Output("after\n"u8);

        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"{i}\n")), text);
    }

    [Fact]
    public void A_line_written_after_the_writer_went_idle_is_still_written()
    {
        var output = new MemoryStream();
        using var log = new LogWriter(LogFormat.Json, LogLevel.Info, output);
        log.Info("first");
        log.Flush(TimeSpan.FromSeconds(5));
        Thread.Sleep(50);
        log.Info("second");
        log.Flush(TimeSpan.FromSeconds(5));

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"message\":\"second\"", lines[1]);
    }
}
