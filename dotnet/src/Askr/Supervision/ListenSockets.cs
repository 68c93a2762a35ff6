using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Askr.Supervision;

/// <summary>
/// One listening socket per worker slot, all bound to the same address with SO_REUSEPORT, so they
/// form one reuseport group: the kernel hashes each new connection to a slot, or, with a
/// <see cref="ReuseportBalancer"/> attached (--spread bpf), takes the slots in turn. The supervisor creates and keeps them for
/// its whole life; worker processes inherit them (FD_CLOEXEC cleared). A slot whose worker is
/// being replaced keeps its socket, so connections the kernel queued for it wait for the next
/// process instead of being reset.
/// </summary>
internal sealed partial class ListenSockets : IDisposable
{
    private const int SolSocket = 1;     // <sys/socket.h> on Linux
    private const int SoReusePort = 15;
    private const int FGetFd = 1;         // <fcntl.h>
    private const int FSetFd = 2;
    private const int FdCloexec = 1;

    private readonly Socket[] _sockets;

    public ListenSockets(IPAddress address, int port, int count, int backlog = 1024)
    {
        _sockets = new Socket[count];
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1));
                if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.Equals(IPAddress.IPv6Any))
                    socket.DualMode = true;
                socket.Bind(new IPEndPoint(address, port));
                socket.Listen(backlog);
            }
            catch
            {
                socket.Dispose();
                Dispose();
                throw;
            }
            if (port == 0) port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            var fd = (int)socket.Handle;
            var flags = Fcntl(fd, FGetFd, 0);
            if (flags < 0 || Fcntl(fd, FSetFd, flags & ~FdCloexec) < 0)
                throw new IOException($"fcntl on listening socket failed: errno {Marshal.GetLastPInvokeError()}");
            _sockets[i] = socket;
        }
        Port = port;
    }

    /// <summary>The bound port (the kernel's choice when 0 was asked).</summary>
    public int Port { get; }

    /// <summary>The file descriptor a worker of <paramref name="slot"/> inherits.</summary>
    public int Descriptor(int slot) => (int)_sockets[slot].Handle;

    /// <summary>The descriptors of every slot, index = slot.</summary>
    public IReadOnlyList<int> Descriptors => _sockets.Select(s => (int)s.Handle).ToArray();

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int cmd, int arg);

    public void Dispose()
    {
        foreach (var s in _sockets) s?.Dispose();
    }
}
