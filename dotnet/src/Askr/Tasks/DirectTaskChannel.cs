using System.Net.Sockets;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>
/// An HTTP worker's connection to one task worker (one per task worker process it has sent
/// tasks to, through its <see cref="DirectTaskListener"/>). Results arrive on a reader thread and
/// go to <c>onResult</c>; if the connection breaks (the task worker died) or brings a frame that
/// is not a control message, it is closed and every task still out on it gets an "error"
/// outcome at once, saying which.
/// </summary>
internal sealed class DirectTaskChannel : IDisposable
{
    private readonly NetworkStream _stream;
    private readonly Action<TaskResultMessage> _onResult;
    private readonly HashSet<long> _outstanding = [];
    private bool _broken;

    private DirectTaskChannel(Socket socket, long workerId, Action<TaskResultMessage> onResult)
    {
        _stream = new NetworkStream(socket, ownsSocket: true);
        WorkerId = workerId;
        _onResult = onResult;
        new Thread(Read) { IsBackground = true, Name = "askr-tasks-out" }.Start();
    }

    /// <summary>The task worker process this channel reaches (TaskBoard.WorkerId).</summary>
    public long WorkerId { get; }

    public bool Broken { get { lock (_outstanding) return _broken; } }

    /// <summary>Connects to a task worker's socket; null if it cannot be reached.</summary>
    public static DirectTaskChannel? Connect(string path, long workerId, Action<TaskResultMessage> onResult)
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

    /// <summary>Sends task <paramref name="id"/>; false if the connection is broken (nothing was sent, or the worker is gone).</summary>
    public bool TrySend(long id, byte[] payload)
    {
        var frame = new RunTaskMessage { Id = id, Kind = TaskKind.Task, Payload = payload }.ToFrame();
        lock (_outstanding)
        {
            if (_broken) return false;
            _outstanding.Add(id);
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
                _outstanding.Remove(id);
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
                if (message is not TaskResultMessage result) continue;
                lock (_outstanding) _outstanding.Remove(result.Id);
                _onResult(result);
            }
        }
        catch (InvalidDataException e)
        {
            // The stream cannot be resynchronised after a bad frame: drop the connection; the
            // next task to this worker connects afresh.
            reason = $"the task worker's answer was malformed ({e.Message}); its connection was closed";
        }
        catch (Exception) { }
        long[] lost;
        lock (_outstanding)
        {
            _broken = true;
            lost = [.. _outstanding];
            _outstanding.Clear();
        }
        foreach (var id in lost) _onResult(TaskResultMessage.Failed(id, reason));
        _stream.Dispose();
    }

    public void Dispose() => _stream.Dispose();
}
