using System.Globalization;
using Askr.Logging;

namespace Askr.Lifecycle;

/// <summary>
/// askr serve --record-errors DIR (docs/lifecycle.md): each HTTP worker writes, for every 5xx its
/// PHP produced (an answer of the app, a fatal error's 500, a --request-timeout 504; not the
/// runtime's own 503s, which never reached PHP), one <see cref="RequestRecord"/> file named
/// <c>&lt;UTC time&gt;-w&lt;slot&gt;-p&lt;pid&gt;-&lt;n&gt;.json</c>, created 0600. Sensitive values are redacted
/// unless --record-sensitive. After each write the directory is trimmed to the caps
/// (--record-max-files, --record-max-bytes), oldest first: the names sort by time.
/// </summary>
internal sealed class ErrorRecorder
{
    /// <summary>Always redacted unless --record-sensitive: credentials (RFC 9110 11.6.2, 11.7.2) and cookies (RFC 6265).</summary>
    public static readonly string[] AlwaysRedacted = ["Authorization", "Proxy-Authorization", "Cookie"];
    /// <summary>The default --record-redact list: Laravel's $dontFlash fields.</summary>
    public static readonly string[] DefaultFields = ["password", "password_confirmation", "current_password"];

    private readonly string _directory;
    private readonly IReadOnlyCollection<string> _redact;
    private readonly bool _sensitive;
    private readonly int _maxFiles;
    private readonly long _maxBytes;
    private readonly int _slot;
    private readonly LogWriter _log;
    private readonly object _lock = new();
    private long _sequence;

    public ErrorRecorder(string directory, IEnumerable<string> redactFields, bool sensitive, int maxFiles, long maxBytes, int slot, LogWriter log)
    {
        _directory = directory;
        _redact = [.. AlwaysRedacted, .. redactFields];
        _sensitive = sensitive;
        _maxFiles = maxFiles;
        _maxBytes = maxBytes;
        _slot = slot;
        _log = log;
    }

    /// <summary>
    /// Creates <paramref name="directory"/> (0700) if needed and checks that a file can be created
    /// in it. Returns null, or why it cannot be used (for askr serve to refuse to start).
    /// </summary>
    public static string? Prepare(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
                else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var probe = Path.Combine(directory, $".askr-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (Create(probe)) { }
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return $"--record-errors {directory}: the directory cannot be written ({e.Message})";
        }
    }

    /// <summary>A new file, 0600 (the umask cannot widen a mode given at creation).</summary>
    private static FileStream Create(string path) => OperatingSystem.IsWindows()
        ? new FileStream(path, FileMode.CreateNew, FileAccess.Write)
        : new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });

    /// <summary>Writes one record (never throws: a failure is logged, the response is not affected). Returns the file's path, or null.</summary>
    public string? Record(RequestRecord record)
    {
        try
        {
            record.RecordedAt = DateTimeOffset.UtcNow;
            record.WorkerSlot = _slot;
            record.WorkerPid = Environment.ProcessId;
            if (!_sensitive) record.Redact(_redact);
            var json = record.ToJson();
            var name = string.Create(CultureInfo.InvariantCulture,
                $"{record.RecordedAt.UtcDateTime:yyyyMMdd'T'HHmmss'.'fff'Z'}-w{_slot}-p{record.WorkerPid}-{Interlocked.Increment(ref _sequence):D6}.json");
            var path = Path.Combine(_directory, name);
            using (var file = Create(path)) file.Write(json);
            lock (_lock) Trim();
            return path;
        }
        catch (Exception e)
        {
            _log.Warning($"--record-errors: could not record {record.Method} {record.Uri} ({record.Status}): {e.Message}");
            return null;
        }
    }

    /// <summary>Removes the oldest records while there are more than the caps allow (every worker trims; one that loses a race skips the file).</summary>
    private void Trim()
    {
        var files = new DirectoryInfo(_directory).GetFiles("*.json")
            .Where(f => f.Name.Length > 0 && char.IsAsciiDigit(f.Name[0]))
            .OrderBy(f => f.Name, StringComparer.Ordinal)
            .ToList();
        var bytes = files.Sum(f => f.Length);
        var count = files.Count;
        // The newest (just written) stays even when it alone exceeds --record-max-bytes.
        foreach (var f in files.Take(files.Count - 1))
        {
            if (count <= _maxFiles && bytes <= _maxBytes) break;
            try { f.Delete(); }
            catch (IOException) { }
            count--;
            bytes -= f.Length;
        }
    }
}
