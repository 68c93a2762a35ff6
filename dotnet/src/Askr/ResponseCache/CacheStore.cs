using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Askr.SharedMemory;

namespace Askr.ResponseCache;

/// <summary>What a key's record in the <see cref="CacheStore"/> is.</summary>
public enum CacheEntryKind
{
    Free = 0,
    /// <summary>A stored response (blob: key, tag references, status, headers, body).</summary>
    Response = 1,
    /// <summary>The primary key of a response that has Vary: the blob lists the request header names that complete the key.</summary>
    Vary = 2,
    /// <summary>Varnish's hit-for-miss: the last answer was not cacheable; requests go to PHP without queueing behind a leader.</summary>
    HitForMiss = 3,
    /// <summary>A miss is being answered by a leader (<see cref="CacheEntry.LeaderPid"/>); others wait for what it stores.</summary>
    InFlight = 4,
}

/// <summary>A record's metadata as read from the store, with its blob copied out (pooled: <see cref="Return"/>).</summary>
public sealed class CacheEntry
{
    public CacheEntryKind Kind { get; init; }
    public long StoredAtMs { get; init; }
    public long FreshUntilMs { get; init; }
    public long SwrUntilMs { get; init; }
    public long SieUntilMs { get; init; }
    public long FlushGeneration { get; init; }
    public int LeaderPid { get; init; }
    public long LeaderDeadlineMs { get; init; }
    public byte[]? Blob { get; set; }
    public int BlobLength { get; init; }
    /// <summary>Where the blob's payload (after the key and tag references) begins.</summary>
    public int PayloadOffset { get; set; }

    public void Return()
    {
        if (Blob is not null) ArrayPool<byte>.Shared.Return(Blob);
        Blob = null;
    }
}

/// <summary>
/// The node's response cache, a file in /dev/shm created by the supervisor (<see cref="Create"/>)
/// and mapped by every HTTP worker (<see cref="Open"/>), so an entry survives the crash or reload
/// of the worker that stored it. Bounded: the file is the --response-cache size.
///
/// Layout (little-endian): a 4 KiB header (magic, geometry, the lock word, free lists, the CLOCK
/// hand, the flush generation, the settle word and its sleeper counts at 56/60/64, counters), the tag generation table (<see cref="TagSlots"/> int64
/// counters), the hash buckets (int32 head record + 1), the records (128 bytes each), the block
/// chain (int32 next block + 1 per block) and the data blocks (<see cref="BlockSize"/> bytes).
/// A record's blob (key, tag references, status, headers, body) spans a chain of blocks.
///
/// Eviction is CLOCK (second chance): a hit sets the record's reference bit, the hand clears it
/// and evicts the first record found without it (and at once any record that is expired,
/// flushed or a stale marker). Chosen over LRU because a hit then writes one word instead of
/// relinking a shared list under the lock, and the records are fixed slots in shared memory,
/// which is what CLOCK sweeps; it approximates LRU.
///
/// Concurrency: one lock word in the header (the holder's pid; CAS). A waiter spins briefly, then
/// sleeps in FUTEX_WAIT on the word (counted at header offset 64, woken by the unlock); if the holder's process is gone (a worker killed while it held the lock), the waiter
/// takes the lock over and resets the records, since the holder may have left them half-written
/// (the tag generations and the counters stay). Tag generations and the flush generation are
/// plain atomic counters, changed without the lock: invalidation is O(1) whatever the number of
/// entries.
/// </summary>
public sealed unsafe class CacheStore : IDisposable
{
    private const int Magic = 0x48434352; // "RCCH"
    private const int HeaderBytes = 4096;
    private const int RecordBytes = 128;
    /// <summary>Size of one data block, bytes: an entry takes ceil(blob / BlockSize) blocks.</summary>
    public const int BlockSize = 2048;
    /// <summary>Slots of the tag generation table (a tag's slot is a hash of its name; two tags in one slot invalidate each other, never neither).</summary>
    public const int TagSlots = 65536;
    /// <summary>Smallest --response-cache.</summary>
    public const long MinBytes = 2 * 1024 * 1024;
    /// <summary>Per block of data: the block, its chain word, one record and one bucket.</summary>
    public const int BytesPerBlock = BlockSize + 4 + RecordBytes + 4;

