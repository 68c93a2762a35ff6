using System.Numerics;
using System.Runtime.InteropServices;
using Askr.SharedMemory;

namespace Askr.WebSockets;

/// <summary>
/// The node's Pusher event ring (docs/websockets.md, "Fan-out across the node"): a byte ring in a
/// /dev/shm file that every HTTP worker and the supervisor map. A process that has an event for
/// the others (a trigger through its HTTP API or broadcast(), a client event; the supervisor: an
/// event from another node of the cluster) appends it; every process reads every record in order
/// and skips its own. No process relays for another, and one append serves every reader.
///
/// Layout (little-endian): a 4096-byte header, then <see cref="Capacity"/> bytes of records.
/// Header: magic (8), capacity (8), tail (8: bytes ever appended, the end of the last complete
/// record), reserved (8: the end of the record being written, published before its bytes), writer
/// lock (4: the writer's pid, taken over when that process is gone), sequence (4: bumped after each
/// append, the futex word readers sleep on), sleepers (4). A record at position p (offset
/// p mod capacity): length (4; -1 = wrap: the next record starts at the next multiple of the
/// capacity), origin pid (4), the payload, padding to 8 bytes.
///
/// A reader keeps its own position. A reader more than one capacity behind has lost records: it
/// counts them as one overrun (<see cref="Reader.Overruns"/>) and jumps to the tail; a record it
/// copied is checked against <c>reserved</c> afterwards, so a writer that lapped it during the copy
/// is detected the same way. Order: total (one writer at a time), so the events of one origin
/// stay in order for every reader.
/// </summary>
public sealed unsafe partial class EventRing : IDisposable
{
    private const long Magic = 0x474E_4952_5253_4B41; // "AKSRRING"
    private const int HeaderBytes = 4096;
    private const int OffCapacity = 8, OffTail = 16, OffReserved = 24, OffLock = 32, OffSequence = 36, OffSleepers = 40;
    private const int RecordHeader = 8;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly byte* _data;
    private readonly long _mask;
    private readonly int _self;

    private EventRing(MappedFile file, int self)
    {
        _file = file;
        _self = self;
        _base = file.Base;
        _data = _base + HeaderBytes;
        _mask = Capacity - 1;
    }

    public string Path => _file.Path;

    /// <summary>Bytes of records the ring holds (a power of two).</summary>
    public long Capacity => *(long*)(_base + OffCapacity);

    /// <summary>Largest payload one record takes: an eighth of the capacity.</summary>
    public int MaxPayloadBytes => (int)Math.Min(int.MaxValue, Capacity / 8);

    private ref long Tail => ref *(long*)(_base + OffTail);
    private ref long Reserved => ref *(long*)(_base + OffReserved);
    private ref int LockWord => ref *(int*)(_base + OffLock);
    private int* SequenceWord => (int*)(_base + OffSequence);
    private ref int Sleepers => ref *(int*)(_base + OffSleepers);

    /// <summary>Creates the ring file (supervisor); <paramref name="capacity"/> is rounded up to a power of two, at least 64 KiB.</summary>
    public static EventRing Create(string path, long capacity)
    {
        capacity = (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Max(64 * 1024, capacity));
        var file = MappedFile.Create(path, HeaderBytes + capacity);
        *(long*)(file.Base + OffCapacity) = capacity;
        Volatile.Write(ref *(long*)file.Base, Magic);
        return new EventRing(file, Environment.ProcessId);
    }

    /// <summary>Maps an existing ring (a worker); throws <see cref="InvalidDataException"/> when the file is not one.</summary>
    public static EventRing Open(string path) => Open(path, Environment.ProcessId);

    /// <summary>Test seam: maps the ring as if this were process <paramref name="self"/> (its records, its lock word).</summary>
    internal static EventRing Open(string path, int self)
    {
        var file = MappedFile.Open(path);
        if (*(long*)file.Base != Magic)
        {
            file.Dispose();
            throw new InvalidDataException($"{path} is not an askr event ring");
        }
        return new EventRing(file, self);
    }

