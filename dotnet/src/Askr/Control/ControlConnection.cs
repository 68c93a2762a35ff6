using System.Net.Sockets;

namespace Askr.Control;

/// <summary>The supervisor's end of one worker's control socket: thread-safe sends.</summary>
public sealed class ControlConnection
{
    private readonly NetworkStream _stream;
    private readonly object _lock = new();

    public ControlConnection(NetworkStream stream) => _stream = stream;

    /// <summary>Sends a message; false if the worker is gone.</summary>
    public bool TrySend(ControlMessage message)
    {
        var frame = message.ToFrame();
        lock (_lock)
        {
            try
            {
                _stream.Write(frame);
                return true;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                return false;
            }
        }
    }
}
