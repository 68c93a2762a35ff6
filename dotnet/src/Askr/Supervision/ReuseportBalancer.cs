using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Askr.Supervision;

/// <summary>How new connections are spread over the HTTP slots' listening sockets (<c>askr serve --spread</c>).</summary>
public enum SpreadMode
{
    /// <summary>Round-robin over the active slots by a BPF reuseport program (<see cref="ReuseportBalancer"/>); falls back to <see cref="Hash"/> when it cannot load.</summary>
    Bpf,
    /// <summary>The kernel's SO_REUSEPORT hash of the connection's 4-tuple: uneven under few long-lived connections.</summary>
    Hash,
}

/// <summary>
/// Steers each new TCP connection of a SO_REUSEPORT group to the next slot in turn, so W workers
/// each get 1/W of the connections (the kernel's default hash gave one worker 289k requests and
/// the other 488k under wrk keep-alive, issue 15).
/// <para>
/// The program is of type <c>BPF_PROG_TYPE_SK_REUSEPORT</c>, attached to the group with
/// <c>SO_ATTACH_REUSEPORT_EBPF</c> on any member socket; the kernel runs it on each SYN and it picks a
/// socket from a <c>BPF_MAP_TYPE_REUSEPORT_SOCKARRAY</c> (key = slot, value = the slot's socket fd)
/// with <c>bpf_sk_select_reuseport</c>. Its state is one <c>BPF_MAP_TYPE_ARRAY</c> entry of two u64:
/// the number of active slots N (<see cref="SetActiveSlots"/>; autoscaling may change it) and a
/// counter it increments atomically; the slot is <c>counter % N</c>. When the state is missing, N is 0
/// or the slot has no socket, the program returns SK_PASS without a selection and the kernel falls
/// back to its hash, so a mistake here degrades to the old behaviour, never to refused connections.
/// </para>
/// <para>
/// Written as raw bytecode, loaded through the bpf(2) syscall (no clang, no libbpf). References:
/// the kernel's Documentation/bpf/standardization/instruction-set.rst (encoding),
/// Documentation/bpf/map_array.rst, include/uapi/linux/bpf.h (<c>union bpf_attr</c>,
/// <c>bpf_sk_select_reuseport</c>, <c>struct sk_reuseport_md</c>), net/core/sock_reuseport.c
/// (<c>reuseport_select_sock</c>: a NULL selection falls back to the hash) and
/// kernel selftests tools/testing/selftests/bpf/prog_tests/select_reuseport.c. Needs Linux ≥ 5.12
/// (BPF_ATOMIC fetch-add) and CAP_BPF + CAP_NET_ADMIN (or root).
/// </para>
/// </summary>
internal sealed partial class ReuseportBalancer : IDisposable
{
    // include/uapi/linux/bpf.h
    private const int BpfMapCreate = 0, BpfMapUpdateElem = 2, BpfProgLoad = 5;
    private const uint MapTypeArray = 2, MapTypeReuseportSockarray = 20;
    private const uint ProgTypeSkReuseport = 21;
    private const uint AttachSkReuseportSelect = 39;
    private const int HelperMapLookupElem = 1, HelperSkSelectReuseport = 82;
    private const int SkPass = 1;
    private const int SolSocket = 1, SoAttachReuseportEbpf = 52; // <asm-generic/socket.h>
    private const long SysBpf = 321;                               // x86_64
    private const int AttrBytes = 128;                             // past what we set: zero, as the kernel checks

    /// <summary>The bpf(2) syscall: (cmd, union bpf_attr bytes) → result or -1 with errno. Replaced by tests.</summary>
    internal delegate long BpfCall(int cmd, Span<byte> attr, out int errno);

    private readonly int _stateMap, _socketMap, _program;
    private readonly BpfCall _bpf;

    private ReuseportBalancer(int stateMap, int socketMap, int program, int slots, BpfCall bpf)
    {
        _stateMap = stateMap; _socketMap = socketMap; _program = program; Slots = slots; _bpf = bpf;
    }

    /// <summary>Slots the socket array holds (the HTTP worker count at start).</summary>
    public int Slots { get; }