    // Header offsets.
    private const int OffBlocks = 8, OffRecords = 12, OffBuckets = 16, OffLock = 20, OffFreeBlock = 24, OffFreeRecord = 28,
        OffHand = 32, OffFreeBlocks = 36, OffFlush = 40, OffSeq = 48, OffCounters = 128, OffMaxEntry = 120;
    // The settle word (int32 futex word; see Settled), the number of processes' watchers asleep on it,
    // and the number of lock waiters asleep on the lock word (56..67 were free header space).
    private const int OffSettled = 56, OffSettleSleepers = 60, OffLockSleepers = 64;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly long* _tags;
    private readonly int* _buckets;
    private readonly byte* _records;
    private readonly int* _chain;
    private readonly byte* _blocks;
    private readonly int _pid = Environment.ProcessId;

    private CacheStore(MappedFile file)
    {
        _file = file;
        _base = file.Base;
        _tags = (long*)(_base + HeaderBytes);
        _buckets = (int*)((byte*)_tags + (long)TagSlots * 8);
        _records = (byte*)(_buckets + Records);
        _chain = (int*)(_records + (long)Records * RecordBytes);
        _blocks = (byte*)(_chain + Blocks);
    }

    public string Path => _file.Path;
    public int Blocks => *(int*)(_base + OffBlocks);
    public int Records => *(int*)(_base + OffRecords);
    /// <summary>Largest blob (key + headers + body) one entry may have, bytes.</summary>
    public long MaxEntryBytes => *(long*)(_base + OffMaxEntry);
    /// <summary>Total size of the file, bytes.</summary>
    public long FileBytes => FixedBytes + (long)Blocks * BytesPerBlock;
    private const long FixedBytes = HeaderBytes + (long)TagSlots * 8;

    /// <summary>Number of data blocks a cache of <paramref name="bytes"/> holds (the memory formula of docs/response-cache.md).</summary>
    public static int BlocksFor(long bytes) => (int)Math.Min(int.MaxValue / 2, (bytes - FixedBytes) / BytesPerBlock);

    /// <summary>Creates the file (supervisor): <paramref name="bytes"/> in all, at least <see cref="MinBytes"/>.</summary>
    public static CacheStore Create(string path, long bytes, long maxEntryBytes)
    {
        if (bytes < MinBytes) throw new ArgumentOutOfRangeException(nameof(bytes), $"the response cache needs at least {MinBytes / 1024 / 1024} MiB");
        var blocks = BlocksFor(bytes);
        var file = MappedFile.Create(path, FixedBytes + (long)blocks * BytesPerBlock);
        *(int*)(file.Base + OffBlocks) = blocks;
        *(int*)(file.Base + OffRecords) = blocks;
        *(int*)(file.Base + OffBuckets) = blocks;
        *(long*)(file.Base + OffMaxEntry) = Math.Min(maxEntryBytes, (long)blocks * BlockSize);
        var store = new CacheStore(file);
        store.Reset();
        Volatile.Write(ref *(int*)file.Base, Magic);
        return store;
    }

    /// <summary>Maps an existing cache (workers). Throws <see cref="InvalidDataException"/> if it is not one.</summary>
    public static CacheStore Open(string path)
    {
        var file = MappedFile.Open(path);
        if (Volatile.Read(ref *(int*)file.Base) != Magic)
        {
            file.Dispose();
            throw new InvalidDataException($"{path} is not an askr response cache");
        }
        return new CacheStore(file);
    }

    // ---- counters (docs/response-cache.md, /status) ----

    public enum Counter { Hits, Misses, Stale, Coalesced, Evictions, Stores, Bypasses, BytesUsed, Entries, Purges }

    private ref long CounterRef(Counter c) => ref *(long*)(_base + OffCounters + (int)c * 8);
    public long Read(Counter c) => Volatile.Read(ref CounterRef(c));
    public void Add(Counter c, long delta = 1) => Interlocked.Add(ref CounterRef(c), delta);

    // ---- generations: O(1) invalidation ----

    /// <summary>The tag generation table's slot of a tag (FNV-1a of its UTF-8 bytes).</summary>
    public static int TagSlot(string tag) => (int)(Hash(tag) & (TagSlots - 1));

    public long TagGeneration(int slot) => Volatile.Read(ref _tags[slot]);

