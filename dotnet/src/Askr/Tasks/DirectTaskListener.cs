using System.Net.Sockets;
using Askr.Control;
using Askr.Logging;

namespace Askr.Tasks;

/// <summary>
/// A task worker's own Unix socket, on which HTTP workers that claimed its slot on the
/// <see cref="TaskBoard"/> send tasks directly: each a <see cref="RunTaskMessage"/>, answered on
/// the same connection with the <see cref="TaskResultMessage"/> of the same id (other messages
/// are ignored). Each connection has a reader thread with blocking reads (one wake-up per task).
/// A bad frame closes that connection only.
/// </summary>
public sealed class DirectTaskListener : IDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Action<RunTaskMessage, Action<TaskResultMessage>> _onTask;
    private readonly LogWriter _log;

    private DirectTaskListener(Socket listener, string path, Action<RunTaskMessage, Action<TaskResultMessage>> onTask, LogWriter log)
    {
        _listener = listener;
        _path = path;
        _onTask = onTask;
        _log = log;
    }

    /// <summary>
    /// Binds <paramref name="path"/> and accepts connections. <paramref name="onTask"/> gets each
    /// task and a callback that sends its result (any thread, once).
    /// </summary>
    public static DirectTaskListener Start(string path, Action<RunTaskMessage, Action<TaskResultMessage>> onTask, LogWriter log)
    {
        try { File.Delete(path); } catch (IOException) { }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(64);
        var listener = new DirectTaskListener(socket, path, onTask, log);
        new Thread(listener.Accept) { IsBackground = true, Name = "askr-tasks-accept" }.Start();
        return listener;
    }

    private void Accept()
    {
        while (true)
        {
            Socket connection;
            try { connection = _listener.Accept(); }
            catch (Exception) { return; }
            new Thread(() => Serve(connection)) { IsBackground = true, Name = "askr-tasks-in" }.Start();
        }
    }

    private void Serve(Socket connection)
    {
        using var stream = new NetworkStream(connection, ownsSocket: true);
        var sendLock = new object();
        void Reply(TaskResultMessage result)
        {
            var frame = result.ToFrame();
            lock (sendLock)
            {
                // The caller may be gone (its worker recycled): its result has nowhere to go.
                try { stream.Write(frame); }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
            }
        }
        try
        {
            while (ControlMessage.Read(stream) is { } message)
            {
                if (message is RunTaskMessage task) _onTask(task, Reply);
            }
        }
        catch (InvalidDataException e)
        {
            _log.Error($"task socket: {e.Message}; closing that connection");
        }
        catch (Exception) { }
    }

    public void Dispose()
    {
        _listener.Dispose();
        try { File.Delete(_path); } catch (IOException) { }
    }
}