    /// <summary>
    /// Loads the program, fills its socket array with <paramref name="socketFds"/> (index = slot;
    /// each must be listening and in the same SO_REUSEPORT group) and attaches it to the group.
    /// Returns null with <paramref name="failure"/> naming the step and errno when any step fails
    /// (nothing is left attached then: the kernel keeps hashing).
    /// </summary>
    public static ReuseportBalancer? TryAttach(IReadOnlyList<int> socketFds, out string? failure, BpfCall? bpf = null)
    {
        bpf ??= Syscall;
        failure = null;
        int state = -1, sockets = -1, program = -1;
        try
        {
            if (socketFds.Count == 0) { failure = "no sockets"; return null; }
            state = MapCreate(bpf, MapTypeArray, 4, 16, 1, "askr_spread_st", ref failure);
            if (state < 0) return null;
            sockets = MapCreate(bpf, MapTypeReuseportSockarray, 4, 8, (uint)socketFds.Count, "askr_spread_sk", ref failure);
            if (sockets < 0) return null;
            program = ProgLoad(bpf, Program(state, sockets), ref failure);
            if (program < 0) return null;
            for (var slot = 0; slot < socketFds.Count; slot++)
                if (!MapUpdate(bpf, sockets, (uint)slot, (ulong)socketFds[slot], 0, ref failure)) return null;
            var balancer = new ReuseportBalancer(state, sockets, program, socketFds.Count, bpf);
            if (!balancer.TrySetActiveSlots(socketFds.Count, out failure)) return null;
            var fd = program;
            if (SetSockOpt(socketFds[0], SolSocket, SoAttachReuseportEbpf, ref fd, sizeof(int)) != 0)
            {
                failure = $"setsockopt(SO_ATTACH_REUSEPORT_EBPF): {Describe(Marshal.GetLastPInvokeError())}";
                return null;
            }
            state = sockets = program = -1; // owned by the balancer now
            return balancer;
        }
        finally
        {
            foreach (var fd in new[] { program, sockets, state }) if (fd >= 0) Close(fd);
        }
    }

