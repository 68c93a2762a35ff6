using System.Globalization;

namespace Askr.Cluster.Grpc.Internal;

/// <summary>
/// The <c>grpc-timeout</c> header: 1 to 8 ASCII digits and a unit, H (hours), M (minutes),
/// S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds) (PROTOCOL-HTTP2.md, "Timeout").
/// </summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Longest timeout a <see cref="CancellationTokenSource"/> can wait; longer ones count as none.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9) return false;
        long n = 0;
        foreach (var c in value[..^1])
        {
            if (c is < '0' or > '9') return false;
            n = n * 10 + (c - '0');
        }
        timeout = value[^1] switch
        {
            'H' => TimeSpan.FromHours(n),
            'M' => TimeSpan.FromMinutes(n),
            'S' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMilliseconds(n),
            'u' => TimeSpan.FromTicks(n * (TimeSpan.TicksPerMillisecond / 1000)),
            'n' => TimeSpan.FromTicks((n + 99) / 100), // 100 ns per tick, rounded up so 1n is not "no time"
            _ => TimeSpan.MinValue,
        };
        return timeout != TimeSpan.MinValue;
    }

    /// <summary>The header value for a positive timeout, rounded up to the coarsest unit that keeps 8 digits.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ms = (long)Math.Ceiling(timeout.TotalMilliseconds);
        if (ms <= MaxValue) return ms.ToString(CultureInfo.InvariantCulture) + "m";
        var s = (long)Math.Ceiling(timeout.TotalSeconds);
        if (s <= MaxValue) return s.ToString(CultureInfo.InvariantCulture) + "S";
        var m = (long)Math.Ceiling(timeout.TotalMinutes);
        if (m <= MaxValue) return m.ToString(CultureInfo.InvariantCulture) + "M";
        return Math.Min(MaxValue, (long)Math.Ceiling(timeout.TotalHours)).ToString(CultureInfo.InvariantCulture) + "H";
    }
}
