using System.Buffers;

namespace Askr.Tests.Support;

/// <summary>Multi-segment byte sequences, as a socket's pipe hands them over, for the parser and session tests.</summary>
internal static class Segments
{
    /// <summary>bytes[from..to] cut at <paramref name="cuts"/> (absolute positions, each inside the range, ascending).</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, int from, int to, IEnumerable<int> cuts)
    {
        var bounds = cuts.Prepend(from).Append(to).ToArray();
        if (bounds.Length == 2) return new ReadOnlySequence<byte>(bytes, from, to - from);
        Segment? first = null, last = null;
        for (var i = 0; i + 1 < bounds.Length; i++)
        {
            last = new Segment(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), last);
            first ??= last;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
        {
            Memory = memory;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