    /// <summary>Spreads new connections over slots 0..<paramref name="count"/>-1 (1 ≤ count ≤ <see cref="Slots"/>); the turn counter keeps going.</summary>
    /// <exception cref="ArgumentOutOfRangeException">count outside 1..Slots.</exception>
    /// <exception cref="IOException">the map update failed (errno in the message).</exception>
    public void SetActiveSlots(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Slots);
        if (!TrySetActiveSlots(count, out var failure)) throw new IOException(failure);
    }

    private bool TrySetActiveSlots(int count, out string? failure)
    {
        failure = null;
        // The value is {u64 active, u64 counter}; writing the whole entry resets the counter, which only shifts whose turn is next.
        return MapUpdate(_bpf, _stateMap, 0, (ulong)count, 0, ref failure);
    }

    /// <summary>
    /// The program (22 instructions). r6 = ctx; look up state[0]; N = state.active; if none → pass.
    /// i = atomic_fetch_add(&amp;state.counter, 1) % N; bpf_sk_select_reuseport(ctx, sockets, &amp;i, 0);
    /// return SK_PASS (a failed selection leaves the kernel's hash to choose).
    /// </summary>
    internal static byte[] Program(int stateMap, int socketMap)
    {
        var code = new List<byte>(22 * 8);
        void I(byte op, int dst = 0, int src = 0, short off = 0, int imm = 0)
        {
            Span<byte> b = stackalloc byte[8];
            b[0] = op; b[1] = (byte)(dst | (src << 4));
            BinaryPrimitives.WriteInt16LittleEndian(b[2..], off);
            BinaryPrimitives.WriteInt32LittleEndian(b[4..], imm);
            foreach (var x in b) code.Add(x);
        }
        void LoadMap(int dst, int fd) { I(0x18, dst, 1, 0, fd); I(0, 0, 0, 0, 0); } // ld_imm64 dst, map fd (src = BPF_PSEUDO_MAP_FD)
        const byte Mov64Reg = 0xbf, Mov64Imm = 0xb7, Add64Imm = 0x07, Mod64Reg = 0x9f, StW = 0x62, StxW = 0x63,
            LdxDw = 0x79, AtomicDw = 0xdb, JeqImm = 0x15, Call = 0x85, Exit = 0x95;
        const int AtomicFetchAdd = 0x01; // BPF_ADD | BPF_FETCH
        I(Mov64Reg, 6, 1);                       // 0: r6 = ctx
        I(StW, 10, 0, -4, 0);                    // 1: *(u32*)(fp-4) = 0
        I(Mov64Reg, 2, 10); I(Add64Imm, 2, 0, 0, -4); // 2-3: r2 = fp-4
        LoadMap(1, stateMap);                    // 4-5: r1 = &state
        I(Call, 0, 0, 0, HelperMapLookupElem);   // 6: r0 = lookup(state, 0)
        I(JeqImm, 0, 0, 13, 0);                  // 7: if r0 == 0 goto 21
        I(LdxDw, 7, 0, 0);                       // 8: r7 = active
        I(JeqImm, 7, 0, 11, 0);                  // 9: if r7 == 0 goto 21
        I(Mov64Imm, 8, 0, 0, 1);                 // 10: r8 = 1
        I(AtomicDw, 0, 8, 8, AtomicFetchAdd);    // 11: r8 = atomic_fetch_add(&counter, r8)
        I(Mod64Reg, 8, 7);                       // 12: r8 %= r7
        I(StxW, 10, 8, -8);                      // 13: *(u32*)(fp-8) = r8
        I(Mov64Reg, 1, 6);                       // 14: r1 = ctx
        LoadMap(2, socketMap);                   // 15-16: r2 = &sockets
        I(Mov64Reg, 3, 10); I(Add64Imm, 3, 0, 0, -8); // 17-18: r3 = fp-8
        I(Mov64Imm, 4, 0, 0, 0);                 // 19: r4 = 0 (flags)
        I(Call, 0, 0, 0, HelperSkSelectReuseport); // 20
        I(Mov64Imm, 0, 0, 0, SkPass);            // 21: return SK_PASS
        I(Exit);
        return code.ToArray();
    }

    private static int MapCreate(BpfCall bpf, uint type, uint keySize, uint valueSize, uint entries, string name, ref string? failure)
    {
        Span<byte> a = stackalloc byte[AttrBytes];
        a.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(a[0..], type);
        BinaryPrimitives.WriteUInt32LittleEndian(a[4..], keySize);
        BinaryPrimitives.WriteUInt32LittleEndian(a[8..], valueSize);
        BinaryPrimitives.WriteUInt32LittleEndian(a[12..], entries);
        System.Text.Encoding.ASCII.GetBytes(name, a.Slice(28, 15)); // map_name[16] after map_flags, inner_map_fd, numa_node
        var fd = bpf(BpfMapCreate, a, out var errno);
        if (fd < 0) failure = $"bpf(BPF_MAP_CREATE {name}): {Describe(errno)}";
        return (int)fd;
    }

    private static unsafe int ProgLoad(BpfCall bpf, byte[] insns, ref string? failure)
    {
        var license = "GPL\0"u8.ToArray();
        var log = new byte[64 * 1024];
        fixed (byte* pi = insns, pl = license, plog = log)
        {
            Span<byte> a = stackalloc byte[AttrBytes];
            a.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(a[0..], ProgTypeSkReuseport);
            BinaryPrimitives.WriteUInt32LittleEndian(a[4..], (uint)(insns.Length / 8));
            BinaryPrimitives.WriteUInt64LittleEndian(a[8..], (ulong)pi);
            BinaryPrimitives.WriteUInt64LittleEndian(a[16..], (ulong)pl);
            BinaryPrimitives.WriteUInt32LittleEndian(a[24..], 1);            // log_level
            BinaryPrimitives.WriteUInt32LittleEndian(a[28..], (uint)log.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(a[32..], (ulong)plog);
            "askr_spread"u8.CopyTo(a[48..]);                                 // prog_name[16]
            BinaryPrimitives.WriteUInt32LittleEndian(a[68..], AttachSkReuseportSelect); // expected_attach_type
            var fd = bpf(BpfProgLoad, a, out var errno);
            if (fd < 0)
            {
                var text = System.Text.Encoding.ASCII.GetString(log, 0, Math.Max(0, Array.IndexOf(log, (byte)0))).Trim();
                failure = $"bpf(BPF_PROG_LOAD): {Describe(errno)}{(text.Length > 0 ? $"; verifier: {text.ReplaceLineEndings(" | ")}" : "")}";
            }
            return (int)fd;
        }
    }

    private static unsafe bool MapUpdate(BpfCall bpf, int map, uint key, ulong value, ulong value2, ref string? failure)
    {
        // The state map's values are 16 bytes, the socket array's 8: a 16-byte buffer serves both.
        var k = key;
        var v = stackalloc ulong[2];
        v[0] = value; v[1] = value2;
        Span<byte> a = stackalloc byte[AttrBytes];
        a.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(a[0..], (uint)map);
        BinaryPrimitives.WriteUInt64LittleEndian(a[8..], (ulong)&k);
        BinaryPrimitives.WriteUInt64LittleEndian(a[16..], (ulong)v);
        // flags (a[24..]) = BPF_ANY
        if (bpf(BpfMapUpdateElem, a, out var errno) >= 0) return true;
        failure = $"bpf(BPF_MAP_UPDATE_ELEM key {key}): {Describe(errno)}";
        return false;
    }

    private static string Describe(int errno) => errno switch
    {
        1 => "EPERM (not permitted: needs CAP_BPF and CAP_NET_ADMIN, or root; a container's seccomp profile may also forbid bpf())",
        38 => "ENOSYS (no bpf() syscall in this kernel)",
        22 => "EINVAL (the kernel does not accept this program or map; Linux >= 5.12 is needed)",
        _ => $"errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})",
    };

    private static unsafe long Syscall(int cmd, Span<byte> attr, out int errno)
    {
        fixed (byte* p = attr)
        {
            var r = SyscallBpf(SysBpf, cmd, p, (uint)attr.Length);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            return r;
        }
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long SyscallBpf(long number, int cmd, byte* attr, uint size);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, ref int value, int length);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    /// <summary>Closes the maps and the program's fds; the program stays attached to the group until its sockets close.</summary>
    public void Dispose()
    {
        Close(_program); Close(_socketMap); Close(_stateMap);
    }
}