    /// <summary>
    /// The node's invalidation sequence: every tag bump takes the next value and writes it into
    /// the tag's slot. A response whose tag slot is above the sequence read when its request
    /// began was purged while PHP was making it, and is not stored.
    /// </summary>
    public long Sequence => Volatile.Read(ref *(long*)(_base + OffSeq));

    /// <summary>Moves a tag's generation: every entry stored with the tag is invalid from now on, in every process. Returns the new generation.</summary>
    public long BumpTag(string tag)
    {
        var seq = Interlocked.Increment(ref *(long*)(_base + OffSeq));
        RaiseTag(TagSlot(tag), seq);
        return seq;
    }

    /// <summary>Moves one tag slot's generation (a purge replicated from another node).</summary>
    public void BumpSlot(int slot) => RaiseTag(slot, Interlocked.Increment(ref *(long*)(_base + OffSeq)));

    /// <summary>Moves the tag slot to at least <paramref name="generation"/> (also replication from another node), and the sequence with it.</summary>
    public void RaiseTag(int slot, long generation)
    {
        RaiseTo(ref *(long*)(_base + OffSeq), generation);
        RaiseTo(ref _tags[slot], generation);
    }

    private static void RaiseTo(ref long g, long value)
    {
        while (true)
        {
            var current = Volatile.Read(ref g);
            if (current >= value || Interlocked.CompareExchange(ref g, value, current) == current) return;
        }
    }

    public long FlushGeneration => Volatile.Read(ref *(long*)(_base + OffFlush));

    /// <summary>Makes every entry invalid at once.</summary>
    public void Flush() => Interlocked.Increment(ref *(long*)(_base + OffFlush));

    /// <summary>Raises the flush generation to at least <paramref name="generation"/> (replication).</summary>
    public void RaiseFlush(long generation) => RaiseTo(ref *(long*)(_base + OffFlush), generation);

    // ---- hashing ----

