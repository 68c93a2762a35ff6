using System.Net.Sockets;
using Askr.Control;
using Askr.Logging;

namespace Askr.Supervision;

/// <summary>
/// The supervisor's end of the control socket (a Unix domain socket every worker connects to):
/// accepts the workers' connections, reads their messages, and hands each to
/// <c>onMessage</c> with the worker it came from (found by the message's pid; messages of
/// unknown processes are dropped). A worker's <see cref="HelloMessage"/> gives it its
/// <see cref="ControlConnection"/>, over which the supervisor writes to it. A bad frame closes
/// that connection only.
/// </summary>
internal sealed class ControlServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Func<int, WorkerProcess?> _find;
    private readonly Action<WorkerProcess, ControlMessage> _onMessage;
    private readonly LogWriter _log;

    private ControlServer(string path, Socket listener, Func<int, WorkerProcess?> find, Action<WorkerProcess, ControlMessage> onMessage, LogWriter log)
    {
        Path = path;
        _listener = listener;
        _find = find;
        _onMessage = onMessage;
        _log = log;
    }

    /// <summary>The socket's path, given to every worker (--control).</summary>
    public string Path { get; }

    /// <summary>Binds a fresh socket in the temp directory (askr-PID-ID.sock) and starts accepting.</summary>
    public static ControlServer Start(Func<int, WorkerProcess?> find, Action<WorkerProcess, ControlMessage> onMessage, LogWriter log)
    {
        NodeServices.RemoveStaleFiles(System.IO.Path.GetTempPath(), "askr-*.sock", log);
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"askr-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        var server = new ControlServer(path, listener, find, onMessage, log);
        _ = server.AcceptAsync();
        return server;
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket connection;
            try { connection = await _listener.AcceptAsync(); }
            catch (Exception) { return; }
            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        try
        {
            while (await ControlMessage.ReadAsync(stream, CancellationToken.None) is { } message)
            {
                var worker = _find(message.Pid);
                if (worker is null) continue;
                if (message is HelloMessage) worker.Connection = new ControlConnection(stream);
                else _onMessage(worker, message);
            }
        }
        catch (InvalidDataException e)
        {
            _log.Error($"control socket: {e.Message}; closing that connection");
        }
        catch (Exception) { }
    }

    public void Dispose()
    {
        _listener.Dispose();
        try { File.Delete(Path); } catch (IOException) { }
    }
}
