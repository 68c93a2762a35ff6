namespace Askr.Tables;

/// <summary>
/// Replication of a table across nodes (docs/cluster.md): exporting rows as <see cref="RowState"/>
/// and merging rows received from other nodes, under the same bucket locks as local writes, so
/// every worker of the node sees a merged row at once.
///
/// Merge rules, per column: the set with the larger hybrid clock wins (last writer wins); the
/// increments since that set merge as per-node counters (each node's share, the newest of each
/// node wins), so concurrent increments on different nodes all count. Per row: the larger row
/// clock decides whether the row is deleted (a tombstone) or live.
/// </summary>
public sealed unsafe partial class SharedTable
{
    /// <summary>The row of <paramref name="key"/> as it replicates, tombstones included; null if absent.</summary>
    public RowState? Export(ReadOnlySpan<byte> key, ShareBook book, ulong self)
    {
        if (!KeyOk(key)) return null;
        var lockWord = LockBucket(key, out var head);
        try
        {
            var row = Find(*head, key);
            return row == null ? null : ExportRow(row, book, self);
        }
        finally
        {
            Unlock(lockWord);
        }
    }

    /// <summary>
    /// Exports rows bucket by bucket from <paramref name="cursor"/> (0 to start), tombstones
    /// included, keeping those whose key hash falls in <paramref name="accept"/> (null: all).
    /// Returns the next cursor, 0 at the end.
    /// </summary>
    public int ExportScan(int cursor, int count, ShareBook book, ulong self, List<RowState> into, Func<ulong, bool>? accept = null)
    {
        var bucket = cursor;
        var exported = 0;
        while (bucket <= _bucketMask && exported < count)
        {
            var lockWord = _buckets + bucket * 2;
            Lock(lockWord);
            try
            {
                for (var index = lockWord[1]; index != 0;)
                {
                    var row = Row(index);
                    var key = new ReadOnlySpan<byte>(row + RowOffKey, *(int*)(row + RowOffKeyLength));
                    if (accept is null || accept(Hash(key)))
                    {
                        into.Add(ExportRow(row, book, self));
                        exported++;
                    }
                    index = *(int*)(row + RowOffNext);
                }
            }
            finally
            {
                Unlock(lockWord);
            }
            bucket++;
        }
        return bucket > _bucketMask ? 0 : bucket;
    }

    private RowState ExportRow(byte* row, ShareBook book, ulong self)
    {
        var key = new ReadOnlySpan<byte>(row + RowOffKey, *(int*)(row + RowOffKeyLength)).ToArray();
        var columns = new ColumnState[_offsets.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            var meta = Meta(row, i);
            var epoch = meta[0];
            var value = row + RowHeaderBytes + _offsets[i];
            if (_stringSizes[i] > 0)
            {
                var length = Math.Clamp(*(int*)value, 0, _stringSizes[i]);
                columns[i] = new ColumnState { Index = i, SetClock = epoch, Bytes = new ReadOnlySpan<byte>(value + 4, length).ToArray() };
                continue;
            }
            var remote = book.Sum(Id, key, i, epoch);
            var shares = book.Shares(Id, key, i, epoch).ToList();
            var isFloat = Schema.Columns[i].Type == ColumnType.Float;
            if (meta[2] != 0)
                shares.Add(isFloat
                    ? new CounterShare(self, epoch, meta[2], 0, *(double*)(meta + 1))
                    : new CounterShare(self, epoch, meta[2], meta[1], 0));
            columns[i] = isFloat
                ? new ColumnState { Index = i, SetClock = epoch, IsFloat = true, FloatBase = *(double*)value - *(double*)(meta + 1) - remote.Float, Shares = shares }
                : new ColumnState { Index = i, SetClock = epoch, IntBase = unchecked(*(long*)value - meta[1] - remote.Int), Shares = shares };
        }
        return new RowState
        {
            Key = key,
            Clock = *(long*)(row + RowOffClock),
            Origin = *(ulong*)(row + RowOffOrigin),
            Deleted = IsTombstone(row),
            Columns = columns,
        };
    }