    /// <summary>FNV-1a 64 of the UTF-8 bytes: the same in every process (unlike string.GetHashCode).</summary>
    public static ulong Hash(string s)
    {
        Span<byte> small = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        var rented = max > small.Length ? ArrayPool<byte>.Shared.Rent(max) : null;
        var bytes = rented ?? small;
        var n = Encoding.UTF8.GetBytes(s, bytes);
        var h = Hash(bytes[..n]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return h;
    }

    /// <summary>FNV-1a 64 of UTF-8 bytes (a key already encoded).</summary>
    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes) { h ^= b; h *= 1099511628211UL; }
        return h;
    }

    // ---- settling: waking the waiters of an in-flight marker ----

    /// <summary>
    /// The settle word (header offset 56, int32): moves every time an in-flight marker leaves the
    /// store (the leader stored its answer, marked the key hit-for-miss, abandoned it, or a marker
    /// was replaced). A waiter reads it before it looks its key up and sleeps only while it is
    /// unchanged (<see cref="SettleWatcher"/>), so a settle between its look and its sleep is not lost.
    /// </summary>
    public int Settled => Volatile.Read(ref *(int*)(_base + OffSettled));

    /// <summary>The settle word itself, for FUTEX_WAIT.</summary>
    internal int* SettledWord => (int*)(_base + OffSettled);

    /// <summary>Watchers (one per process at most) asleep on the settle word: a settle calls FUTEX_WAKE only when there is one.</summary>
    internal ref int SettleSleepers => ref *(int*)(_base + OffSettleSleepers);

    /// <summary>Moves the settle word (under the lock or not); <see cref="WakeSettleSleepers"/> after the lock is released.</summary>
    private void BumpSettled() => Interlocked.Increment(ref *(int*)(_base + OffSettled));

    /// <summary>FUTEX_WAKE on the settle word if a watcher sleeps on it (the bump's interlocked add orders the read after it).</summary>
    private void WakeSettleSleepers()
    {
        if (Volatile.Read(ref SettleSleepers) != 0) Futex.WakeAll(SettledWord);
    }

    /// <summary>Settles by hand: wakes every waiter of the node to look its key up again (tests, and a purge).</summary>
    public void Settle()
    {
        BumpSettled();
        WakeSettleSleepers();
    }

    // ---- the lock ----

    private ref int LockWord => ref *(int*)(_base + OffLock);
    private ref int LockSleepers => ref *(int*)(_base + OffLockSleepers);

    /// <summary>Spins before a contended waiter sleeps on the lock word: the sections are short (a record and a blob copy).</summary>
    private const int LockSpins = 30;

    /// <summary>The settle word when this process took the lock: Unlock wakes the watchers if a marker left meanwhile.</summary>
    private int _settledAtLock;

    private void Lock()
    {
        Acquire();
        _settledAtLock = Settled;
    }

    private void Acquire()
    {
        ref var word = ref LockWord;
        if (Interlocked.CompareExchange(ref word, _pid, 0) == 0) return;
        var spin = new SpinWait();
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (Volatile.Read(ref word) == 0 && Interlocked.CompareExchange(ref word, _pid, 0) == 0) return;
            if (spin.Count < LockSpins) spin.SpinOnce(sleep1Threshold: -1);
            else
            {
                // FUTEX_WAIT on the lock word until Unlock wakes us (no fixed sleep that adds a
                // millisecond under contention); the timeout bounds how late a dead holder is seen.
                var owner = Volatile.Read(ref word);
                if (owner != 0)
                {
                    Interlocked.Increment(ref LockSleepers);
                    Futex.Wait((int*)Unsafe.AsPointer(ref word), owner, 10);
                    Interlocked.Decrement(ref LockSleepers);
                }
            }
            if (Stopwatch.GetElapsedTime(started).TotalMilliseconds < 200) continue;
            var holder = Volatile.Read(ref word);
            if (holder != 0 && holder != _pid && !ProcessAlive(holder) && Interlocked.CompareExchange(ref word, _pid, holder) == holder)
            {
                // The holder died mid-change: its half-written records are dropped, and with them
                // any in-flight marker, so the waiters look again.
                Reset();
                Settle();
                return;
            }
            started = Stopwatch.GetTimestamp();
        }
    }

    private void Unlock()
    {
        var settled = Settled != _settledAtLock;
        // Exchange, not a plain write: the full fence orders the read of the sleepers after the release.
        Interlocked.Exchange(ref LockWord, 0);
        if (Volatile.Read(ref LockSleepers) != 0) Futex.WakeOne((int*)Unsafe.AsPointer(ref LockWord));
        if (settled) WakeSettleSleepers();
    }

    internal static bool ProcessAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");

    /// <summary>Empties the records, buckets and free lists (under the lock, or before anyone maps the file).</summary>
    private void Reset()
    {
        var blocks = Blocks;
        new Span<byte>(_buckets, blocks * 4).Clear();
        new Span<byte>(_records, blocks * RecordBytes).Clear();
        for (var i = 0; i < blocks; i++)
        {
            _chain[i] = i + 1 < blocks ? i + 2 : 0;
            *(int*)(_records + (long)i * RecordBytes + RNext) = i + 1 < blocks ? i + 2 : 0;
        }
        *(int*)(_base + OffFreeBlock) = blocks > 0 ? 1 : 0;
        *(int*)(_base + OffFreeRecord) = blocks > 0 ? 1 : 0;
        *(int*)(_base + OffFreeBlocks) = blocks;
        *(int*)(_base + OffHand) = 0;
        Volatile.Write(ref CounterRef(Counter.BytesUsed), 0);
        Volatile.Write(ref CounterRef(Counter.Entries), 0);
    }

    // ---- records ----
    // 0 int32 kind, 4 int32 next in bucket (or free list) + 1, 8 uint64 key hash, 16 int32 first block + 1,
    // 20 int32 blocks, 24 int32 blob length, 28 int32 reference bit, 32 int64 stored at (unix ms),
    // 40 fresh until, 48 swr until, 56 sie until, 64 flush generation, 72 int32 leader pid, 80 int64 leader deadline.
    private const int RKind = 0, RNext = 4, RHash = 8, RFirst = 16, RCount = 20, RLength = 24, RRef = 28, RStored = 32,
        RFresh = 40, RSwr = 48, RSie = 56, RFlush = 64, RLeader = 72, RDeadline = 80;

    private byte* Rec(int index) => _records + (long)index * RecordBytes;
    private static ref T F<T>(byte* rec, int offset) where T : unmanaged => ref *(T*)(rec + offset);

    private int Bucket(ulong hash) => (int)(hash % (ulong)Records);

    /// <summary>Finds the record of <paramref name="key"/> (under the lock): its index, or -1.</summary>
    private int Find(ReadOnlySpan<byte> key, ulong hash)
    {
        var i = _buckets[Bucket(hash)] - 1;
        while (i >= 0)
        {
            var rec = Rec(i);
            if (F<ulong>(rec, RHash) == hash && KeyEquals(rec, key)) return i;
            i = F<int>(rec, RNext) - 1;
        }
        return -1;
    }

    private bool KeyEquals(byte* rec, ReadOnlySpan<byte> key)
    {
        var first = F<int>(rec, RFirst) - 1;
        if (first < 0 || F<int>(rec, RLength) < 2 + key.Length) return false;
        // The key is at the start of the blob; compare block by block.
        var block = first;
        var length = BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(_blocks + (long)block * BlockSize, 2));
        if (length != key.Length) return false;
        var offset = 2;
        var done = 0;
        while (done < key.Length)
        {
            if (offset == BlockSize) { block = _chain[block] - 1; offset = 0; if (block < 0) return false; }
            var n = Math.Min(BlockSize - offset, key.Length - done);
            if (!new ReadOnlySpan<byte>(_blocks + (long)block * BlockSize + offset, n).SequenceEqual(key.Slice(done, n))) return false;
            done += n;
            offset += n;
        }
        return true;
    }

    /// <summary>Frees a record (under the lock). True if it was an in-flight marker: the settle word moved, and the caller wakes its sleepers after the lock.</summary>
    private bool Unlink(int index)
    {
        var rec = Rec(index);
        var b = Bucket(F<ulong>(rec, RHash));
        ref var link = ref _buckets[b];
        while (link != 0)
        {
            if (link - 1 == index) { link = F<int>(rec, RNext); break; }
            link = ref F<int>(Rec(link - 1), RNext);
        }
        // Free the blocks.
        var count = F<int>(rec, RCount);
        var first = F<int>(rec, RFirst) - 1;
        if (first >= 0)
        {
            var last = first;
            for (var k = 1; k < count; k++) last = _chain[last] - 1;
            _chain[last] = *(int*)(_base + OffFreeBlock);
            *(int*)(_base + OffFreeBlock) = first + 1;
            *(int*)(_base + OffFreeBlocks) += count;
        }
        if (F<int>(rec, RKind) == (int)CacheEntryKind.Response) Add(Counter.Entries, -1);
        Add(Counter.BytesUsed, -F<int>(rec, RLength));
        var inFlight = F<int>(rec, RKind) == (int)CacheEntryKind.InFlight;
        if (inFlight) BumpSettled();
        new Span<byte>(rec, RecordBytes).Clear();
        F<int>(rec, RNext) = *(int*)(_base + OffFreeRecord);
        *(int*)(_base + OffFreeRecord) = index + 1;
        return inFlight;
    }

    /// <summary>Whether a record may go without a second chance: expired past all its stale windows, flushed, or a marker whose time is up.</summary>
    private bool Dead(byte* rec, long now)
    {
        var kind = (CacheEntryKind)F<int>(rec, RKind);
        if (kind == CacheEntryKind.Free) return false;
        if (F<long>(rec, RFlush) != FlushGeneration) return true;
        var until = Math.Max(F<long>(rec, RFresh), Math.Max(F<long>(rec, RSwr), F<long>(rec, RSie)));
        if (kind == CacheEntryKind.InFlight) until = F<long>(rec, RDeadline);
        return until < now;
    }

    /// <summary>CLOCK: evicts one record (under the lock). False if there was nothing to evict.</summary>
    private bool EvictOne(long now)
    {
        var records = Records;
        ref var hand = ref *(int*)(_base + OffHand);
        for (var step = 0; step < 2 * records + 1; step++)
        {
            var i = hand;
            hand = (hand + 1) % records;
            var rec = Rec(i);
            var kind = (CacheEntryKind)F<int>(rec, RKind);
            if (kind == CacheEntryKind.Free) continue;
            if (kind == CacheEntryKind.InFlight && !Dead(rec, now)) continue;
            if (!Dead(rec, now) && F<int>(rec, RRef) != 0) { F<int>(rec, RRef) = 0; continue; }
            Unlink(i);
            Add(Counter.Evictions);
            return true;
        }
        return false;
    }

    /// <summary>
    /// Looks <paramref name="key"/> up and copies its record out; null if absent or flushed (a
    /// flushed one is dropped). A hit sets the reference bit (CLOCK).
    /// </summary>
    public CacheEntry? Get(string key)
    {
        // The key's bytes on the stack (a pooled buffer for a long key): a hit allocates only the entry.
        Span<byte> small = stackalloc byte[512];
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        var rented = max > small.Length ? ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            var n = Encoding.UTF8.GetBytes(key, rented ?? small);
            return Get((rented ?? small)[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>As <see cref="Get(string)"/>, for a key given as its UTF-8 bytes.</summary>
    public CacheEntry? Get(ReadOnlySpan<byte> keyBytes)
    {
        var hash = Hash(keyBytes);
        Lock();
        try
        {
            var i = Find(keyBytes, hash);
            if (i < 0) return null;
            var rec = Rec(i);
            if (F<long>(rec, RFlush) != FlushGeneration)
            {
                Unlink(i);
                return null;
            }
            F<int>(rec, RRef) = 1;
            var length = F<int>(rec, RLength);
            var blob = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
            var block = F<int>(rec, RFirst) - 1;
            var done = 0;
            while (done < length && block >= 0)
            {
                var n = Math.Min(BlockSize, length - done);
                new ReadOnlySpan<byte>(_blocks + (long)block * BlockSize, n).CopyTo(blob.AsSpan(done));
                done += n;
                block = _chain[block] - 1;
            }
            return new CacheEntry
            {
                Kind = (CacheEntryKind)F<int>(rec, RKind),
                StoredAtMs = F<long>(rec, RStored),
                FreshUntilMs = F<long>(rec, RFresh),
                SwrUntilMs = F<long>(rec, RSwr),
                SieUntilMs = F<long>(rec, RSie),
                FlushGeneration = F<long>(rec, RFlush),
                LeaderPid = F<int>(rec, RLeader),
                LeaderDeadlineMs = F<long>(rec, RDeadline),
                Blob = blob,
                BlobLength = length,
                PayloadOffset = 2 + keyBytes.Length,
            };
        }
        finally
        {
            Unlock();
        }
    }

    /// <summary>
    /// Stores a record for <paramref name="key"/>, replacing whatever was there; <paramref name="payload"/>
    /// is the blob after the key. Evicts (CLOCK) until it fits. False if it is larger than
    /// <see cref="MaxEntryBytes"/> or cannot fit; a full cache evicts, it never fails a request.
    /// </summary>
    public bool Put(string key, CacheEntryKind kind, ReadOnlySpan<byte> payload, long storedAtMs, long freshUntilMs, long swrUntilMs, long sieUntilMs,
        int leaderPid = 0, long leaderDeadlineMs = 0, long? flushGeneration = null) =>
        PutCore(key, kind, payload, storedAtMs, freshUntilMs, swrUntilMs, sieUntilMs, leaderPid, leaderDeadlineMs, flushGeneration, onlyIf: null);

    /// <summary>
    /// Makes this process the leader for <paramref name="key"/>: inserts an in-flight marker if
    /// the key has no record, or replaces a marker whose leader is gone or past its deadline, or
    /// any other record when <paramref name="replace"/> (the caller found it not servable). True if this process leads.
    /// </summary>
    public bool TryLead(string key, long nowMs, long deadlineMs, bool replace) =>
        PutCore(key, CacheEntryKind.InFlight, [], nowMs, 0, 0, 0, _pid, deadlineMs, null, onlyIf: (kind, rec) =>
            kind == CacheEntryKind.Free
            || (kind == CacheEntryKind.InFlight && (F<long>(rec, RDeadline) < nowMs || !ProcessAlive(F<int>(rec, RLeader))))
            || (kind != CacheEntryKind.InFlight && (replace || F<long>(rec, RFlush) != FlushGeneration)));

    /// <summary>Removes the record of <paramref name="key"/> if it is this process's in-flight marker (a leader that gives up).</summary>
    public void Abandon(string key)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        Lock();
        try
        {
            var i = Find(keyBytes, Hash(key));
            if (i >= 0 && F<int>(Rec(i), RKind) == (int)CacheEntryKind.InFlight && F<int>(Rec(i), RLeader) == _pid) Unlink(i);
        }
        finally
        {
            Unlock();
        }
    }

    /// <summary>Removes the record of <paramref name="key"/>; true if there was one.</summary>
    public bool Remove(string key)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        Lock();
        try
        {
            var i = Find(keyBytes, Hash(key));
            if (i < 0) return false;
            Unlink(i);
            return true;
        }
        finally
        {
            Unlock();
        }
    }

    private delegate bool Condition(CacheEntryKind existing, byte* rec);

    private bool PutCore(string key, CacheEntryKind kind, ReadOnlySpan<byte> payload, long storedAtMs, long freshUntilMs, long swrUntilMs, long sieUntilMs,
        int leaderPid, long leaderDeadlineMs, long? flushGeneration, Condition? onlyIf)
    {
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length > ushort.MaxValue) return false;
        var length = 2L + keyBytes.Length + payload.Length;
        if (length > MaxEntryBytes) return false;
        var need = (int)((length + BlockSize - 1) / BlockSize);
        var hash = Hash(key);
        Lock();
        try
        {
            var existing = Find(keyBytes, hash);
            if (onlyIf is not null)
            {
                var ok = existing < 0 ? onlyIf(CacheEntryKind.Free, null) : onlyIf((CacheEntryKind)F<int>(Rec(existing), RKind), Rec(existing));
                if (!ok) return false;
            }
            if (existing >= 0) Unlink(existing);
            var now = storedAtMs;
            while (*(int*)(_base + OffFreeBlocks) < need || *(int*)(_base + OffFreeRecord) == 0)
            {
                if (!EvictOne(now)) return false;
            }
            var index = *(int*)(_base + OffFreeRecord) - 1;
            var rec = Rec(index);
            *(int*)(_base + OffFreeRecord) = F<int>(rec, RNext);
            // Take `need` blocks off the free list, writing the blob as we go.
            var first = *(int*)(_base + OffFreeBlock) - 1;
            var block = first;
            var written = 0L;
            var last = -1;
            var lengthPrefix = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(lengthPrefix, (ushort)keyBytes.Length);
            for (var k = 0; k < need; k++)
            {
                var dest = new Span<byte>(_blocks + (long)block * BlockSize, BlockSize);
                var filled = 0;
                while (filled < BlockSize && written < length)
                {
                    ReadOnlySpan<byte> source;
                    long sourceStart;
                    if (written < 2) { source = lengthPrefix; sourceStart = 0; }
                    else if (written < 2 + keyBytes.Length) { source = keyBytes; sourceStart = 2; }
                    else { source = payload; sourceStart = 2 + keyBytes.Length; }
                    var from = (int)(written - sourceStart);
                    var n = Math.Min(BlockSize - filled, source.Length - from);
                    source.Slice(from, n).CopyTo(dest[filled..]);
                    filled += n;
                    written += n;
                }
                last = block;
                block = _chain[block] - 1;
            }
            *(int*)(_base + OffFreeBlock) = block + 1;
            _chain[last] = 0;
            *(int*)(_base + OffFreeBlocks) -= need;

            new Span<byte>(rec, RecordBytes).Clear();
            F<int>(rec, RKind) = (int)kind;
            F<ulong>(rec, RHash) = hash;
            F<int>(rec, RFirst) = first + 1;
            F<int>(rec, RCount) = need;
            F<int>(rec, RLength) = (int)length;
            F<long>(rec, RStored) = storedAtMs;
            F<long>(rec, RFresh) = freshUntilMs;
            F<long>(rec, RSwr) = swrUntilMs;
            F<long>(rec, RSie) = sieUntilMs;
            F<long>(rec, RFlush) = flushGeneration ?? FlushGeneration;
            F<int>(rec, RLeader) = leaderPid;
            F<long>(rec, RDeadline) = leaderDeadlineMs;
            ref var head = ref _buckets[Bucket(hash)];
            F<int>(rec, RNext) = head;
            head = index + 1;
            if (kind == CacheEntryKind.Response) Add(Counter.Entries);
            Add(Counter.BytesUsed, length);
            return true;
        }
        finally
        {
            Unlock();
        }
    }

    public void Dispose() => _file.Dispose();
}
