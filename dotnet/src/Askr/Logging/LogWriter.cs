using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Askr.Logging;

/// <summary>Log formats of <c>--log-format</c>.</summary>
public enum LogFormat { Text, Json }

/// <summary>Severity of a log line; <c>--log-level</c> drops lines below it.</summary>
public enum LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 }

/// <summary>
/// Writes whole lines to stdout from a background thread, so request threads never block on
/// the terminal or a pipe. Each line is one write(2) of at most a few KiB, which keeps lines
/// from different worker processes sharing the supervisor's stdout from interleaving
/// (POSIX: writes up to PIPE_BUF bytes to a pipe are atomic).
/// The queue is a plain lock with Monitor.Wait/Pulse rather than a BlockingCollection: the
/// latter's SemaphoreSlim spins before it sleeps, which cost ~100 µs of CPU per access-log line
/// on the 2-core machine the benchmarks run on (a worker writes one line per request).
/// Formats: docs/runtime.md, "Logs".
/// </summary>
public sealed class LogWriter : IDisposable
{
    /// <summary>Lines queued beyond this are dropped: stdout is stuck.</summary>
    private const int Capacity = 65536;
    private readonly Queue<byte[]> _lines = new();
    private int _writing;
    private bool _completed;
    private readonly Thread _thread;
    private readonly Stream _out;
    private readonly int _pid = Environment.ProcessId;

    public LogFormat Format { get; }
    public LogLevel MinimumLevel { get; }

    /// <summary>The process-wide writer; set once at start-up.</summary>
    public static LogWriter Current { get; set; } = new(LogFormat.Text, LogLevel.Info);

    public LogWriter(LogFormat format, LogLevel minimumLevel, Stream? output = null)
    {
        Format = format;
        MinimumLevel = minimumLevel;
        _out = output ?? Console.OpenStandardOutput();
        _thread = new Thread(Pump) { IsBackground = true, Name = "askr-log" };
        _thread.Start();
    }

    private void Pump()
    {
        var batch = new List<byte[]>();
        while (true)
        {
            lock (_lines)
            {
                _writing = 0;
                while (_lines.Count == 0 && !_completed) Monitor.Wait(_lines);
                if (_lines.Count == 0) return;
                while (_lines.TryDequeue(out var queued)) batch.Add(queued);
                _writing = batch.Count;
            }
            try
            {
                foreach (var line in batch) _out.Write(line);
                _out.Flush();
            }
            catch (IOException)
            {
                // stdout closed: nothing left to tell.
            }
            batch.Clear();
        }
    }

    private void Enqueue(byte[] line)
    {
        lock (_lines)
        {
            // A full queue means stdout is stuck; drop rather than stall request threads.
            if (_completed || _lines.Count >= Capacity) return;
            _lines.Enqueue(line);
            // The pump re-checks the queue under this lock before it waits, so one pulse when
            // the queue stops being empty is enough.
            if (_lines.Count == 1) Monitor.Pulse(_lines);
        }
    }

    /// <summary>Lines queued or being written.</summary>
    private int Pending
    {
        get { lock (_lines) return _lines.Count + _writing; }
    }

    /// <summary>A runtime or PHP log line.</summary>
    public void Log(LogLevel level, string message)
    {
        if (level < MinimumLevel) return;
        if (Format == LogFormat.Json)
        {
            Enqueue(JsonLine(w =>
            {
                w.WriteString("type", "log");
                w.WriteString("level", LevelName(level));
                w.WriteString("message", message);
            }));
        }
        else
        {
            var prefix = level switch { LogLevel.Error => "ERROR ", LogLevel.Warning => "WARN  ", LogLevel.Debug => "DEBUG ", _ => "" };
            Enqueue(Encoding.UTF8.GetBytes($"{DateTime.Now:HH:mm:ss} {prefix}{message.TrimEnd('\n')}\n"));
        }
    }

    public void Debug(string message) => Log(LogLevel.Debug, message);
    public void Info(string message) => Log(LogLevel.Info, message);
    public void Warning(string message) => Log(LogLevel.Warning, message);
    public void Error(string message) => Log(LogLevel.Error, message);

    /// <summary>What PHP wrote to its output outside any output buffer.</summary>
    public void Output(ReadOnlySpan<byte> text)
    {
        if (Format == LogFormat.Json)
        {
            var s = Encoding.UTF8.GetString(text);
            Enqueue(JsonLine(w =>
            {
                w.WriteString("type", "output");
                w.WriteString("message", s);
            }));
        }
        else
        {
            Enqueue(text.ToArray());
        }
    }

    /// <summary>
    /// One access-log line. Field names in JSON are those of Octane's request log
    /// (Laravel\Octane\Commands\Concerns\InteractsWithIO::requestInfo).
    /// </summary>
    /// <param name="durationMs">From PHP taking the request to the end of the response, in milliseconds.</param>
    /// <param name="memory">PHP's memory_get_usage() after the request, in bytes.</param>
    public void Request(string method, string url, string pathAndQuery, int status, double durationMs, long memory)
    {
        if (Format == LogFormat.Json)
        {
            Enqueue(JsonLine(w =>
            {
                w.WriteString("type", "request");
                w.WriteString("method", method);
                w.WriteString("url", url);
                w.WriteNumber("statusCode", status);
                w.WriteNumber("duration", Math.Round(durationMs, 2));
                w.WriteNumber("memory", memory);
            }));
        }
        else
        {
            const int width = 60;
            var left = $"{DateTime.Now:HH:mm:ss} {EscapeControl(method)} {EscapeControl(pathAndQuery)} ";
            var right = $" {status} {durationMs:0.00} ms";
            var dots = Math.Max(3, width - left.Length - right.Length);
            Enqueue(Encoding.UTF8.GetBytes(left + new string('.', dots) + right + "\n"));
        }
    }

    /// <summary>
    /// <paramref name="text"/> with C0 and C1 control characters, DEL and the backslash written as
    /// <c>\xHH</c> (as nginx's access log does), so a request target cannot put a terminal escape
    /// sequence, a carriage return or a forged line into a text log. Returns the same string when
    /// there is nothing to escape (the usual case: no allocation).
    /// </summary>
    public static string EscapeControl(string text)
    {
        var i = 0;
        while (i < text.Length && !NeedsEscape(text[i])) i++;
        if (i == text.Length) return text;
        var b = new StringBuilder(text.Length + 16);
        b.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (NeedsEscape(c)) b.Append("\\x").Append(((int)c).ToString("X2"));
            else b.Append(c);
        }
        return b.ToString();
    }

    private static bool NeedsEscape(char c) => c < 0x20 || c == '\\' || (c >= 0x7f && c <= 0x9f);

    private byte[] JsonLine(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteNumber("worker", _pid);
            w.WriteString("time", DateTime.UtcNow);
            w.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Debug => "debug",
        LogLevel.Info => "info",
        LogLevel.Warning => "warning",
        _ => "error",
    };

    /// <summary>Writes what is queued, waiting at most <paramref name="timeout"/>.</summary>
    public void Flush(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Pending > 0 && DateTime.UtcNow < deadline) Thread.Sleep(5);
        try { _out.Flush(); } catch (IOException) { }
    }

    public void Dispose()
    {
        lock (_lines)
        {
            _completed = true;
            Monitor.PulseAll(_lines);
        }
        _thread.Join(TimeSpan.FromSeconds(2));
    }
}
