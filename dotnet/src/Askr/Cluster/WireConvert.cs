using Askr.Cluster.Membership;
using Askr.Tables;
using Google.Protobuf;
using W = Askr.Cluster.Wire;

namespace Askr.Cluster;

/// <summary>Conversions between the store's and the membership's types and the wire messages of proto/.</summary>
internal static class WireConvert
{
    public static W.Member ToWire(MemberUpdate m) => new()
    {
        Id = m.Id,
        Address = m.Address,
        Incarnation = m.Incarnation,
        State = (W.MemberState)(int)m.Status,
    };

    public static MemberUpdate FromWire(W.Member m) => new(m.Id, m.Address, m.Incarnation, (MemberStatus)(int)m.State);

    public static W.Gossip ToWire(IEnumerable<MemberUpdate> updates)
    {
        var g = new W.Gossip();
        g.Members.AddRange(updates.Select(ToWire));
        return g;
    }

    public static W.RowState ToWire(string table, RowState row)
    {
        var w = new W.RowState
        {
            Table = table,
            Key = ByteString.CopyFrom(row.Key),
            Clock = row.Clock,
            Origin = row.Origin,
            Deleted = row.Deleted,
        };
        foreach (var c in row.Columns)
        {
            var wc = new W.ColumnState { Index = (uint)c.Index, SetClock = c.SetClock };
            if (c.Bytes is { } bytes) wc.StringValue = ByteString.CopyFrom(bytes);
            else if (c.IsFloat) wc.FloatValue = c.FloatBase;
            else wc.IntValue = c.IntBase;
            foreach (var s in c.Shares)
                wc.Shares.Add(new W.CounterShare { Node = s.Node, Epoch = s.Epoch, Clock = s.Clock, IntDelta = s.IntDelta, FloatDelta = s.FloatDelta });
            w.Columns.Add(wc);
        }
        return w;
    }

    /// <summary>A wire row as the store merges it; null when it names columns the schema lacks or is malformed.</summary>
    public static RowState? FromWire(W.RowState w, TableSchema schema)
    {
        if (w.Key.Length is 0 or > TableSchema.MaxKeyBytes) return null;
        var columns = new List<ColumnState>(w.Columns.Count);
        foreach (var c in w.Columns)
        {
            if (c.Index >= schema.Columns.Count) return null;
            var type = schema.Columns[(int)c.Index].Type;
            if (type == ColumnType.String && c.ValueCase != W.ColumnState.ValueOneofCase.StringValue && c.ValueCase != W.ColumnState.ValueOneofCase.None) return null;
            if (type == ColumnType.String && c.StringValue.Length > schema.Columns[(int)c.Index].Size) return null;
            columns.Add(new ColumnState
            {
                Index = (int)c.Index,
                SetClock = c.SetClock,
                IntBase = c.ValueCase == W.ColumnState.ValueOneofCase.IntValue ? c.IntValue : 0,
                FloatBase = c.ValueCase == W.ColumnState.ValueOneofCase.FloatValue ? c.FloatValue : 0,
                IsFloat = type == ColumnType.Float,
                Bytes = type == ColumnType.String ? c.StringValue.ToByteArray() : null,
                Shares = c.Shares.Select(s => new Tables.CounterShare(s.Node, s.Epoch, s.Clock, s.IntDelta, s.FloatDelta)).ToList(),
            });
        }
        return new RowState { Key = w.Key.ToByteArray(), Clock = w.Clock, Origin = w.Origin, Deleted = w.Deleted, Columns = columns };
    }
}
