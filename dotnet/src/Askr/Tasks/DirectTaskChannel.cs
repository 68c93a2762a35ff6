using System.Net.Sockets;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>
/// An HTTP worker's connection to one task worker (one per task worker process it has sent
/// tasks to, through its <see cref="DirectTaskListener"/>). It has no reader thread: the thread
/// that waits for the results (the PHP thread, in <see cref="TaskDispatcher.Run"/>) polls the
/// sockets of its batch and reads each result itself (<see cref="ReadResult"/>), so a result
/// wakes that thread directly instead of a reader thread that then wakes it. If the connection
/// breaks (the task worker died) or brings a frame that is not a control message, it is closed
/// and every task still out on it gets an "error" outcome at once, saying which.
/// Used by one thread at a time (its dispatcher's caller).
/// </summary>
internal sealed class DirectTaskChannel : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Action<TaskResultMessage> _onResult;
    private readonly HashSet<long> _outstanding = [];
    private bool _broken;

    private DirectTaskChannel(Socket socket, long workerId, Action<TaskResultMessage> onResult)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        WorkerId = workerId;
        _onResult = onResult;
    }

    /// <summary>The task worker process this channel reaches (TaskBoard.WorkerId).</summary>
    public long WorkerId { get; }

    /// <summary>The socket, to poll for readability (Socket.Select) while results are out.</summary>
    public Socket Socket => _socket;

    public bool Broken => _broken;

    /// <summary>Tasks sent on this channel whose result has not been read yet.</summary>
    public int Outstanding => _outstanding.Count;

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

    /// <summary>
    /// Sends task <paramref name="id"/>; false if the connection is broken (nothing was sent, or
    /// the worker is gone). With <paramref name="reply"/> false the task worker sends no result
    /// (Octane's dispatch(): nobody reads it).
    /// </summary>
    public bool TrySend(long id, byte[] payload, bool reply = true)
    {
        if (_broken) return false;
        var frame = new RunTaskMessage { Id = id, Kind = TaskKind.Task, Payload = payload, NoReply = !reply }.ToFrame();
        try
        {
            _stream.Write(frame);
            if (reply) _outstanding.Add(id);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            _broken = true;
            return false;
        }
    }

    /// <summary>
    /// Reads one frame (call when <see cref="Socket"/> is readable) and hands a result to
    /// <c>onResult</c>. At the end of the stream or on a bad frame the channel is closed and
    /// every outstanding task fails at once with the reason.
    /// </summary>
    public void ReadResult()
    {
        if (_broken) return;
        string reason;
        try
        {
            if (ControlMessage.Read(_stream) is { } message)
            {
                if (message is TaskResultMessage result && _outstanding.Remove(result.Id)) _onResult(result);
                return;
            }
            reason = "the task worker running this task exited";
        }
        catch (InvalidDataException e)
        {
            // The stream cannot be resynchronised after a bad frame: drop the connection; the
            // next task to this worker connects afresh.
            reason = $"the task worker's answer was malformed ({e.Message}); its connection was closed";
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            reason = "the task worker running this task exited";
        }
        Close(reason);
    }

    /// <summary>
    /// Closes the connection; the tasks still out on it fail with <paramref name="reason"/>.
    /// </summary>
    public void Close(string reason)
    {
        long[] lost = [.. _outstanding];
        Abandon();
        foreach (var id in lost) _onResult(TaskResultMessage.Failed(id, reason));
    }

    /// <summary>
    /// Closes the connection and forgets the tasks still out on it (their caller's deadline has
    /// passed: they are its timeouts). Their late results have nowhere to go: the task worker drops them.
    /// </summary>
    public void Abandon()
    {
        _broken = true;
        _outstanding.Clear();
        _stream.Dispose();
    }

    public void Dispose()
    {
        _broken = true;
        _stream.Dispose();
    }
}
