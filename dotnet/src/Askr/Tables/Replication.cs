using System.Text;

namespace Askr.Tables;

/// <summary>One node's share of a counter column: its increments since the column's last set.</summary>
/// <param name="Node">The node that incremented.</param>
/// <param name="Epoch">Clock of the set the increments apply to; shares of an older set are void.</param>
/// <param name="Clock">Clock of that node's last increment: the newer share of a node wins.</param>
public readonly record struct CounterShare(ulong Node, long Epoch, long Clock, long IntDelta, double FloatDelta);

/// <summary>
/// A column as it replicates: the value given by its last set (at <see cref="SetClock"/>) and,
/// for int and float columns, every node's share of the increments since then. The column's
/// value is <c>Base + Σ shares</c>.
/// </summary>
public sealed class ColumnState
{
    public int Index { get; init; }
    public long SetClock { get; init; }
    public long IntBase { get; init; }
    public double FloatBase { get; init; }
    /// <summary>A float column (its base is <see cref="FloatBase"/>); false for int and string columns.</summary>
    public bool IsFloat { get; init; }
    public byte[]? Bytes { get; init; }
    public IReadOnlyList<CounterShare> Shares { get; init; } = [];
}

/// <summary>A row as it replicates (the wire's RowState without the table name).</summary>
public sealed class RowState
{
    public required byte[] Key { get; init; }
    /// <summary>Hybrid clock of the row's last write or delete.</summary>
    public long Clock { get; init; }
    public ulong Origin { get; init; }
    public bool Deleted { get; init; }
    public IReadOnlyList<ColumnState> Columns { get; init; } = [];
}

/// <summary>
/// The counter shares of other nodes, kept by the supervisor (the store in shared memory holds
/// only this node's own share per column, and the summed value). Not thread-safe: the
/// replicator serialises merges and exports.
/// </summary>
public sealed class ShareBook
{
    private readonly Dictionary<(int Table, string Key, int Column), Dictionary<ulong, CounterShare>> _shares = new();

    private static string K(ReadOnlySpan<byte> key) => Encoding.Latin1.GetString(key);

    /// <summary>Sum of the remote shares of a column for <paramref name="epoch"/>.</summary>
    public (long Int, double Float) Sum(int table, ReadOnlySpan<byte> key, int column, long epoch)
    {
        if (!_shares.TryGetValue((table, K(key), column), out var byNode)) return (0, 0);
        long i = 0;
        double f = 0;
        foreach (var s in byNode.Values)
        {
            if (s.Epoch != epoch) continue;
            i = unchecked(i + s.IntDelta);
            f += s.FloatDelta;
        }
        return (i, f);
    }

    public IEnumerable<CounterShare> Shares(int table, ReadOnlySpan<byte> key, int column, long epoch) =>
        _shares.TryGetValue((table, K(key), column), out var byNode) ? byNode.Values.Where(s => s.Epoch == epoch).ToList() : [];

    /// <summary>A new set superseded the column: keep only the given shares of its epoch.</summary>
    public void Replace(int table, ReadOnlySpan<byte> key, int column, IEnumerable<CounterShare> shares)
    {
        var k = (table, K(key), column);
        var byNode = shares.ToDictionary(s => s.Node);
        if (byNode.Count == 0) _shares.Remove(k);
        else _shares[k] = byNode;
    }

    /// <summary>Takes a remote share if it is newer than the one known for its node; true if it changed anything.</summary>
    public bool Offer(int table, ReadOnlySpan<byte> key, int column, CounterShare share)
    {
        var k = (table, K(key), column);
        if (!_shares.TryGetValue(k, out var byNode)) _shares[k] = byNode = [];
        if (byNode.TryGetValue(share.Node, out var known) && (known.Epoch > share.Epoch || (known.Epoch == share.Epoch && known.Clock >= share.Clock)))
            return false;
        byNode[share.Node] = share;
        return true;
    }

    /// <summary>Forgets a row (its tombstone was collected).</summary>
    public void Forget(int table, ReadOnlySpan<byte> key, int columns)
    {
        var s = K(key);
        for (var c = 0; c < columns; c++) _shares.Remove((table, s, c));
    }

    /// <summary>Entries held, for diagnostics.</summary>
    public int Count => _shares.Count;
}