    /// <summary>Outcome of a merge.</summary>
    public enum MergeOutcome { Unchanged, Changed, Full }

    /// <summary>
    /// Merges a row received from another node into this node's table (see the class comment for
    /// the rules). Does not append to the change ring: the node that wrote it replicates it.
    /// </summary>
    public MergeOutcome Merge(RowState remote, ShareBook book, ulong self)
    {
        if (!KeyOk(remote.Key)) return MergeOutcome.Unchanged;
        _store.Clock.Observe(remote.Clock);
        var lockWord = LockBucket(remote.Key, out var head);
        try
        {
            var changed = false;
            var row = Find(*head, remote.Key);
            if (row == null)
            {
                row = Insert(head, remote.Key);
                if (row == null) return MergeOutcome.Full;
                // A new row starts as a tombstone older than anything, so the row clock below decides.
                *(int*)(row + RowOffFlags) = FlagUsed | FlagTombstone;
                Interlocked.Decrement(ref *(int*)(_header + OffCount));
                changed = true;
            }
            foreach (var column in remote.Columns)
            {
                if ((uint)column.Index >= (uint)_offsets.Length) continue;
                changed |= _stringSizes[column.Index] > 0
                    ? MergeString(row, column)
                    : MergeCounter(row, column, remote.Key, book, self);
            }
            var clock = *(long*)(row + RowOffClock);
            if (remote.Clock > clock || (remote.Clock == clock && remote.Origin > *(ulong*)(row + RowOffOrigin)))
            {
                *(long*)(row + RowOffClock) = remote.Clock;
                *(ulong*)(row + RowOffOrigin) = remote.Origin;
                var tombstone = IsTombstone(row);
                if (remote.Deleted && !tombstone)
                {
                    *(int*)(row + RowOffFlags) = FlagUsed | FlagTombstone;
                    Interlocked.Decrement(ref *(int*)(_header + OffCount));
                    changed = true;
                }
                else if (!remote.Deleted && tombstone)
                {
                    *(int*)(row + RowOffFlags) = FlagUsed;
                    Interlocked.Increment(ref *(int*)(_header + OffCount));
                    changed = true;
                }
            }
            return changed ? MergeOutcome.Changed : MergeOutcome.Unchanged;
        }
        finally
        {
            Unlock(lockWord);
        }
    }

    private bool MergeString(byte* row, ColumnState column)
    {
        var i = column.Index;
        var meta = Meta(row, i);
        var value = row + RowHeaderBytes + _offsets[i];
        var incoming = column.Bytes ?? [];
        if (incoming.Length > _stringSizes[i]) return false;
        var local = new ReadOnlySpan<byte>(value + 4, Math.Clamp(*(int*)value, 0, _stringSizes[i]));
        var wins = column.SetClock > meta[0]
                   || (column.SetClock == meta[0] && incoming.AsSpan().SequenceCompareTo(local) > 0);
        if (!wins) return false;
        *(int*)value = incoming.Length;
        incoming.CopyTo(new Span<byte>(value + 4, _stringSizes[i]));
        meta[0] = column.SetClock;
        return true;
    }

