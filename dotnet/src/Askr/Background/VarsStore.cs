using System.Text;
using Askr.SharedMemory;

namespace Askr.Background;

/// <summary>What a background worker's slot in the <see cref="VarsStore"/> is.</summary>
public enum VarsSlotState
{
    /// <summary>No name (a catch-all slot not handed out yet).</summary>
    Free = 0,
    /// <summary>Declared, never started (a lazy worker nobody ensured yet).</summary>
    Declared = 1,
    /// <summary>Started at least once by the supervisor (running, or restarting).</summary>
    Started = 2,
}

/// <summary>Why a <see cref="VarsStore.Read"/> returned what it did.</summary>
public enum VarsRead { Ok, Unchanged, NotPublished }

/// <summary>
/// The node's background-worker snapshots (docs/background-workers.md): a shared-memory file under
/// /dev/shm with one slot per background worker name. A slot holds the name, what the supervisor
/// knows (state, start attempts, consecutive failures, the last exit status), what the worker's
/// last attempt left (PHP's last error: message, file, line) and the snapshot: the bytes of
/// set_vars() (PHP-serialized) with a generation counter, 0 until the first publish.
///
/// A snapshot is double-buffered: generation g lives in buffer g % 2. A writer (one at a time
/// per slot: a lock word holding its pid, cleared by the supervisor if the writer dies) writes
/// generation g + 1 into the other buffer and then publishes the new generation; a reader takes
/// the generation, copies its buffer and checks that the generation did not move (a writer only
/// reuses a buffer two generations later). A writer killed in the middle leaves the published
/// snapshot intact. Readers that already hold the latest generation read one integer and copy nothing.
///
/// Layout (little-endian): a 4096-byte header (magic, slot count, capacity, catch-all cap), then
/// a 4096-byte record per slot (<see cref="Record"/> offsets), then two data buffers of
/// <see cref="Capacity"/> bytes per slot (sparse: only written pages take memory).
/// </summary>
public sealed unsafe class VarsStore : IDisposable
{
    private const long Magic = 0x5352_4156_524B_5341; // "ASKRVARS"
    private const int HeaderBytes = 4096;
    private const int RecordBytes = 4096;
    /// <summary>Longest background worker name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 128;
    private const int MaxMessageBytes = 2816;
    private const int MaxFileBytes = 1088;

    // Offsets in a slot's record.
    private const int OffGeneration = 0, OffLock = 8, OffState = 12, OffAttempts = 16, OffFailures = 20, OffFlags = 24,
        OffNameLength = 28, OffExitStatus = 32, OffMessageLength = 36, OffLine = 40, OffFileLength = 48,
        OffLength0 = 56, OffLength1 = 64, OffName = 128, OffMessage = 256, OffFile = 256 + MaxMessageBytes;

    /// <summary>Slot flag: a lazy worker (started by ensure_background_worker()).</summary>
    public const int FlagLazy = 1;
    /// <summary>Slot flag: a name the catch-all entrypoint (--background-entrypoint) runs.</summary>
    public const int FlagCatchAll = 2;
    /// <summary>Slot flag: a scope=cluster worker (runs on one node of the cluster; its snapshot may be written by the supervisor from a peer).</summary>
    public const int FlagCluster = 4;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly Dictionary<string, int> _found = new(StringComparer.Ordinal);

    private VarsStore(MappedFile file)
    {
        _file = file;
        _base = file.Base;
    }

    public string Path => _file.Path;
    public int Slots => *(int*)(_base + 8);
    /// <summary>Largest snapshot, in bytes (--background-vars-limit).</summary>
    public long Capacity => *(long*)(_base + 16);
    /// <summary>Names the catch-all may run (--background-entrypoint-cap); 0 without a catch-all.</summary>
    public int CatchAllCap => *(int*)(_base + 24);

    /// <summary>
    /// Creates the file (supervisor): a slot per declared name (in order, flags as given) and
    /// <paramref name="catchAllCap"/> free slots for the catch-all.
    /// </summary>
    public static VarsStore Create(string path, IReadOnlyList<(string Name, int Flags)> declared, int catchAllCap, long capacity)
    {
        var slots = declared.Count + catchAllCap;
        var file = MappedFile.Create(path, HeaderBytes + (long)slots * RecordBytes + 2L * slots * capacity);
        var store = new VarsStore(file);
        *(long*)store._base = Magic;
        *(int*)(store._base + 8) = slots;
        *(long*)(store._base + 16) = capacity;
        *(int*)(store._base + 24) = catchAllCap;
        for (var i = 0; i < declared.Count; i++) store.Name(i, declared[i].Name, declared[i].Flags);
        return store;
    }

