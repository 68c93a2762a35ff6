using System.Net;
using System.Net.Sockets;
using Askr.Logging;
using Askr.Supervision;

namespace Askr.Tests.Supervision;

/// <summary>
/// The BPF reuseport program on real sockets of this kernel (connections accepted straight from
/// the slots' listening sockets, no askr process), and the fallback to the kernel's hash when the
/// bpf() syscall fails (a fake syscall).
/// </summary>
public sealed class ReuseportBalancerTests
{
    /// <summary>Opens <paramref name="connections"/> connections to the group's port and counts, per slot, the ones its socket can accept.</summary>
    private static int[] ConnectAndCount(ListenSockets sockets, int connections)
    {
        var clients = new List<Socket>();
        var counts = new int[sockets.Descriptors.Count];
        try
        {
            for (var i = 0; i < connections; i++)
            {
                var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(c);
                c.Connect(new IPEndPoint(IPAddress.Loopback, sockets.Port));
            }
            // A connect that returned is in the accept queue of the socket the kernel (or the program) chose.
            for (var slot = 0; slot < counts.Length; slot++)
            {
                using var listener = new Socket(new SafeSocketHandle(sockets.Descriptor(slot), ownsHandle: false));
                while (listener.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead))
                {
                    using var accepted = listener.Accept();
                    counts[slot]++;
                }
            }
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
        return counts;
    }

    [Fact]
    public void The_program_loads_and_takes_the_four_slots_in_turn()
    {
        using var sockets = new ListenSockets(IPAddress.Loopback, 0, 4);
        using var balancer = ReuseportBalancer.TryAttach(sockets.Descriptors, out var failure);
        Assert.True(balancer is not null, $"the program did not attach: {failure}");
        var counts = ConnectAndCount(sockets, 64);
        Assert.Equal([16, 16, 16, 16], counts);
    }

    [Fact]
    public void Fewer_active_slots_keep_new_connections_to_the_first_ones()
    {
        using var sockets = new ListenSockets(IPAddress.Loopback, 0, 4);
        using var balancer = ReuseportBalancer.TryAttach(sockets.Descriptors, out var failure);
        Assert.True(balancer is not null, $"the program did not attach: {failure}");
        balancer!.SetActiveSlots(2);
        Assert.Equal([10, 10, 0, 0], ConnectAndCount(sockets, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => balancer.SetActiveSlots(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => balancer.SetActiveSlots(0));
    }

    [Fact]
    public void A_bpf_syscall_that_is_not_permitted_falls_back_to_the_hash_with_one_warning_naming_the_reason()
    {
        using var sockets = new ListenSockets(IPAddress.Loopback, 0, 2);
        var output = new MemoryStream();
        var log = new LogWriter(LogFormat.Text, LogLevel.Info, output);
        var calls = 0;
        var balancer = NodeServices.AttachBalancer(sockets, "", log, (int cmd, Span<byte> attr, out int errno) =>
        {
            calls++;
            errno = 1; // EPERM, as without CAP_BPF
            return -1;
        });
        Assert.Null(balancer);
        Assert.Equal(1, calls);
        log.Dispose();
        var lines = System.Text.Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Contains("WARN", line);
        Assert.Contains("BPF_MAP_CREATE", line);
        Assert.Contains("EPERM", line);
        Assert.Contains("CAP_BPF", line);
        Assert.Contains("falling back to the kernel's SO_REUSEPORT hash", line);
        // The sockets still take connections: the kernel hashes them.
        Assert.Equal(8, ConnectAndCount(sockets, 8).Sum());
    }

    [Fact]
    public void A_program_the_kernel_refuses_is_reported_with_the_step_that_failed()
    {
        using var sockets = new ListenSockets(IPAddress.Loopback, 0, 2);
        var fakeFd = 1_000_000; // far above any open descriptor: closing it is harmless
        var balancer = ReuseportBalancer.TryAttach(sockets.Descriptors, out var failure, (int cmd, Span<byte> attr, out int errno) =>
        {
            if (cmd == 0) { errno = 0; return fakeFd++; } // BPF_MAP_CREATE succeeds
            errno = 22;                                    // BPF_PROG_LOAD: EINVAL
            return -1;
        });
        Assert.Null(balancer);
        Assert.Contains("BPF_PROG_LOAD", failure);
        Assert.Contains("EINVAL", failure);
    }
}