    private bool MergeCounter(byte* row, ColumnState column, byte[] key, ShareBook book, ulong self)
    {
        var i = column.Index;
        var meta = Meta(row, i);
        var epoch = meta[0];
        var value = row + RowHeaderBytes + _offsets[i];
        var isFloat = Schema.Columns[i].Type == ColumnType.Float;
        var remoteSum = book.Sum(Id, key, i, epoch);
        long intBase = unchecked(*(long*)value - meta[1] - remoteSum.Int);
        double floatBase = *(double*)value - *(double*)(meta + 1) - remoteSum.Float;

        var newerSet = column.SetClock > epoch
                       || (column.SetClock == epoch && epoch != 0 && (isFloat ? column.FloatBase > floatBase : column.IntBase > intBase));
        if (newerSet)
        {
            // The remote set supersedes ours and every increment made before it.
            var others = column.Shares.Where(s => s.Node != self && s.Epoch == column.SetClock).ToList();
            book.Replace(Id, key, i, others);
            var own = column.Shares.FirstOrDefault(s => s.Node == self && s.Epoch == column.SetClock);
            meta[0] = column.SetClock;
            meta[2] = own.Clock;
            if (isFloat)
            {
                *(double*)(meta + 1) = own.FloatDelta;
                *(double*)value = column.FloatBase + others.Sum(s => s.FloatDelta) + own.FloatDelta;
            }
            else
            {
                meta[1] = own.IntDelta;
                *(long*)value = unchecked(column.IntBase + others.Aggregate(0L, (a, s) => unchecked(a + s.IntDelta)) + own.IntDelta);
            }
            return true;
        }
        if (column.SetClock != epoch) return false;
        var changed = false;
        foreach (var share in column.Shares)
            if (share.Node != self && share.Epoch == epoch) changed |= book.Offer(Id, key, i, share);
        if (!changed) return false;
        var sum = book.Sum(Id, key, i, epoch);
        if (isFloat) *(double*)value = floatBase + *(double*)(meta + 1) + sum.Float;
        else *(long*)value = unchecked(intBase + meta[1] + sum.Int);
        return true;
    }

    /// <summary>
    /// A hash of a row's replicated content (key, values, set clocks), equal on two nodes that
    /// agree on the row. Anti-entropy XORs it over the rows of a range; tombstones do not count.
    /// </summary>
    public static ulong ContentHash(RowState row)
    {
        var h = Hash(row.Key);
        foreach (var c in row.Columns)
        {
            ulong v;
            if (c.Bytes is { } bytes)
            {
                v = Hash(bytes);
            }
            else
            {
                // Which set and which increments the value is made of (exact for floats too, whose
                // sums may round differently on two nodes), plus the exact integer value.
                long sum = c.IntBase;
                ulong versions = 0;
                foreach (var s in c.Shares)
                {
                    sum = unchecked(sum + s.IntDelta);
                    versions ^= (s.Node * 0x9E3779B97F4A7C15UL) ^ (ulong)s.Clock;
                }
                v = (ulong)sum ^ versions;
            }
            h = (h ^ v ^ (ulong)c.SetClock) * 1099511628211UL;
        }
        return h;
    }

    /// <summary>The key hash a range of the key space is cut by (the same on every node).</summary>
    public static ulong KeyHash(ReadOnlySpan<byte> key) => Hash(key);

    /// <summary>Frees tombstones whose delete clock is older than <paramref name="clock"/>. Returns their keys.</summary>
    public List<byte[]> CollectTombstones(long clock)
    {
        var collected = new List<byte[]>();
        for (var bucket = 0; bucket <= _bucketMask; bucket++)
        {
            var lockWord = _buckets + bucket * 2;
            Lock(lockWord);
            var freed = new List<nint>();
            try
            {
                var link = lockWord + 1;
                while (*link != 0)
                {
                    var row = Row(*link);
                    if (IsTombstone(row) && *(long*)(row + RowOffClock) < clock)
                    {
                        collected.Add(new ReadOnlySpan<byte>(row + RowOffKey, *(int*)(row + RowOffKeyLength)).ToArray());
                        *link = *(int*)(row + RowOffNext);
                        *(int*)(row + RowOffFlags) = 0;
                        freed.Add((nint)row);
                        continue;
                    }
                    link = (int*)(row + RowOffNext);
                }
            }
            finally
            {
                Unlock(lockWord);
            }
            foreach (var row in freed) Free((byte*)row);
        }
        return collected;
    }

    /// <summary>Tombstones held (rows deleted but kept so the delete replicates).</summary>
    public int TombstoneCount()
    {
        var n = 0;
        for (var bucket = 0; bucket <= _bucketMask; bucket++)
        {
            var lockWord = _buckets + bucket * 2;
            Lock(lockWord);
            try
            {
                for (var index = lockWord[1]; index != 0; index = *(int*)(Row(index) + RowOffNext))
                    if (IsTombstone(Row(index))) n++;
            }
            finally
            {
                Unlock(lockWord);
            }
        }
        return n;
    }
}
