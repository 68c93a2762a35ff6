using Microsoft.Extensions.Logging;
using AskrLevel = Askr.Logging.LogLevel;
using MsLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Askr.Cluster.Transport;

/// <summary>
/// Hands the cluster endpoint's log (Grpc.AspNetCore, Kestrel) to askr's log, one line per entry,
/// <c>grpc: &lt;message&gt;: &lt;exception type&gt;: &lt;exception message&gt;</c>. Levels: Error and
/// Critical (a handler that threw, a request message that did not parse) become askr warnings;
/// Grpc.AspNetCore's Information and Warning (a peer's malformed or cancelled call, an unknown
/// method, a passed deadline) become debug lines; ASP.NET Core's own Information lines (one per
/// request) and anything below are dropped.
/// </summary>
internal sealed class LogBridge(Action<AskrLevel, string> log) : ILoggerProvider
{
    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) =>
        new Logger(log, categoryName.StartsWith("Grpc.", StringComparison.Ordinal) ? MsLevel.Information : MsLevel.Warning);

    /// <inheritdoc/>
    public void Dispose() { }

    private sealed class Logger(Action<AskrLevel, string> log, MsLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(MsLevel logLevel) => logLevel >= minimum && logLevel < MsLevel.None;

        public void Log<TState>(MsLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var text = formatter(state, exception);
            if (exception is not null) text += $": {exception.GetType().Name}: {exception.Message}";
            log(logLevel >= MsLevel.Error ? AskrLevel.Warning : AskrLevel.Debug, "grpc: " + text);
        }
    }
}