    public static VarsStore Open(string path)
    {
        var file = MappedFile.Open(path);
        if (*(long*)file.Base != Magic)
        {
            file.Dispose();
            throw new InvalidDataException($"{path} is not a background-worker vars file");
        }
        return new VarsStore(file);
    }

    private byte* Record(int slot) => _base + HeaderBytes + (long)slot * RecordBytes;
    private byte* Buffer(int slot, long generation) => _base + HeaderBytes + (long)Slots * RecordBytes + (2L * slot + (generation & 1)) * Capacity;

    /// <summary>Gives free slot <paramref name="slot"/> its name (supervisor only: names never change once given).</summary>
    public void Name(int slot, string name, int flags)
    {
        var r = Record(slot);
        var bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length > MaxNameBytes) throw new ArgumentException($"background worker name \"{name}\" is longer than {MaxNameBytes} bytes");
        bytes.CopyTo(new Span<byte>(r + OffName, MaxNameBytes));
        *(int*)(r + OffFlags) = flags;
        *(int*)(r + OffNameLength) = bytes.Length;
        Volatile.Write(ref *(int*)(r + OffState), (int)VarsSlotState.Declared);
    }

    /// <summary>The slot named <paramref name="name"/>, or -1 (found names are remembered: they never move).</summary>
    public int Find(string name)
    {
        lock (_found)
        {
            if (_found.TryGetValue(name, out var known)) return known;
        }
        var bytes = Encoding.UTF8.GetBytes(name);
        for (var i = 0; i < Slots; i++)
        {
            var r = Record(i);
            if (Volatile.Read(ref *(int*)(r + OffState)) == (int)VarsSlotState.Free) continue;
            if (!new ReadOnlySpan<byte>(r + OffName, *(int*)(r + OffNameLength)).SequenceEqual(bytes)) continue;
            lock (_found) _found[name] = i;
            return i;
        }
        return -1;
    }

    /// <summary>The first free slot (a catch-all one), or -1.</summary>
    public int FreeSlot()
    {
        for (var i = 0; i < Slots; i++)
            if (Volatile.Read(ref *(int*)(Record(i) + OffState)) == (int)VarsSlotState.Free) return i;
        return -1;
    }

    /// <summary>How many catch-all names are handed out.</summary>
    public int CatchAllInUse()
    {
        var n = 0;
        for (var i = 0; i < Slots; i++)
            if (Volatile.Read(ref *(int*)(Record(i) + OffState)) != (int)VarsSlotState.Free && (Flags(i) & FlagCatchAll) != 0) n++;
        return n;
    }

    public string NameOf(int slot) => Encoding.UTF8.GetString(Record(slot) + OffName, *(int*)(Record(slot) + OffNameLength));
    public int Flags(int slot) => *(int*)(Record(slot) + OffFlags);
    public VarsSlotState State(int slot) => (VarsSlotState)Volatile.Read(ref *(int*)(Record(slot) + OffState));
    public long Generation(int slot) => Volatile.Read(ref *(long*)Record(slot));
    public int Attempts(int slot) => Volatile.Read(ref *(int*)(Record(slot) + OffAttempts));
    /// <summary>Consecutive failed attempts (exits the supervisor did not ask for), as the supervisor counts them.</summary>
    public int Failures(int slot) => Volatile.Read(ref *(int*)(Record(slot) + OffFailures));
    public int ExitStatus(int slot) => Volatile.Read(ref *(int*)(Record(slot) + OffExitStatus));

    /// <summary>The supervisor starts an attempt: the slot is Started, and counts it.</summary>
    public void StartAttempt(int slot)
    {
        var r = Record(slot);
        Interlocked.Increment(ref *(int*)(r + OffAttempts));
        Volatile.Write(ref *(int*)(r + OffState), (int)VarsSlotState.Started);
    }

    /// <summary>The slot is Started without an attempt here: a scope=cluster worker that runs on another node (its vars arrive from there).</summary>
    public void MarkStarted(int slot) => Volatile.Write(ref *(int*)(Record(slot) + OffState), (int)VarsSlotState.Started);

    /// <summary>The supervisor saw an attempt end: its exit status, the failure count, and frees the writer lock if the writer was <paramref name="pid"/>.</summary>
    public void EndAttempt(int slot, int pid, int exitStatus, int failures)
    {
        var r = Record(slot);
        Volatile.Write(ref *(int*)(r + OffExitStatus), exitStatus);
        Volatile.Write(ref *(int*)(r + OffFailures), failures);
        Interlocked.CompareExchange(ref *(int*)(r + OffLock), 0, pid);
    }

    /// <summary>The worker records its last PHP error before it exits (message, file, line; empty: none).</summary>
    public void RecordError(int slot, string message, string file, long line)
    {
        var r = Record(slot);
        var m = Truncate(message, MaxMessageBytes);
        var f = Truncate(file, MaxFileBytes);
        m.CopyTo(new Span<byte>(r + OffMessage, MaxMessageBytes));
        f.CopyTo(new Span<byte>(r + OffFile, MaxFileBytes));
        *(long*)(r + OffLine) = line;
        *(int*)(r + OffFileLength) = f.Length;
        Volatile.Write(ref *(int*)(r + OffMessageLength), m.Length);
    }

    /// <summary>The last attempt's PHP error; an empty message when it left none.</summary>
    public (string Message, string File, long Line) LastError(int slot)
    {
        var r = Record(slot);
        var m = Math.Clamp(Volatile.Read(ref *(int*)(r + OffMessageLength)), 0, MaxMessageBytes);
        var f = Math.Clamp(*(int*)(r + OffFileLength), 0, MaxFileBytes);
        return (Encoding.UTF8.GetString(r + OffMessage, m), Encoding.UTF8.GetString(r + OffFile, f), *(long*)(r + OffLine));
    }

    private static byte[] Truncate(string s, int max)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        return bytes.Length <= max ? bytes : bytes[..max];
    }

    /// <summary>
    /// Publishes <paramref name="snapshot"/> as the slot's next generation; false (nothing
    /// written, the generation unchanged) when it equals the current snapshot. The caller checked
    /// the size against <see cref="Capacity"/>.
    /// </summary>
    public bool Write(int slot, ReadOnlySpan<byte> snapshot)
    {
        if (snapshot.Length > Capacity) throw new ArgumentException($"a snapshot of {snapshot.Length} bytes is larger than the store's {Capacity}");
        var r = Record(slot);
        ref var owner = ref *(int*)(r + OffLock);
        var pid = Environment.ProcessId;
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref owner, pid, 0) != 0) spin.SpinOnce();
        try
        {
            var generation = Volatile.Read(ref *(long*)r);
            if (generation > 0 && *(long*)(r + LengthOffset(generation)) == snapshot.Length
                && new ReadOnlySpan<byte>(Buffer(slot, generation), snapshot.Length).SequenceEqual(snapshot))
                return false;
            var next = generation + 1;
            snapshot.CopyTo(new Span<byte>(Buffer(slot, next), snapshot.Length));
            *(long*)(r + LengthOffset(next)) = snapshot.Length;
            Volatile.Write(ref *(long*)r, next);
            return true;
        }
        finally
        {
            Volatile.Write(ref owner, 0);
        }
    }

    private static int LengthOffset(long generation) => (generation & 1) == 0 ? OffLength0 : OffLength1;

    /// <summary>
    /// Reads the slot's latest snapshot unless it is still <paramref name="known"/>
    /// (<see cref="VarsRead.Unchanged"/>: one integer read). <paramref name="buffer"/> grows as needed
    /// (native memory, <paramref name="bufferBytes"/> its size); <paramref name="length"/> is what was copied.
    /// </summary>
    public VarsRead Read(int slot, long known, out long generation, ref byte* buffer, ref long bufferBytes, out long length)
    {
        var r = Record(slot);
        while (true)
        {
            generation = Volatile.Read(ref *(long*)r);
            length = 0;
            if (generation == 0) return VarsRead.NotPublished;
            if (generation == known) return VarsRead.Unchanged;
            length = Volatile.Read(ref *(long*)(r + LengthOffset(generation)));
            if (length < 0 || length > Capacity) continue;
            if (length > bufferBytes)
            {
                buffer = (byte*)System.Runtime.InteropServices.NativeMemory.Realloc(buffer, (nuint)length);
                bufferBytes = length;
            }
            System.Buffer.MemoryCopy(Buffer(slot, generation), buffer, bufferBytes, length);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref *(long*)r) == generation) return VarsRead.Ok;
        }
    }

    /// <summary>As <see cref="Read(int, long, out long, ref byte*, ref long, out long)"/>, into a new managed array (tests, tools; not the natives' path).</summary>
    public VarsRead Read(int slot, long known, out long generation, out byte[] snapshot)
    {
        byte* buffer = null;
        long bytes = 0;
        try
        {
            var read = Read(slot, known, out generation, ref buffer, ref bytes, out var length);
            snapshot = new ReadOnlySpan<byte>(buffer, (int)length).ToArray();
            return read;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(buffer);
        }
    }

    public void Dispose() => _file.Dispose();
}