    /// <summary>
    /// Appends <paramref name="payload"/> as a record of this process and wakes the sleeping
    /// readers. Throws <see cref="ArgumentException"/> for a payload over <see cref="MaxPayloadBytes"/>.
    /// </summary>
    public void Append(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayloadBytes)
            throw new ArgumentException($"an event of {payload.Length} bytes is larger than the ring's {MaxPayloadBytes}-byte limit (an eighth of --pusher-ring-size)");
        var total = RecordHeader + ((payload.Length + 7) & ~7);
        Lock();
        try
        {
            var t = Tail;
            var offset = t & _mask;
            if (offset + total > Capacity)
            {
                *(int*)(_data + offset) = -1; // wrap: records are 8-aligned, so 4 bytes always fit
                t += Capacity - offset;
                offset = 0;
            }
            Volatile.Write(ref Reserved, t + total);
            var record = _data + offset;
            *(int*)(record + 4) = _self;
            payload.CopyTo(new Span<byte>(record + RecordHeader, payload.Length));
            *(int*)record = payload.Length;
            Volatile.Write(ref Tail, t + total);
        }
        finally
        {
            Volatile.Write(ref LockWord, 0);
        }
        Interlocked.Increment(ref *SequenceWord);
        if (Volatile.Read(ref Sleepers) != 0) Futex.WakeAll(SequenceWord);
    }

    private void Lock()
    {
        var spin = new SpinWait();
        var spins = 0;
        while (true)
        {
            var owner = Interlocked.CompareExchange(ref LockWord, _self, 0);
            if (owner == 0) return;
            // The owner died holding the lock (kill -9 inside the few instructions of an append): take it over.
            if (++spins % 4096 == 0 && owner != _self && !ProcessLiveness.IsAlive(owner))
                Interlocked.CompareExchange(ref LockWord, 0, owner);
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>A reader positioned at the ring's current end (it sees what is appended from now on).</summary>
    public Reader NewReader() => new(this, Volatile.Read(ref Tail));

    /// <summary>One process's position in the ring. Not thread-safe: one thread reads.</summary>
    public sealed class Reader
    {
        private readonly EventRing _ring;
        private long _position;

        internal Reader(EventRing ring, long position)
        {
            _ring = ring;
            _position = position;
        }

        /// <summary>Times this reader fell more than a capacity behind and lost what it skipped.</summary>
        public long Overruns { get; private set; }

        /// <summary>
        /// The next record of another process: its payload (a copy) and origin pid; false when
        /// there is none now. Records of this process are skipped.
        /// </summary>
        public bool TryRead(out byte[] payload, out int origin)
        {
            var ring = _ring;
            while (true)
            {
                payload = [];
                origin = 0;
                var tail = Volatile.Read(ref ring.Tail);
                if (_position >= tail) return false;
                if (tail - _position > ring.Capacity)
                {
                    Overrun(tail);
                    continue;
                }
                var offset = _position & ring._mask;
                var record = ring._data + offset;
                var length = *(int*)record;
                if (length == -1)
                {
                    _position += ring.Capacity - offset;
                    continue;
                }
                if (length < 0 || RecordHeader + (long)length > ring.Capacity - offset)
                {
                    // Only a lapped record reads like this: the check below says so, or the ring is damaged.
                    Overrun(Volatile.Read(ref ring.Tail));
                    continue;
                }
                origin = *(int*)(record + 4);
                var copy = origin == ring._self ? [] : new ReadOnlySpan<byte>(record + RecordHeader, length).ToArray();
                if (Volatile.Read(ref ring.Reserved) - _position > ring.Capacity)
                {
                    Overrun(Volatile.Read(ref ring.Tail)); // a writer lapped this record while it was copied
                    continue;
                }
                _position += RecordHeader + ((length + 7) & ~7);
                if (origin == ring._self) continue;
                payload = copy;
                return true;
            }
        }

        private void Overrun(long tail)
        {
            Overruns++;
            _position = tail;
        }

        /// <summary>Sleeps until something is appended after this reader's position, or <paramref name="timeoutMilliseconds"/> pass.</summary>
        public void Wait(int timeoutMilliseconds)
        {
            var ring = _ring;
            var seen = Volatile.Read(ref *ring.SequenceWord);
            Interlocked.Increment(ref ring.Sleepers);
            try
            {
                if (Volatile.Read(ref ring.Tail) <= _position) Futex.Wait(ring.SequenceWord, seen, timeoutMilliseconds);
            }
            finally
            {
                Interlocked.Decrement(ref ring.Sleepers);
            }
        }
    }


    public void Dispose() => _file.Dispose();
}
