using System.Net.Sockets;
using Askr.Logging;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>
/// A task worker's own Unix socket, on which HTTP workers that claimed its slot on the
/// <see cref="TaskBoard"/> send tasks directly. Frames are control frames (<see cref="ControlMessage"/>):
/// a "task" message carries <c>batch</c>, <c>index</c> and <c>payload</c>; the answer, on the same
/// connection, is a "task-result" with the same batch and index plus <c>status</c>, <c>payload</c>
/// or <c>message</c>. Each connection has a reader thread with blocking reads (one wake-up per
/// task). A bad frame closes that connection only.
/// </summary>
public sealed class DirectTaskListener : IDisposable
{
    private readonly Socket _listener;
    private readonly string _path;
    private readonly Action<ControlMessage, Action<ControlMessage>> _onTask;
    private readonly LogWriter _log;

    private DirectTaskListener(Socket listener, string path, Action<ControlMessage, Action<ControlMessage>> onTask, LogWriter log)
    {
        _listener = listener;
        _path = path;
        _onTask = onTask;
        _log = log;
    }

    /// <summary>
    /// Binds <paramref name="path"/> and accepts connections. <paramref name="onTask"/> gets each
    /// task message and a callback that sends its answer (any thread, once).
    /// </summary>
    public static DirectTaskListener Start(string path, Action<ControlMessage, Action<ControlMessage>> onTask, LogWriter log)
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
        try
        {
            while (ControlMessage.Read(stream) is { } message)
            {
                if (message.Type != ControlMessage.Task) continue;
                var batch = message.Batch;
                var index = message.Index;
                _onTask(message, answer =>
                {
                    answer.Type = ControlMessage.TaskResult;
                    answer.Batch = batch;
                    answer.Index = index;
                    var frame = answer.ToFrame();
                    lock (sendLock)
                    {
                        // The caller may be gone (its worker recycled): its result has nowhere to go.
                        try { stream.Write(frame); }
                        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException) { }
                    }
                });
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

/// <summary>
/// An HTTP worker's connection to one task worker (one per task worker process it has sent
/// tasks to). Results arrive on a reader thread and go to <c>onResult</c>; if the connection
/// breaks (the task worker died) or brings a frame that is not a control message, it is closed
/// and every task still out on it gets an "error" outcome at once, saying which.
/// </summary>
internal sealed class DirectTaskChannel : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Action<long, int, TaskOutcome> _onResult;
    private readonly HashSet<(long Batch, int Index)> _outstanding = [];
    private bool _broken;

    private DirectTaskChannel(Socket socket, long workerId, Action<long, int, TaskOutcome> onResult)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        WorkerId = workerId;
        _onResult = onResult;
        new Thread(Read) { IsBackground = true, Name = "askr-tasks-out" }.Start();
    }

    /// <summary>The task worker process this channel reaches (TaskBoard.WorkerId).</summary>
    public long WorkerId { get; }

    public bool Broken { get { lock (_outstanding) return _broken; } }

    /// <summary>Connects to a task worker's socket; null if it cannot be reached.</summary>
    public static DirectTaskChannel? Connect(string path, long workerId, Action<long, int, TaskOutcome> onResult)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
        return new DirectTaskChannel(socket, workerId, onResult);
    }

    /// <summary>Sends one task; false if the connection is broken (nothing was sent, or the worker is gone).</summary>
    public bool TrySend(long batch, int index, byte[] payload)
    {
        var frame = new ControlMessage { Type = ControlMessage.Task, Batch = batch, Index = index, Payload = payload }.ToFrame();
        lock (_outstanding)
        {
            if (_broken) return false;
            _outstanding.Add((batch, index));
        }
        try
        {
            _stream.Write(frame);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            lock (_outstanding)
            {
                _broken = true;
                _outstanding.Remove((batch, index));
            }
            return false;
        }
    }

    private void Read()
    {
        var reason = "the task worker running this task exited";
        try
        {
            while (ControlMessage.Read(_stream) is { } message)
            {
                if (message.Type != ControlMessage.TaskResult) continue;
                lock (_outstanding) _outstanding.Remove((message.Batch, message.Index));
                var status = message.Status == "ok" ? TaskOutcomeStatus.Ok : TaskOutcomeStatus.Error;
                _onResult(message.Batch, message.Index, new TaskOutcome(status, message.Payload, message.Message));
            }
        }
        catch (InvalidDataException e)
        {
            // The stream cannot be resynchronised after a bad frame: drop the connection; the
            // next task to this worker connects afresh.
            reason = $"the task worker's answer was malformed ({e.Message}); its connection was closed";
        }
        catch (Exception) { }
        (long, int)[] lost;
        lock (_outstanding)
        {
            _broken = true;
            lost = [.. _outstanding];
            _outstanding.Clear();
        }
        foreach (var (batch, index) in lost)
            _onResult(batch, index, new TaskOutcome(TaskOutcomeStatus.Error, null, reason));
        _stream.Dispose();
    }

    public void Dispose() => _stream.Dispose();
}
